//! Random tokens from the operating system's random source: the emulator's tokens, frobs and
//! OAuth secrets (which must not be guessable), multipart boundaries (which must not occur in
//! the file), temporary file names, and the jitter of retry delays.

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

/// A number in [0, 1) from 53 random bits, for the jitter of retry delays; one half when the
/// source fails (jitter spreads clients out, it guards no secret).
#[cfg(feature = "client")]
pub(crate) fn fraction() -> f64 {
    let mut bytes = [0u8; 8];
    match getrandom::fill(&mut bytes) {
        Ok(()) => (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 0.5,
    }
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

    #[test]
    #[cfg(feature = "client")]
    fn fractions_stay_in_the_unit_interval_and_vary() {
        let drawn: Vec<f64> = (0..64).map(|_| super::fraction()).collect();
        assert!(drawn.iter().all(|f| (0.0..1.0).contains(f)));
        assert!(drawn.iter().any(|f| *f != drawn[0]));
    }
}
