//! The `application/x-www-form-urlencoded` codec and percent-encoding (RFC 3986 unreserved
//! characters kept), below every user: the REST protocol's query and form bodies, authorization
//! links, OAuth's signature base string and form answers, the emulator's pages.
//!
//! Encoding writes `%XX` in upper case for every byte but `A-Z a-z 0-9 - . _ ~` (a space is
//! `%20`, never `+`); decoding reads `+` as a space, leaves a `%` not followed by two hex digits
//! as it is, and replaces bytes that are not UTF-8.

/// Percent-encodes `text` for a query string or form body: everything but `A-Z a-z 0-9 - . _ ~`.
pub(crate) fn percent_encode_into(out: &mut String, text: &str) {
    let hex = |nibble: u8| {
        char::from_digit(u32::from(nibble), 16).map_or('0', |c| c.to_ascii_uppercase())
    };
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(hex(byte >> 4));
            out.push(hex(byte & 0x0f));
        }
    }
}

/// `name=value&…` for every pair, in the order given.
pub(crate) fn form_encode<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    for (index, (name, value)) in pairs.into_iter().enumerate() {
        if index > 0 {
            out.push('&');
        }
        percent_encode_into(&mut out, name);
        out.push('=');
        percent_encode_into(&mut out, value);
    }
    out
}

/// Decodes `application/x-www-form-urlencoded` text (`+` is a space); invalid UTF-8 is replaced.
pub(crate) fn form_decode(text: &[u8]) -> Vec<(String, String)> {
    text.split(|b| *b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let mut halves = pair.splitn(2, |b| *b == b'=');
            let name = halves.next().unwrap_or_default();
            let value = halves.next().unwrap_or_default();
            (percent_decode(name), percent_decode(value))
        })
        .collect()
}

fn percent_decode(text: &[u8]) -> String {
    let mut bytes = Vec::with_capacity(text.len());
    let mut index = 0;
    while let Some(&byte) = text.get(index) {
        match byte {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hex = text
                    .get(index + 1..index + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(decoded) = hex {
                    bytes.push(decoded);
                    index += 2;
                } else {
                    bytes.push(b'%');
                }
            }
            other => bytes.push(other),
        }
        index += 1;
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_round_trips() {
        let encoded = form_encode([("a b", "Zoë & 100%+"), ("e", "")]);
        assert_eq!(encoded, "a%20b=Zo%C3%AB%20%26%20100%25%2B&e=");
        let decoded = form_decode(encoded.as_bytes());
        assert_eq!(
            decoded,
            vec![
                ("a b".to_owned(), "Zoë & 100%+".to_owned()),
                ("e".to_owned(), String::new())
            ]
        );
    }

    #[test]
    fn pairs_round_trip_and_broken_escapes_stay_as_they_are() {
        let pairs = [("a b", "x&y=z"), ("é", "~-._"), ("", "+")];
        let encoded = form_encode(pairs);
        assert_eq!(encoded, "a%20b=x%26y%3Dz&%C3%A9=~-._&=%2B");
        let decoded = form_decode(encoded.as_bytes());
        let expected: Vec<(String, String)> = pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(decoded, expected);
        assert_eq!(
            form_decode(b"a=1+2&b=%zz&c&d=%e9"),
            [
                ("a".to_owned(), "1 2".to_owned()),
                ("b".to_owned(), "%zz".to_owned()),
                ("c".to_owned(), String::new()),
                ("d".to_owned(), "\u{fffd}".to_owned()),
            ]
        );
    }
}
