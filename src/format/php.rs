//! The PHP format (`/php`): PHP `serialize()` of the array that the JSON format encodes.
//!
//! Wire rules (`protocols/formats.md`):
//! - `a:2:{s:3:"api";a:1:{s:6:"status";s:2:"ok";}s:5:"hello";s:12:"hello world!";}`.
//! - Lists are arrays keyed 0..n-1; string lengths count bytes.
//! - Decoding accepts `N`, `b`, `i`, `d` (exponents, `INF`, `-INF`, `NAN`), `s`, `a` (any key
//!   order, int and string keys mixed) and `O` (read as a map); it refuses references, custom
//!   objects, strings that are not UTF-8 and trailing bytes.
//!
//! Tokens come from phpserz's zero-copy parser (which checks every length against the bytes that
//! remain), except well-formed strings and `}`, which the reader takes itself: they are most of
//! the tokens of any response, and read in place they cost a quarter of the decode time less
//! than through phpserz (whose tokens come back through memory). Any string that is not exactly
//! what phpserz would read the same way is left to phpserz, so both accept and refuse the same
//! input (a property test holds them to it). The tree is built depth first, at most
//! [`MAX_DEPTH`] levels deep.

use compact_str::ToCompactString;
use phpserz::{PhpBstr, PhpParser, PhpToken};

use super::{Format, MAX_DEPTH, interpret_document};
use crate::error::{ApiError, Error, excerpt};
use crate::map::NewNames;
use crate::value::{Map, Text, Value};

/// Decodes a `/php` response body.
pub fn decode(body: &[u8]) -> Result<Value, Error> {
    interpret_document(unserialize(body)?, Format::Php)
}

/// Parses one serialized PHP value, refusing trailing bytes.
pub fn unserialize(body: &[u8]) -> Result<Value, Error> {
    // Outside its strings a serialization is ASCII, and every string sits between two ASCII
    // quotes, so one check of the whole body covers every string at once.
    let text = std::str::from_utf8(body)
        .map_err(|error| malformed_at(body, error.valid_up_to(), &"a string that is not UTF-8"))?;
    let mut reader = Reader {
        body,
        text,
        position: 0,
        error: None,
    };
    let outcome = reader.document();
    outcome.map_err(|Failed| {
        reader
            .error
            .take()
            .unwrap_or_else(|| malformed_at(body, reader.position, &"an unreadable value"))
    })
}

fn malformed_at(body: &[u8], position: usize, reason: &dyn std::fmt::Display) -> Error {
    Error::malformed(
        Format::Php,
        format!(
            "at byte {position}: {reason} near {}",
            excerpt(body, position)
        ),
    )
}

/// A token as the reader uses it.
enum Token<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A string, checked to be UTF-8.
    String(&'a str),
    /// An array (`a:`) or object (`O:`) and the count of entries it declares.
    Array {
        entries: u32,
        is_object: bool,
    },
    End,
    CustomObject,
    Reference,
}

/// Marks a failure whose error the reader holds; keeps results as small as the value itself.
struct Failed;

/// Reads values depth first; recursion is bounded by [`MAX_DEPTH`], so the call stack is too.
struct Reader<'a> {
    body: &'a [u8],
    /// `body`, checked to be UTF-8.
    text: &'a str,
    /// Where the next token starts.
    position: usize,
    error: Option<Error>,
}

impl<'a> Reader<'a> {
    /// The whole body: one value and nothing after it.
    fn document(&mut self) -> Result<Value, Failed> {
        let mut value = Value::Null;
        let token = self.token()?;
        self.value_into(token, 0, &mut value)?;
        if self.position == self.body.len() {
            Ok(value)
        } else {
            Err(self.fail(&"trailing bytes after the value"))
        }
    }

    #[cold]
    fn fail(&mut self, reason: &dyn std::fmt::Display) -> Failed {
        self.fail_at(self.position, reason)
    }

    #[cold]
    fn fail_at(&mut self, position: usize, reason: &dyn std::fmt::Display) -> Failed {
        self.error = Some(malformed_at(self.body, position, reason));
        Failed
    }

    /// The next token. Strings (most of any response) and `}` are read here; every other token,
    /// and anything irregular, is left to phpserz, which reads it or says what is wrong. The
    /// strings read here are exactly those phpserz would read the same way, and they come
    /// straight back in registers, where phpserz's tokens come back through memory.
    #[inline]
    fn token(&mut self) -> Result<Token<'a>, Failed> {
        if let Some(text) = self.plain_string() {
            return Ok(Token::String(text));
        }
        if self.body.get(self.position) == Some(&b'}') {
            self.position += 1;
            return Ok(Token::End);
        }
        self.parser_token()
    }

    /// `s:<length>:"<length bytes>";` at the current position, read as phpserz reads it (1 to
    /// 10 digits, at most `u32::MAX`); `None`, reading nothing, for anything else.
    #[inline]
    fn plain_string(&mut self) -> Option<&'a str> {
        let Some([b's', b':', after_tag @ ..]) = self.body.get(self.position..) else {
            return None;
        };
        let mut rest = after_tag;
        let mut length: u64 = 0;
        let mut digits = 0;
        loop {
            match rest {
                [digit @ b'0'..=b'9', tail @ ..] if digits < 10 => {
                    length = length * 10 + u64::from(digit - b'0');
                    digits += 1;
                    rest = tail;
                }
                [b':', b'"', tail @ ..] if digits > 0 => {
                    rest = tail;
                    break;
                }
                _ => return None,
            }
        }
        let length = usize::try_from(u32::try_from(length).ok()?).ok()?;
        let start = self.body.len() - rest.len();
        let end = start.checked_add(length)?;
        if self.body.get(end..end.checked_add(2)?)? != b"\";" {
            return None;
        }
        // A string between two ASCII quotes of a UTF-8 body is UTF-8; the slice cannot fail.
        let text = self.text.get(start..end)?;
        self.position = end + 2;
        Some(text)
    }

    /// The next token, read by phpserz.
    #[inline(never)]
    fn parser_token(&mut self) -> Result<Token<'a>, Failed> {
        let start = self.position;
        let mut parser = PhpParser::new(self.body.get(start..).unwrap_or_default());
        let token = match parser.read_token() {
            Ok(PhpToken::String(string)) => Token::String(self.text_of(string)?),
            Ok(PhpToken::Integer(number)) => Token::Int(number),
            Ok(PhpToken::End) => Token::End,
            Ok(PhpToken::Array { elements }) => Token::Array {
                entries: elements,
                is_object: false,
            },
            Ok(PhpToken::Object { properties, .. }) => Token::Array {
                entries: properties,
                is_object: true,
            },
            Ok(PhpToken::Null) => Token::Null,
            Ok(PhpToken::Boolean(flag)) => Token::Bool(flag),
            Ok(PhpToken::Float(number)) => Token::Float(number),
            Ok(PhpToken::CustomObject { .. }) => Token::CustomObject,
            Ok(PhpToken::Reference { .. }) => Token::Reference,
            Err(error) => {
                // phpserz counts from where it started; say where in the body.
                let at = start.saturating_add(error.position().unwrap_or(parser.position()));
                let message = error.to_string();
                let reason = message
                    .split_once(" at position: ")
                    .map_or(message.as_str(), |(reason, _)| reason);
                return Err(self.fail_at(at, &reason));
            }
        };
        self.position = start.saturating_add(parser.position());
        Ok(token)
    }

    /// The text of a string token: a slice of the checked body.
    #[inline]
    fn text_of(&mut self, string: PhpBstr<'a>) -> Result<&'a str, Failed> {
        let bytes = string.as_bytes();
        let start = (bytes.as_ptr() as usize).wrapping_sub(self.body.as_ptr() as usize);
        match self.text.get(start..start.saturating_add(bytes.len())) {
            Some(text) => Ok(text),
            None => Err(self.fail(&"a string that is not UTF-8")),
        }
    }

    /// Writes the value that starts with `token`, inside `depth` arrays, into `slot` (a null
    /// where it will stay, so that nothing is built aside and moved).
    #[inline]
    fn value_into(
        &mut self,
        token: Token<'a>,
        depth: usize,
        slot: &mut Value,
    ) -> Result<(), Failed> {
        match token {
            Token::String(text) => slot.set_string(text),
            Token::Null => *slot = Value::Null,
            Token::Bool(flag) => *slot = Value::Bool(flag),
            Token::Int(number) => *slot = Value::Int(number),
            Token::Float(number) => *slot = Value::Float(number),
            Token::Array { entries, is_object } => self.array(entries, is_object, depth, slot)?,
            Token::End => return Err(self.fail(&"`}` where a value was expected")),
            Token::CustomObject => {
                return Err(self.fail(&"custom-serialized objects (C:) are not accepted"));
            }
            Token::Reference => {
                return Err(self.fail(&"references (r:, R:) are not accepted"));
            }
        }
        Ok(())
    }

    /// Reads the entries of an array (or an object's properties) up to its `}` into `slot`: a
    /// list while the keys run 0, 1, 2…, a map from the first key that does not (int keys as
    /// text).
    fn array(
        &mut self,
        declared: u32,
        is_object: bool,
        depth: usize,
        slot: &mut Value,
    ) -> Result<(), Failed> {
        if depth >= MAX_DEPTH {
            return Err(self.fail(&format!("arrays nested more than {MAX_DEPTH} deep")));
        }
        let declared = usize::try_from(declared).unwrap_or(usize::MAX);
        // Each entry takes at least 6 bytes (`i:0;N;`), so the input bounds the reservation.
        let remaining = self.body.len().saturating_sub(self.position);
        let capacity = declared.min(remaining / 6);
        let mut items = Vec::new();
        let first_other_key = loop {
            match self.token()? {
                Token::Int(number) if !is_object && usize::try_from(number) == Ok(items.len()) => {
                    if items.len() == declared {
                        return Err(self.more_than(declared));
                    }
                    if items.is_empty() {
                        items.reserve_exact(capacity);
                    }
                    items.push(Value::Null);
                    let token = self.token()?;
                    let Some(item) = items.last_mut() else {
                        return Err(self.fail(&"a list that lost its last item"));
                    };
                    self.value_into(token, depth + 1, item)?;
                }
                Token::End => {
                    self.end(items.len(), declared)?;
                    *slot = if is_object {
                        Value::Map(Map::default())
                    } else {
                        Value::List(items)
                    };
                    return Ok(());
                }
                other => break other,
            }
        };
        let mut count = items.len();
        let mut map = Map::with_capacity(capacity);
        let mut names = NewNames::default();
        for (index, item) in items.into_iter().enumerate() {
            names.insert(&mut map, Text::from_display(index), item);
        }
        let mut token = first_other_key;
        loop {
            let number;
            let key = match token {
                Token::String(name) => {
                    if is_object {
                        property_name(name)
                    } else {
                        name
                    }
                }
                Token::Int(value) => {
                    number = value.to_compact_string();
                    number.as_str()
                }
                Token::End => {
                    self.end(count, declared)?;
                    *slot = Value::Map(map);
                    return Ok(());
                }
                other => {
                    return Err(self.fail(&format!("{} used as an array key", describe(&other))));
                }
            };
            if count == declared {
                return Err(self.more_than(declared));
            }
            count += 1;
            let value = self.token()?;
            let Some(entry) = names.slot(&mut map, key) else {
                return Err(self.fail(&"a map that lost its last entry"));
            };
            self.value_into(value, depth + 1, entry)?;
            token = self.token()?;
        }
    }

    /// Checks, at an array's `}`, that it held the entries it declared.
    fn end(&mut self, count: usize, declared: usize) -> Result<(), Failed> {
        if count == declared {
            Ok(())
        } else {
            Err(self.fail(&format!(
                "an array declared with {declared} entries holds {count}"
            )))
        }
    }

    #[cold]
    fn more_than(&mut self, declared: usize) -> Failed {
        self.fail(&format!("more than the {declared} declared entries"))
    }
}

/// A property name as the map keeps it: protected and private property names of objects carry a
/// `\0…\0` prefix, which is left out.
fn property_name(name: &str) -> &str {
    name.strip_prefix('\0')
        .and_then(|rest| rest.find('\0').and_then(|end| rest.get(end + 1..)))
        .unwrap_or(name)
}

/// What a token that cannot be an array key is, for the error.
fn describe(token: &Token<'_>) -> &'static str {
    match token {
        Token::Null => "a null",
        Token::Bool(_) => "a boolean",
        Token::Float(_) => "a float",
        Token::Array { .. } => "an array",
        Token::Int(_) | Token::String(_) => "a key",
        Token::End => "`}`",
        Token::CustomObject | Token::Reference => "a reference or custom object",
    }
}

/// Renders a payload or an error as a `/php` response body; every scalar is a PHP string, as in
/// the JSON format.
pub fn render(outcome: Result<&Map, &ApiError>) -> Vec<u8> {
    let mut out = String::new();
    match outcome {
        Ok(payload) => {
            out.push_str(&format!("a:{}:{{", payload.len() + 1));
            write_string(&mut out, "api");
            out.push_str("a:1:{");
            write_string(&mut out, "status");
            write_string(&mut out, "ok");
            out.push('}');
            for (key, value) in payload {
                write_string(&mut out, key);
                write_value(&mut out, value);
            }
            out.push('}');
        }
        Err(error) => {
            out.push_str("a:1:{");
            write_string(&mut out, "api");
            out.push_str("a:3:{");
            write_string(&mut out, "status");
            write_string(&mut out, "error");
            write_string(&mut out, "code");
            write_string(&mut out, &error.code.to_string());
            write_string(&mut out, "message");
            write_string(&mut out, &error.message);
            out.push_str("}}");
        }
    }
    out.into_bytes()
}

fn write_string(out: &mut String, text: &str) {
    out.push_str(&format!("s:{}:\"", text.len()));
    out.push_str(text);
    out.push_str("\";");
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::List(items) => {
            out.push_str(&format!("a:{}:{{", items.len()));
            for (index, item) in items.iter().enumerate() {
                out.push_str(&format!("i:{index};"));
                write_value(out, item);
            }
            out.push('}');
        }
        Value::Map(members) => {
            out.push_str(&format!("a:{}:{{", members.len()));
            for (key, item) in members {
                write_key(out, key);
                write_value(out, item);
            }
            out.push('}');
        }
        scalar => write_string(out, &scalar.to_text().unwrap_or_default()),
    }
}

/// PHP turns a decimal string key such as `"7"` into the integer key 7; write it that way so the
/// bytes match PHP's own `serialize()`.
fn write_key(out: &mut String, key: &str) {
    let canonical_int = key.parse::<i64>().ok().filter(|n| n.to_string() == key);
    match canonical_int {
        Some(number) => out.push_str(&format!("i:{number};")),
        None => write_string(out, key),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn decodes_the_documented_example() {
        let v = decode(
            br#"a:2:{s:3:"api";a:1:{s:6:"status";s:2:"ok";}s:5:"hello";s:12:"hello world!";}"#,
        )
        .unwrap();
        assert_eq!(v.get("hello").and_then(Value::as_str), Some("hello world!"));
    }

    #[test]
    fn reads_every_scalar_kind_and_mixed_keys() {
        let v = unserialize(r#"a:8:{i:0;N;i:1;b:1;i:2;i:-5;i:3;d:1.5E+25;i:4;d:INF;s:1:"k";s:4:"Zoë";i:7;a:0:{}i:9;O:8:"stdClass":1:{s:1:"p";i:1;}}"#.as_bytes()).unwrap();
        let map = v.as_map().unwrap();
        assert_eq!(map.get("0"), Some(&Value::Null));
        assert_eq!(map.get("1"), Some(&Value::Bool(true)));
        assert_eq!(map.get("2"), Some(&Value::Int(-5)));
        assert_eq!(map.get("3"), Some(&Value::Float(1.5e25)));
        assert_eq!(map.get("4"), Some(&Value::Float(f64::INFINITY)));
        assert_eq!(map.get("k").and_then(Value::as_str), Some("Zoë"));
        assert_eq!(map.get("7"), Some(&Value::List(vec![])));
        assert_eq!(map.get("9").unwrap().get("p"), Some(&Value::Int(1)));
    }

    #[test]
    fn lists_need_dense_ordered_keys() {
        let list = unserialize(br#"a:2:{i:0;s:1:"a";i:1;s:1:"b";}"#).unwrap();
        assert_eq!(list, Value::List(vec!["a".into(), "b".into()]));
        let out_of_order = unserialize(br#"a:2:{i:1;s:1:"b";i:0;s:1:"a";}"#).unwrap();
        assert_eq!(
            out_of_order.as_map().unwrap().keys().collect::<Vec<_>>(),
            ["1", "0"]
        );
    }

    #[test]
    fn refuses_hostile_and_broken_input() {
        for bad in [
            &b"s:99999999999:\""[..],
            b"s:18446744073709551615:\"",
            b"s:4000000000:\"abc\";",
            b"i:1;trailing",
            b"a:2:{i:0;i:1;}",
            b"a:1:{i:0;i:1;i:1;i:2;}",
            b"a:1:{a:0:{}i:1;}",
            b"r:1;",
            b"s:2:\"\xff\xfe\";",
            b"",
            b"}",
        ] {
            assert!(
                matches!(unserialize(bad), Err(Error::Malformed { .. })),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let deep = format!("{}N;{}", "a:1:{i:0;".repeat(100_000), "}".repeat(100_000));
        let err = unserialize(deep.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("nested"), "{err}");
    }

    /// What the reader's own string path reads, compared with phpserz on the same bytes: the
    /// same text and the same end, or nothing (and phpserz decides).
    fn string_paths_agree(input: &[u8]) -> Result<(), String> {
        let Ok(text) = std::str::from_utf8(input) else {
            return Ok(());
        };
        let mut reader = Reader {
            body: input,
            text,
            position: 0,
            error: None,
        };
        let Some(ours) = reader.plain_string() else {
            return if reader.position == 0 {
                Ok(())
            } else {
                Err("moved without reading".into())
            };
        };
        let mut parser = PhpParser::new(input);
        match parser.read_token() {
            Ok(PhpToken::String(theirs))
                if theirs.as_bytes() == ours.as_bytes() && parser.position() == reader.position =>
            {
                Ok(())
            }
            other => Err(format!(
                "ours {ours:?} to {}, phpserz {other:?} to {}",
                reader.position,
                parser.position()
            )),
        }
    }

    #[test]
    fn the_string_path_reads_what_phpserz_reads() {
        for input in [
            "s:0:\"\";",
            "s:3:\"abc\";",
            "s:03:\"abc\";",
            "s:0000000003:\"abc\";",
            "s:00000000003:\"abc\";",
            "s:4294967295:\"abc\";",
            "s:4294967296:\"abc\";",
            "s:99999999999:\"",
            "s:3:\"abc\"",
            "s:3:\"abc';",
            "s:3:\"abcd\";",
            "s:2:\"abc\";",
            "s:3:abc;",
            "s::\"\";",
            "s:-1:\"\";",
            "s:+1:\"a\";",
            "s:2:\"é\";",
            "s:1:\"é\";",
            "s:3:\"a\"\";tail",
            "S:3:\"abc\";",
            "s",
            "",
        ] {
            string_paths_agree(input.as_bytes()).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        }
        let decoded = unserialize("a:2:{i:0;s:3:\"a\"b\";i:1;s:2:\"é\";}".as_bytes()).unwrap();
        assert_eq!(decoded, Value::List(vec!["a\"b".into(), "é".into()]));
    }

    #[test]
    fn the_string_path_agrees_with_phpserz_on_any_input() {
        use proptest::prelude::*;
        let piece = prop_oneof![
            Just("s".to_string()),
            Just(":".to_string()),
            Just("\"".to_string()),
            Just(";".to_string()),
            Just("é".to_string()),
            Just("x".to_string()),
            (0u64..20).prop_map(|n| n.to_string()),
            Just("4294967295".to_string()),
            Just("0".to_string()),
        ];
        proptest!(|(pieces in proptest::collection::vec(piece, 0..12))| {
            let input = format!("s:{}", pieces.concat());
            prop_assert_eq!(string_paths_agree(input.as_bytes()), Ok(()));
        });
        // Nearly well-formed strings: a length close to the content's, padded with zeros.
        let content = proptest::collection::vec(
            prop_oneof![Just("a"), Just("é"), Just("\""), Just(";")],
            0..6,
        );
        let closing = prop_oneof![
            Just("\";"),
            Just("\""),
            Just(";"),
            Just("\";x"),
            Just("\"\";")
        ];
        proptest!(|(length in 0usize..12, width in 0usize..12, content in content, closing in closing)| {
            let input = format!("s:{length:0width$}:\"{}{closing}", content.concat());
            prop_assert_eq!(string_paths_agree(input.as_bytes()), Ok(()));
        });
    }

    #[test]
    fn errors_say_where_in_the_body() {
        let err = unserialize(br#"a:2:{i:0;s:1:"a";i:1;x:1;}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("at byte 21"), "{err}");
        assert!(!err.contains("position"), "{err}");
        let err = unserialize(br#"a:1:{i:0;s:5:"ab";}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("at byte 11"), "{err}");
    }

    #[test]
    fn renders_like_php_serialize() {
        let payload: Map = [("hello".into(), Value::from("hello world!"))]
            .into_iter()
            .collect();
        assert_eq!(
            render(Ok(&payload)),
            br#"a:2:{s:3:"api";a:1:{s:6:"status";s:2:"ok";}s:5:"hello";s:12:"hello world!";}"#
                .to_vec()
        );
        let error = ApiError::new(ErrorCode::Method(1), "Zoë");
        assert_eq!(
            render(Err(&error)),
            "a:1:{s:3:\"api\";a:3:{s:6:\"status\";s:5:\"error\";s:4:\"code\";s:1:\"1\";s:7:\"message\";s:4:\"Zoë\";}}".as_bytes().to_vec()
        );
        assert!(
            decode(&render(Err(&error)))
                .unwrap_err()
                .api_error()
                .is_some()
        );
    }
}
