//! The PHP format (`/php`): PHP `serialize()` of the array that the JSON format encodes.
//!
//! Wire rules (spec §3.4, §14.8):
//! - `a:2:{s:3:"api";a:1:{s:6:"status";s:2:"ok";}s:5:"hello";s:12:"hello world!";}`.
//! - Lists are arrays keyed 0..n-1; string lengths count bytes.
//! - Decoding accepts `N`, `b`, `i`, `d` (exponents, `INF`, `-INF`, `NAN`), `s`, `a` (any key
//!   order, int and string keys mixed) and `O` (read as a map); it refuses references, custom
//!   objects, strings that are not UTF-8 and trailing bytes.
//!
//! Tokens come from phpserz's zero-copy parser (which checks every length against the bytes that
//! remain); the tree is built here with an explicit stack, at most [`MAX_DEPTH`] levels deep.

use phpserz::{PhpParser, PhpToken};

use super::{Format, MAX_DEPTH, interpret_document};
use crate::error::{ApiError, Error, excerpt};
use crate::value::{Map, Text, Value};

/// Decodes a `/php` response body.
pub fn decode(body: &[u8]) -> Result<Value, Error> {
    interpret_document(unserialize(body)?, Format::Php)
}

/// Parses one serialized PHP value, refusing trailing bytes.
pub fn unserialize(body: &[u8]) -> Result<Value, Error> {
    let mut parser = PhpParser::new(body);
    let mut stack: Vec<Container> = Vec::new();
    let fail = |parser: &PhpParser<'_>, reason: &dyn std::fmt::Display| {
        let position = parser.position();
        Error::malformed(
            Format::Php,
            format!(
                "at byte {position}: {reason} near {}",
                excerpt(body, position)
            ),
        )
    };
    loop {
        let token = parser.read_token().map_err(|error| fail(&parser, &error))?;
        let value = match token {
            PhpToken::End => {
                let Some(container) = stack.pop() else {
                    return Err(fail(&parser, &"`}` outside an array"));
                };
                if container.pending_key.is_some() || container.count != container.declared {
                    return Err(fail(
                        &parser,
                        &format!(
                            "an array declared with {} entries holds {}",
                            container.declared, container.count
                        ),
                    ));
                }
                container.into_value()
            }
            PhpToken::Array { elements }
            | PhpToken::Object {
                properties: elements,
                ..
            } => {
                if stack.len() >= MAX_DEPTH {
                    return Err(fail(
                        &parser,
                        &format!("arrays nested more than {MAX_DEPTH} deep"),
                    ));
                }
                if let Some(top) = stack.last()
                    && top.pending_key.is_none()
                {
                    return Err(fail(&parser, &"an array used as an array key"));
                }
                let declared = usize::try_from(elements).unwrap_or(usize::MAX);
                // Each entry takes at least 6 bytes (`i:0;N;`), so the input bounds the reservation.
                let remaining = body.len().saturating_sub(parser.position());
                stack.push(Container {
                    declared,
                    capacity: declared.min(remaining / 6),
                    count: 0,
                    body: Body::Empty,
                    pending_key: None,
                    is_object: matches!(token, PhpToken::Object { .. }),
                });
                continue;
            }
            PhpToken::Null => Value::Null,
            PhpToken::Boolean(flag) => Value::Bool(flag),
            PhpToken::Integer(number) => Value::Int(number),
            PhpToken::Float(number) => Value::Float(number),
            PhpToken::String(text) => {
                let text = text
                    .to_str()
                    .map_err(|_| fail(&parser, &"a string that is not UTF-8"))?;
                Value::String(Text::from(text))
            }
            PhpToken::CustomObject { .. } => {
                return Err(fail(
                    &parser,
                    &"custom-serialized objects (C:) are not accepted",
                ));
            }
            PhpToken::Reference { .. } => {
                return Err(fail(&parser, &"references (r:, R:) are not accepted"));
            }
        };
        match stack.last_mut() {
            None => {
                return match parser.next_token() {
                    Ok(None) => Ok(value),
                    Ok(Some(_)) | Err(_) => Err(fail(&parser, &"trailing bytes after the value")),
                };
            }
            Some(top) => {
                if let Err(reason) = top.accept(value) {
                    return Err(fail(&parser, &reason));
                }
            }
        }
    }
}

/// An array or object being read.
struct Container {
    declared: usize,
    /// How many entries to reserve room for once the first key shows what the array is.
    capacity: usize,
    count: usize,
    body: Body,
    pending_key: Option<Key>,
    is_object: bool,
}

/// What an array turns into: a list while its keys run 0, 1, 2…, a map from the first key that
/// does not.
enum Body {
    Empty,
    List(Vec<Value>),
    Map(Map),
}

enum Key {
    Int(i64),
    Str(Text),
}

impl Key {
    fn into_text(self) -> Text {
        match self {
            Key::Int(number) => Text::from(number.to_string()),
            Key::Str(text) => text,
        }
    }
}

impl Container {
    /// Takes the next token's value: a key, or the value of the pending key.
    fn accept(&mut self, value: Value) -> Result<(), String> {
        match self.pending_key.take() {
            Some(key) => {
                if self.count >= self.declared {
                    return Err(format!("more than the {} declared entries", self.declared));
                }
                self.count += 1;
                self.insert(key, value);
                Ok(())
            }
            None => {
                let key = match value {
                    Value::Int(number) => Key::Int(number),
                    Value::String(text) => {
                        // Protected and private property names carry a `\0…\0` prefix.
                        let visible = text
                            .strip_prefix('\0')
                            .filter(|_| self.is_object)
                            .and_then(|t| t.find('\0').and_then(|end| t.get(end + 1..)));
                        Key::Str(visible.map_or(text.clone(), Text::from))
                    }
                    other => return Err(format!("a {} used as an array key", other.kind())),
                };
                self.pending_key = Some(key);
                Ok(())
            }
        }
    }

    fn insert(&mut self, key: Key, value: Value) {
        let next_index = match &self.body {
            Body::Empty => 0,
            Body::List(items) => items.len(),
            Body::Map(_) => usize::MAX,
        };
        let continues_list =
            !self.is_object && matches!(key, Key::Int(n) if usize::try_from(n) == Ok(next_index));
        match (&mut self.body, continues_list) {
            (Body::Empty, true) => {
                let mut items = Vec::with_capacity(self.capacity);
                items.push(value);
                self.body = Body::List(items);
            }
            (Body::List(items), true) => items.push(value),
            (Body::Map(map), _) => {
                map.insert(key.into_text(), value);
            }
            (body, false) => {
                let mut map = Map::with_capacity(self.capacity);
                if let Body::List(items) = std::mem::replace(body, Body::Empty) {
                    for (index, item) in items.into_iter().enumerate() {
                        map.insert(Text::from(index.to_string()), item);
                    }
                }
                map.insert(key.into_text(), value);
                *body = Body::Map(map);
            }
        }
    }

    /// A list when the keys were exactly 0..n-1 in order, otherwise a map (int keys as text).
    fn into_value(self) -> Value {
        match self.body {
            Body::Empty if self.is_object => Value::Map(Map::default()),
            Body::Empty => Value::List(Vec::new()),
            Body::List(items) => Value::List(items),
            Body::Map(map) => Value::Map(map),
        }
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
