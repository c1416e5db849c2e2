//! Parameters and secrets, the raw material of a call: below both [`crate::call`], which builds
//! calls from them, and [`crate::sign`], which signs them.

use std::collections::BTreeMap;
use std::fmt;

/// Parameter names whose values are secret: they never appear in `Debug` output or in
/// [`Call::redacted`](crate::Call::redacted) copies.
pub const SECRET_PARAMS: &[&str] = &["auth_token"];

/// What a redacted secret reads as.
pub const REDACTED: &str = "<redacted>";

/// A value that can be sent as a parameter: text as it is, booleans as `1`/`0`, numbers in
/// decimal.
pub trait ParamValue {
    /// The text sent on the wire.
    fn to_param(&self) -> String;

    /// The text sent, or `None` when the parameter is not sent at all (an `Option` that is
    /// `None`).
    fn to_sent_param(&self) -> Option<String> {
        Some(self.to_param())
    }
}

/// `Some(value)` is sent as `value`; `None` is not sent (and removes a value set before).
impl<T: ParamValue> ParamValue for Option<T> {
    fn to_param(&self) -> String {
        self.as_ref().map(ParamValue::to_param).unwrap_or_default()
    }

    fn to_sent_param(&self) -> Option<String> {
        self.as_ref().map(ParamValue::to_param)
    }
}

/// A list is sent comma-separated, as the API's list parameters (`keywords`, `doc_id`s…) are.
impl<T: ParamValue> ParamValue for [T] {
    fn to_param(&self) -> String {
        self.iter()
            .map(ParamValue::to_param)
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// A list is sent comma-separated.
impl<T: ParamValue> ParamValue for Vec<T> {
    fn to_param(&self) -> String {
        self.as_slice().to_param()
    }
}

/// A list is sent comma-separated.
impl<T: ParamValue, const N: usize> ParamValue for [T; N] {
    fn to_param(&self) -> String {
        self.as_slice().to_param()
    }
}

impl ParamValue for str {
    fn to_param(&self) -> String {
        self.to_owned()
    }
}

impl ParamValue for String {
    fn to_param(&self) -> String {
        self.clone()
    }
}

impl ParamValue for bool {
    fn to_param(&self) -> String {
        if *self { "1" } else { "0" }.to_owned()
    }
}

impl ParamValue for f64 {
    fn to_param(&self) -> String {
        crate::value::format_float(*self)
    }
}

macro_rules! integer_param {
    ($($ty:ty),*) => {$(
        impl ParamValue for $ty {
            fn to_param(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
integer_param!(i8, i16, i32, i64, u8, u16, u32, u64, usize, isize);

impl<T: ParamValue + ?Sized> ParamValue for &T {
    fn to_param(&self) -> String {
        (**self).to_param()
    }

    fn to_sent_param(&self) -> Option<String> {
        (**self).to_sent_param()
    }
}

/// A call's parameters: names in byte order (the order signing uses), values as raw UTF-8 text.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Params(BTreeMap<String, String>);

impl Params {
    /// No parameters.
    pub fn new() -> Params {
        Params::default()
    }

    /// Sets `name` to `value`, replacing an earlier value.
    pub fn insert(&mut self, name: impl Into<String>, value: impl ParamValue) {
        let name = name.into();
        match value.to_sent_param() {
            Some(text) => {
                self.0.insert(name, text);
            }
            None => {
                self.0.remove(&name);
            }
        }
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Removes `name`, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        self.0.remove(name)
    }

    /// Whether `name` is set.
    pub fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// Names and values in byte order of the names.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// How many parameters are set.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no parameter is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(name, value)| {
                let shown = if SECRET_PARAMS.contains(&name.as_str()) {
                    REDACTED
                } else {
                    value.as_str()
                };
                (name, shown)
            }))
            .finish()
    }
}

impl<K: Into<String>, V: ParamValue> FromIterator<(K, V)> for Params {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut params = Params::new();
        for (name, value) in iter {
            params.insert(name, value);
        }
        params
    }
}

impl<K: Into<String>, V: ParamValue> Extend<(K, V)> for Params {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (name, value) in iter {
            self.insert(name, value);
        }
    }
}

/// A secret (API secret, token): compared and sent, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for signing and sending.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_lists_and_floats_become_parameters() {
        let mut params = Params::new();
        params.insert("a", Some(3u64));
        params.insert("b", None::<u64>);
        params.insert("keywords", ["red", "car"]);
        params.insert("ids", vec![1u64, 2, 3]);
        params.insert("lat", 48.5f64);
        params.insert("gone", "x");
        params.insert("gone", None::<&str>);
        assert_eq!(params.get("a"), Some("3"));
        assert!(!params.contains("b") && !params.contains("gone"));
        assert_eq!(params.get("keywords"), Some("red,car"));
        assert_eq!(params.get("ids"), Some("1,2,3"));
        assert_eq!(params.get("lat"), Some("48.5"));
    }
}
