//! File names as the upload command shows them. A name may hold any byte but `/`
//! and NUL: a newline or an escape code printed as is would forge a `PATH doc_id=ID` line or
//! repaint the terminal, and bytes that are not UTF-8 would print alike for different files.

use std::path::Path;

/// `path` fit for one line of output: backslashes doubled, control characters as `\n`, `\t`,
/// `\r` or `\u{…}`, and bytes that are not UTF-8 as `\xNN`, so that no two names print alike
/// and none spans two lines.
pub(crate) fn shown(path: &Path) -> String {
    let bytes = path.as_os_str().as_encoded_bytes();
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_print_on_one_line_and_never_alike() {
        assert_eq!(shown(Path::new("a b.jpg")), "a b.jpg");
        assert_eq!(
            shown(Path::new("x.jpg doc_id=1\nforged.jpg")),
            "x.jpg doc_id=1\\nforged.jpg"
        );
        assert_eq!(shown(Path::new("\u{1b}[2Jx")), "\\u{1b}[2Jx");
        assert_eq!(shown(Path::new("a\\nb")), "a\\\\nb");
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let one = Path::new(std::ffi::OsStr::from_bytes(b"p\xff.jpg"));
            let two = Path::new(std::ffi::OsStr::from_bytes(b"p\xfe.jpg"));
            assert_eq!(shown(one), "p\\xff.jpg");
            assert_ne!(shown(one), shown(two));
        }
    }
}
