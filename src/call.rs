//! What the user asks for: a [`Call`] of one method with its [`Params`], and the [`Credentials`]
//! that sign it.

use std::collections::BTreeMap;
use std::fmt;

use crate::error::Error;
use crate::methods::{self, MethodInfo};
use crate::sign;

/// Parameter names whose values are secret: they never appear in `Debug` output or in
/// [`Call::redacted`] copies.
pub const SECRET_PARAMS: &[&str] = &["auth_token"];

/// What a redacted secret reads as.
pub const REDACTED: &str = "<redacted>";

/// A value that can be sent as a parameter: text as it is, booleans as `1`/`0`, numbers in
/// decimal.
pub trait ParamValue {
    /// The text sent on the wire.
    fn to_param(&self) -> String;
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
        self.0.insert(name.into(), value.to_param());
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

/// An application's key and secret, and optionally a user's token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// The API key (public).
    pub api_key: String,
    /// The API secret that signs requests.
    pub secret: Secret,
    /// The user's `auth_token`, for calls made on a user's behalf.
    pub token: Option<Secret>,
}

impl Credentials {
    /// Credentials without a user token.
    pub fn new(api_key: impl Into<String>, secret: impl Into<Secret>) -> Credentials {
        Credentials {
            api_key: api_key.into(),
            secret: secret.into(),
            token: None,
        }
    }

    /// The same credentials with a user token.
    #[must_use]
    pub fn with_token(mut self, token: impl Into<Secret>) -> Credentials {
        self.token = Some(token.into());
        self
    }
}

/// One API call: a method and its parameters.
///
/// ```
/// use ipernity::{Call, Credentials};
/// let call = Call::new("doc.tags.add")
///     .param("doc_id", 1234)
///     .param("keywords", "easy")
///     .signed(&Credentials::new("6fa87ba500002712bd4eed6020f3bd72", "e9a599f0cf6ce193"));
/// assert_eq!(call.params().get("api_sig"), Some("a269b218feb341ef03bc093a0f2c8078"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    method: String,
    params: Params,
}

impl Call {
    /// A call of `method` with no parameters.
    pub fn new(method: impl Into<String>) -> Call {
        Call {
            method: method.into(),
            params: Params::new(),
        }
    }

    /// A call of `method` with `params`.
    pub fn with_params(method: impl Into<String>, params: Params) -> Call {
        Call {
            method: method.into(),
            params,
        }
    }

    /// Adds a parameter.
    #[must_use]
    pub fn param(mut self, name: impl Into<String>, value: impl ParamValue) -> Call {
        self.params.insert(name, value);
        self
    }

    /// The method name.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The parameters, including `api_key`, `auth_token` and `api_sig` once signed.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The parameters, to change them.
    pub fn params_mut(&mut self) -> &mut Params {
        &mut self.params
    }

    /// The method's entry in the registry, if the API has such a method.
    pub fn info(&self) -> Option<&'static MethodInfo> {
        methods::lookup(&self.method)
    }

    /// Adds `api_key`, the token (when the credentials have one) and `api_sig`.
    #[must_use]
    pub fn signed(mut self, credentials: &Credentials) -> Call {
        self.params.insert("api_key", credentials.api_key.as_str());
        if let Some(token) = &credentials.token {
            self.params.insert("auth_token", token.expose());
        }
        self.params.remove("api_sig");
        let signature = sign::api_sig(&self.method, &self.params, &credentials.secret);
        self.params.insert("api_sig", signature);
        self
    }

    /// A copy whose secret parameters read [`REDACTED`], for printing.
    #[must_use]
    pub fn redacted(&self) -> Call {
        let mut copy = self.clone();
        for name in SECRET_PARAMS {
            if copy.params.contains(name) {
                copy.params.insert(*name, REDACTED);
            }
        }
        copy
    }

    /// Checks the method name and parameter names: non-empty, no control characters or spaces.
    pub fn validate(&self) -> Result<(), Error> {
        let valid_method = !self.method.is_empty()
            && self
                .method
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_');
        if !valid_method {
            return Err(Error::invalid_param(
                "method",
                format!(
                    "{:?} is not a method name (letters, digits, `.` and `_`)",
                    self.method
                ),
            ));
        }
        for (name, _) in self.params.iter() {
            if name.is_empty() || name.chars().any(|c| c.is_control() || c.is_whitespace()) {
                return Err(Error::invalid_param(
                    name,
                    "a parameter name must be non-empty, without spaces or control characters",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_sort_by_bytes_and_convert_types() {
        let params: Params = [("title", "x")].into_iter().collect();
        let mut params = params;
        params.insert("async", true);
        params.insert("is_public", false);
        params.insert("api_key", "k");
        params.insert("auth_token", "t");
        params.insert("Zeta", 5u8);
        params.insert("lat", -12.5);
        let names: Vec<&str> = params.iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "Zeta",
                "api_key",
                "async",
                "auth_token",
                "is_public",
                "lat",
                "title"
            ]
        );
        assert_eq!(params.get("async"), Some("1"));
        assert_eq!(params.get("is_public"), Some("0"));
        assert_eq!(params.get("lat"), Some("-12.5"));
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let credentials = Credentials::new("key", "very-secret").with_token("user-token");
        let call = Call::new("test.echo").signed(&credentials);
        for text in [
            format!("{credentials:?}"),
            format!("{call:?}"),
            format!("{:?}", call.redacted()),
        ] {
            assert!(
                !text.contains("very-secret") && !text.contains("user-token"),
                "{text}"
            );
        }
        assert_eq!(call.params().get("auth_token"), Some("user-token"));
        assert_eq!(call.redacted().params().get("auth_token"), Some(REDACTED));
    }

    #[test]
    fn validation_names_the_bad_part() {
        assert!(Call::new("doc.get").validate().is_ok());
        assert!(
            matches!(Call::new("").validate(), Err(Error::InvalidParam { name, .. }) if name == "method")
        );
        assert!(Call::new("doc get").validate().is_err());
        assert!(Call::new("doc.get").param("a b", 1).validate().is_err());
    }
}
