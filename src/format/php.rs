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

use compact_str::ToCompactString;
use phpserz::{PhpParser, PhpToken};

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
    let fail_at = |position: usize, reason: &dyn std::fmt::Display| {
        Error::malformed(
            Format::Php,
            format!(
                "at byte {position}: {reason} near {}",
                excerpt(body, position)
            ),
        )
    };
    // Outside its strings a serialization is ASCII, and every string sits between two ASCII
    // quotes, so one check of the whole body covers every string at once.
    let text = std::str::from_utf8(body)
        .map_err(|error| fail_at(error.valid_up_to(), &"a string that is not UTF-8"))?;
    let mut parser = PhpParser::new(body);
    let fail =
        |parser: &PhpParser<'_>, reason: &dyn std::fmt::Display| fail_at(parser.position(), reason);
    let string_of = |parser: &PhpParser<'_>, bytes: &[u8]| {
        let start = (bytes.as_ptr() as usize).wrapping_sub(body.as_ptr() as usize);
        text.get(start..start.saturating_add(bytes.len()))
            .ok_or_else(|| fail(parser, &"a string that is not UTF-8"))
    };
    // The innermost open array is kept out of the stack of its parents; the whole value is the
    // single entry of a root frame.
    let mut top = Frame::root();
    let mut parents: Vec<Frame> = Vec::new();
    loop {
        let token = parser.read_token().map_err(|error| fail(&parser, &error))?;
        let value = if top.key.is_none() {
            match token {
                PhpToken::Integer(number) => {
                    top.key = Some(Key::Int(number));
                    continue;
                }
                PhpToken::String(name) => {
                    let name = string_of(&parser, name.as_bytes())?;
                    top.key = Some(Key::Str(top.property_name(name)));
                    continue;
                }
                PhpToken::End => {
                    if top.count != top.declared {
                        return Err(fail(
                            &parser,
                            &format!(
                                "an array declared with {} entries holds {}",
                                top.declared, top.count
                            ),
                        ));
                    }
                    let Some(parent) = parents.pop() else {
                        return Err(fail(&parser, &"`}` outside an array"));
                    };
                    std::mem::replace(&mut top, parent).into_value()
                }
                other => {
                    return Err(fail(
                        &parser,
                        &format!("{} used as an array key", describe(&other)),
                    ));
                }
            }
        } else {
            match token {
                PhpToken::Null => Value::Null,
                PhpToken::Boolean(flag) => Value::Bool(flag),
                PhpToken::Integer(number) => Value::Int(number),
                PhpToken::Float(number) => Value::Float(number),
                PhpToken::String(bytes) => {
                    Value::String(Text::from(string_of(&parser, bytes.as_bytes())?))
                }
                PhpToken::Array { elements }
                | PhpToken::Object {
                    properties: elements,
                    ..
                } => {
                    if parents.len() >= MAX_DEPTH {
                        return Err(fail(
                            &parser,
                            &format!("arrays nested more than {MAX_DEPTH} deep"),
                        ));
                    }
                    let declared = usize::try_from(elements).unwrap_or(usize::MAX);
                    // Each entry takes at least 6 bytes (`i:0;N;`), so the input bounds the
                    // reservation.
                    let remaining = body.len().saturating_sub(parser.position());
                    let frame = Frame {
                        declared,
                        capacity: declared.min(remaining / 6),
                        count: 0,
                        body: Body::Empty,
                        key: None,
                        names: NewNames::default(),
                        is_object: matches!(token, PhpToken::Object { .. }),
                        is_root: false,
                    };
                    parents.push(std::mem::replace(&mut top, frame));
                    continue;
                }
                PhpToken::End => {
                    return Err(fail(&parser, &"`}` where a value was expected"));
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
            }
        };
        if top.is_root {
            return match parser.next_token() {
                Ok(None) => Ok(value),
                Ok(Some(_)) | Err(_) => Err(fail(&parser, &"trailing bytes after the value")),
            };
        }
        if top.count >= top.declared {
            return Err(fail(
                &parser,
                &format!("more than the {} declared entries", top.declared),
            ));
        }
        top.count += 1;
        if let Some(key) = top.key.take() {
            top.insert(key, value);
        }
    }
}

/// What a token that cannot be an array key is, for the error.
fn describe(token: &PhpToken<'_>) -> &'static str {
    match token {
        PhpToken::Null => "a null",
        PhpToken::Boolean(_) => "a boolean",
        PhpToken::Float(_) => "a float",
        PhpToken::Array { .. } | PhpToken::Object { .. } => "an array",
        _ => "a reference or custom object",
    }
}

/// An array or object being read.
struct Frame {
    declared: usize,
    /// How many entries to reserve room for once the first key shows what the array is.
    capacity: usize,
    count: usize,
    body: Body,
    /// The key read for the next value; `None` while a key is expected.
    key: Option<Key>,
    names: NewNames,
    is_object: bool,
    /// The frame that receives the whole value.
    is_root: bool,
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
            Key::Int(number) => number.to_compact_string(),
            Key::Str(text) => text,
        }
    }
}

impl Frame {
    fn root() -> Frame {
        Frame {
            declared: 1,
            capacity: 0,
            count: 0,
            body: Body::Empty,
            key: Some(Key::Int(0)),
            names: NewNames::default(),
            is_object: false,
            is_root: true,
        }
    }

    /// A member name as the map keeps it: protected and private property names of objects carry
    /// a `\0…\0` prefix, which is left out.
    fn property_name(&self, name: &str) -> Text {
        let visible = name
            .strip_prefix('\0')
            .filter(|_| self.is_object)
            .and_then(|rest| rest.find('\0').and_then(|end| rest.get(end + 1..)));
        Text::from(visible.unwrap_or(name))
    }

    fn insert(&mut self, key: Key, value: Value) {
        let continues_list = !self.is_object
            && match (&key, &self.body) {
                (Key::Int(number), Body::Empty) => *number == 0,
                (Key::Int(number), Body::List(items)) => {
                    usize::try_from(*number) == Ok(items.len())
                }
                _ => false,
            };
        match (&mut self.body, continues_list) {
            (Body::Empty, true) => {
                let mut items = Vec::with_capacity(self.capacity);
                items.push(value);
                self.body = Body::List(items);
            }
            (Body::List(items), true) => items.push(value),
            (Body::Map(map), _) => self.names.insert(map, key.into_text(), value),
            (body, false) => {
                let mut map = Map::with_capacity(self.capacity);
                if let Body::List(items) = std::mem::replace(body, Body::Empty) {
                    for (index, item) in items.into_iter().enumerate() {
                        self.names.insert(&mut map, index.to_compact_string(), item);
                    }
                }
                self.names.insert(&mut map, key.into_text(), value);
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
