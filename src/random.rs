//! Random tokens from the operating system's random source: the emulator's tokens, frobs and
//! OAuth secrets (which must not be guessable), multipart boundaries (which must not occur in
//! the file) and temporary file names.

/// 128 random bits as 32 lowercase hex digits.
pub(crate) fn token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(crate::sign::hex(&bytes))
}

/// [`token`] for file names and boundaries, where an `io::Error` is what the caller reports.
pub(crate) fn io_token() -> std::io::Result<String> {
    token().map_err(|e| std::io::Error::other(format!("the random source failed: {e}")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_are_32_hex_digits_and_differ() {
        let a = super::token().unwrap();
        let b = super::token().unwrap();
        assert_eq!(a.len(), 32);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_ne!(a, b);
    }
}
