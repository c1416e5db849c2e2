//! What the user asks for: a [`Call`] of one method with its [`Params`], and the [`Credentials`]
//! that sign it.

use crate::error::Error;
use crate::methods::{self, MethodInfo};
use crate::sign;

pub use crate::params::{ParamValue, Params, REDACTED, SECRET_PARAMS, Secret};

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
            matches!(Call::new("").validate(), Err(Error::InvalidParam { param, .. }) if param == "method")
        );
        assert!(Call::new("doc get").validate().is_err());
        assert!(Call::new("doc.get").param("a b", 1).validate().is_err());
    }
}
