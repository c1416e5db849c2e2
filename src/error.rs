//! Errors: what the API answered ([`ApiError`], [`ErrorCode`]) and where a call failed ([`Error`]).

use std::fmt;

use crate::format_name::{Format, UnknownName};

/// Every error code the Ipernity API documents, plus the method-specific codes below 100.
///
/// Codes of 100 and above are global (the API documentation's list of error codes); codes below 100 mean something different for each
/// method and are kept as [`ErrorCode::Method`]. A global code this crate does not know is kept as
/// [`ErrorCode::Other`], so no answer is ever lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// 100: the `api_key` parameter is missing.
    ApiKeyMissing,
    /// 101: the API key is invalid or disabled.
    ApiKeyInvalid,
    /// 102: the response format is not one of json, xml, php.
    InvalidFormat,
    /// 103: the method is invalid or missing.
    MethodNotFound,
    /// 104: `api_sig` is absent.
    SignatureMissing,
    /// 105: `api_sig` does not match.
    SignatureInvalid,
    /// 106: `auth_token` is missing.
    TokenMissing,
    /// 107: `auth_token` is invalid.
    TokenInvalid,
    /// 108: the user's account is closed or suspended.
    AccountClosed,
    /// 109: a member or group blocklist forbids the action.
    ActionBlocked,
    /// 110: the token lacks the permission the method needs.
    InsufficientPermissions,
    /// 111: the client's address is not allowed for this application.
    IpNotAllowed,
    /// 112: the application reached its request quota.
    ApplicationQuota,
    /// 113: the client address reached a request-rate limit.
    ClientIpQuota,
    /// 120: the method must be called with HTTP POST.
    PostRequired,
    /// 121: the SOAP envelope could not be parsed.
    InvalidSoapEnvelope,
    /// 122: the XML-RPC envelope could not be parsed.
    InvalidXmlRpcEnvelope,
    /// 130: the OAuth protocol version is not supported.
    OAuthVersion,
    /// 131: OAuth parameters are missing.
    OAuthParametersMissing,
    /// 132: the OAuth timestamp is too far from the server's clock.
    OAuthClockSkew,
    /// 133: the OAuth nonce was used before.
    OAuthNonceInvalid,
    /// 134: the OAuth timestamp is out of range or older than a previous one.
    OAuthTimestampInvalid,
    /// 135: the OAuth signature method is not supported.
    OAuthSignatureMethod,
    /// 500: service error.
    ServiceError,
    /// 501: maintenance mode.
    Maintenance,
    /// 503: service unavailable.
    ServiceUnavailable,
    /// A method-specific code (below 100); its meaning depends on the method.
    Method(u32),
    /// A global code (100 or above) that the API documentation does not list.
    Other(u32),
}

/// What kind of trouble an [`ErrorCode`] reports; it decides whether a call may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCategory {
    /// Credentials: api key, signature, token, OAuth parameters.
    Auth,
    /// The caller is known but not allowed (permission, blocklist, address, closed account).
    Permission,
    /// The application's request quota is used up.
    Quota,
    /// The client sends requests too fast.
    RateLimit,
    /// The service failed or is in maintenance; the same call may succeed later.
    Transient,
    /// The call itself is wrong: unknown method, method-specific error.
    Caller,
    /// The request's wire form is wrong: format, envelope, HTTP method.
    Protocol,
}

/// The global codes in one table: code, variant, documented title, category.
const GLOBAL_CODES: &[(u32, ErrorCode, &str, ErrorCategory)] = {
    use ErrorCategory as C;
    use ErrorCode as E;
    &[
        (100, E::ApiKeyMissing, "API Key is missing", C::Auth),
        (101, E::ApiKeyInvalid, "API Key is invalid", C::Auth),
        (102, E::InvalidFormat, "Invalid format", C::Protocol),
        (103, E::MethodNotFound, "Method not found", C::Caller),
        (104, E::SignatureMissing, "Signature missing", C::Auth),
        (105, E::SignatureInvalid, "Signature is invalid", C::Auth),
        (106, E::TokenMissing, "Token missing", C::Auth),
        (107, E::TokenInvalid, "Token invalid", C::Auth),
        (108, E::AccountClosed, "Account closed", C::Permission),
        (109, E::ActionBlocked, "Action blocked", C::Permission),
        (
            110,
            E::InsufficientPermissions,
            "Insufficient permissions",
            C::Permission,
        ),
        (111, E::IpNotAllowed, "IP not allowed", C::Permission),
        (
            112,
            E::ApplicationQuota,
            "Application Quota Error",
            C::Quota,
        ),
        (113, E::ClientIpQuota, "Client IP Quota Error", C::RateLimit),
        (120, E::PostRequired, "HTTP POST required", C::Protocol),
        (
            121,
            E::InvalidSoapEnvelope,
            "Invalid SOAP envelope",
            C::Protocol,
        ),
        (
            122,
            E::InvalidXmlRpcEnvelope,
            "Invalid XML-RPC envelope",
            C::Protocol,
        ),
        (
            130,
            E::OAuthVersion,
            "OAuth protocol version unsupported",
            C::Auth,
        ),
        (
            131,
            E::OAuthParametersMissing,
            "OAuth parameters are missing",
            C::Auth,
        ),
        (132, E::OAuthClockSkew, "OAuth Clock skew", C::Auth),
        (133, E::OAuthNonceInvalid, "OAuth Nonce is invalid", C::Auth),
        (
            134,
            E::OAuthTimestampInvalid,
            "OAuth Timestamp is invalid",
            C::Auth,
        ),
        (
            135,
            E::OAuthSignatureMethod,
            "OAuth Signature method unsupported",
            C::Auth,
        ),
        (500, E::ServiceError, "Service error", C::Transient),
        (501, E::Maintenance, "Maintenance mode", C::Transient),
        (
            503,
            E::ServiceUnavailable,
            "Service unavailable",
            C::Transient,
        ),
    ]
};

impl ErrorCode {
    /// Every global code the API documents, in numeric order.
    pub fn globals() -> impl Iterator<Item = ErrorCode> {
        GLOBAL_CODES.iter().map(|(_, code, _, _)| *code)
    }

    /// The code for a number: a documented global code, [`ErrorCode::Method`] below 100, or
    /// [`ErrorCode::Other`].
    pub fn from_u32(code: u32) -> ErrorCode {
        if code < 100 {
            return ErrorCode::Method(code);
        }
        GLOBAL_CODES
            .iter()
            .find(|(number, _, _, _)| *number == code)
            .map_or(ErrorCode::Other(code), |(_, variant, _, _)| *variant)
    }

    /// The number sent on the wire.
    pub fn as_u32(self) -> u32 {
        match self {
            ErrorCode::Method(code) | ErrorCode::Other(code) => code,
            known => GLOBAL_CODES
                .iter()
                .find(|(_, variant, _, _)| *variant == known)
                .map_or(0, |(number, _, _, _)| *number),
        }
    }

    fn entry(self) -> Option<&'static (u32, ErrorCode, &'static str, ErrorCategory)> {
        GLOBAL_CODES
            .iter()
            .find(|(_, variant, _, _)| *variant == self)
    }

    /// The documented title, which the API sends as the error message; `None` for method-specific
    /// and unknown codes.
    pub fn title(self) -> Option<&'static str> {
        self.entry().map(|(_, _, title, _)| *title)
    }

    /// What kind of trouble the code reports.
    pub fn category(self) -> ErrorCategory {
        self.entry()
            .map_or(ErrorCategory::Caller, |(_, _, _, category)| *category)
    }

    /// Whether the same call may succeed if sent again later: service errors, maintenance,
    /// quota and rate-limit answers.
    pub fn is_retryable(self) -> bool {
        matches!(
            self.category(),
            ErrorCategory::Transient | ErrorCategory::Quota | ErrorCategory::RateLimit
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_u32())
    }
}

impl From<u32> for ErrorCode {
    fn from(code: u32) -> Self {
        ErrorCode::from_u32(code)
    }
}

/// An error answered by the API: its code and message, and the method it answers when the
/// client knows it (the answer itself does not say: method codes below 100 mean different
/// things for different methods).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The error code.
    pub code: ErrorCode,
    /// The message the API sent (for global codes, usually the documented title).
    pub message: String,
    /// The method the call asked for; `None` for an error decoded from a body alone.
    pub method: Option<&'static str>,
    /// What the method catalog says this code means for that method, when it is one of the
    /// method's own codes (below 100, whose meaning differs from method to method).
    pub meaning: Option<&'static str>,
}

impl ApiError {
    /// An error with an explicit message.
    pub fn new(code: impl Into<ErrorCode>, message: impl Into<String>) -> ApiError {
        ApiError {
            code: code.into(),
            message: message.into(),
            method: None,
            meaning: None,
        }
    }

    /// A global error with its documented title as the message.
    pub fn global(code: ErrorCode) -> ApiError {
        ApiError {
            code,
            message: code.title().unwrap_or("Error").to_owned(),
            method: None,
            meaning: None,
        }
    }
}

impl ApiError {
    /// This error, as the answer to `method`.
    pub fn answering(mut self, method: &'static str) -> ApiError {
        self.method = Some(method);
        self
    }

    /// This error, with what its code means for the method it answers.
    pub fn meaning(mut self, meaning: Option<&'static str>) -> ApiError {
        self.meaning = meaning;
        self
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error {}: {}", self.code, self.message)?;
        match (&self.method, self.meaning) {
            (Some(method), Some(meaning)) => write!(f, " (answering {method}: {meaning})")?,
            (Some(method), None) => write!(f, " (answering {method})")?,
            _ => {}
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// Why a call failed, and where.
///
/// Small (a size test holds it under 64 bytes), with predicates in the manner of reqwest's:
/// [`code`](Error::code), [`is_api`](Error::is_api), [`is_retryable`](Error::is_retryable),
/// [`is_timeout`](Error::is_timeout). The source chain names each cause once.
///
/// ```
/// use ipernity::{Error, ErrorCode, Format};
///
/// let body = br#"{"api":{"status":"error","code":"113","message":"Client IP quota exceeded"}}"#;
/// let error = Format::Json.decode(body).unwrap_err();
/// assert!(error.is_api());
/// assert_eq!(error.code(), Some(ErrorCode::ClientIpQuota));
/// assert!(error.is_retryable(), "113 says: slow down and try again");
/// match &error {
///     Error::Api(api) => assert_eq!(api.message, "Client IP quota exceeded"),
///     other => panic!("{other}"),
/// }
///
/// // A protocol name from configuration that does not parse is a parameter error.
/// let refused: Result<ipernity::Protocol, Error> = "grpc".parse().map_err(Error::from);
/// assert!(matches!(refused, Err(Error::InvalidParam { .. })));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A parameter was refused before anything was sent: one the method does not take, a
    /// required one missing, a value outside the documented set or range, or a setting of the
    /// client that does not parse.
    #[error("invalid parameter `{param}`{}: {reason}", in_method(.method))]
    InvalidParam {
        /// The method the call was for; `None` for a setting outside any call (an endpoint, a
        /// protocol name, a certificate).
        method: Option<&'static str>,
        /// The parameter's (or the setting's) name.
        param: String,
        /// Why it was refused.
        reason: Box<str>,
    },
    /// The HTTP exchange failed: no connection, TLS refused, a timeout, a connection dropped
    /// or a body cut short. (The [`Transport`](crate::protocol::Transport) trait is something else: how a
    /// protocol encodes a call.)
    #[error("connection failed{}: {source}", if *.may_have_been_sent { " (the request may have been sent)" } else { "" })]
    Connection {
        /// The underlying failure.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
        /// Whether the request may have reached the server.
        may_have_been_sent: bool,
        /// Whether a deadline passed (the call's timeout, or an upload that stalled).
        timed_out: bool,
    },
    /// The server answered a non-2xx status with a body that is not an API response.
    #[error("HTTP status {status}: {body_prefix:?}")]
    Http {
        /// The HTTP status code.
        status: u16,
        /// The first bytes of the body, lossily decoded.
        body_prefix: String,
    },
    /// The server answered with a redirect, which API calls never follow: a signed query or
    /// form re-sent to the target would hand it the token (curl's default, too).
    #[error("HTTP {status} redirect to {target} not followed (API calls are never redirected)")]
    Redirect {
        /// The HTTP status code (301, 302, 303, 307 or 308).
        status: u16,
        /// The origin the redirect pointed to (`scheme://host[:port]`), never its path or
        /// query.
        target: String,
    },
    /// The response body could not be decoded in the format that was asked for.
    #[error("malformed {format} response: {reason}")]
    Malformed {
        /// The format the body was decoded as.
        format: Format,
        /// What was wrong, with a short excerpt of the input where it helps.
        reason: String,
    },
    /// The server answered with a SOAP or XML-RPC fault that carries no Ipernity error code.
    #[error("{format} fault {code}: {message}")]
    Fault {
        /// The envelope format that carried the fault.
        format: Format,
        /// The fault code as sent.
        code: String,
        /// The fault text.
        message: String,
    },
    /// The API answered with an error.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The method is not in the registry; nothing was sent.
    #[error("unknown method `{method}` (not in the API's method list)")]
    UnknownMethod {
        /// The method name.
        method: String,
    },
    /// The method needs a user token and the client has none; nothing was sent.
    #[error("`{method}` needs an auth token and none is set")]
    TokenRequired {
        /// The method name.
        method: String,
    },
    /// The method needs a permission the token was not granted; nothing was sent.
    #[error("`{method}` needs the {needed} permission, which the token does not hold")]
    PermissionMissing {
        /// The method name.
        method: String,
        /// The permission it needs.
        needed: crate::permission::Permission,
    },
    /// One page of a walk through a paged list failed (after the client's retries); the pages
    /// before it were yielded, none after.
    #[error("page {page} of {method}: {source}")]
    Page {
        /// The paged method.
        method: &'static str,
        /// The page that failed, from 1.
        page: u64,
        /// Why.
        #[source]
        source: Box<Error>,
    },
    /// The blocking client's runtime thread could not start, or stopped under a call.
    #[error("the blocking client's runtime: {0}")]
    Runtime(&'static str),
    /// The payload did not fit the type asked for.
    #[error("the payload does not fit the requested type: {0}")]
    Deserialize(#[source] crate::value::DeError),
    /// An answer decoded fine (in whatever format) but lacks a member the call needs.
    #[error("the answer carries no `{field}`")]
    MissingField {
        /// The member that was absent or empty, as a path (`auth.user.user_id`).
        field: &'static str,
    },
    /// An OAuth request-token or access-token answer came back (HTTP 200) without the token or
    /// its secret.
    #[error("the OAuth token answer carries no {missing}")]
    OAuthAnswerIncomplete {
        /// The field that was absent or empty: `oauth_token` or `oauth_token_secret`.
        missing: &'static str,
    },
    /// The call was cancelled through its cancellation token.
    #[error("cancelled{}", if *.may_have_been_sent { " after the whole request was sent (the server may have acted on it)" } else { " before the request was complete (the server did not act on it)" })]
    Cancelled {
        /// Whether the whole request had reached the connection when it was cancelled.
        may_have_been_sent: bool,
    },
}

/// A protocol or format name that does not parse is a parameter refused before anything is
/// sent: `let format: Format = text.parse()?;` works in a function returning [`Error`].
impl From<UnknownName> for Error {
    fn from(unknown: UnknownName) -> Error {
        Error::invalid_param(unknown.kind, unknown.to_string())
    }
}

impl Error {
    /// The API error, when the API answered with one.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Error::Api(error) => Some(error),
            Error::Page { source, .. } => source.api_error(),
            _ => None,
        }
    }

    /// The API's error code, when the API answered with an error.
    pub fn code(&self) -> Option<ErrorCode> {
        self.api_error().map(|error| error.code)
    }

    /// Whether the API answered with an error (rather than the exchange failing).
    pub fn is_api(&self) -> bool {
        matches!(self, Error::Api(_))
    }

    /// Whether a deadline passed: the call's timeout, or an upload that stalled.
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            Error::Connection {
                timed_out: true,
                ..
            }
        )
    }

    /// Whether sending the same request again may succeed: a retryable API code (500, 501,
    /// 503, 112, 113), HTTP 502, 503 or 504, or a transport failure. Whether it is *safe* to
    /// repeat a write is another question: see `may_have_been_sent` on [`Error::Connection`].
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(error) => error.code.is_retryable(),
            Error::Http { status, .. } => matches!(status, 502..=504),
            Error::Connection { .. } => true,
            Error::Page { source, .. } => source.is_retryable(),
            _ => false,
        }
    }

    pub(crate) fn malformed(format: Format, reason: impl Into<String>) -> Error {
        Error::Malformed {
            format,
            reason: reason.into(),
        }
    }

    /// A setting or parameter refused outside any one method's call.
    pub(crate) fn invalid_param(param: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::InvalidParam {
            method: None,
            param: param.into(),
            reason: reason.into().into_boxed_str(),
        }
    }

    /// A parameter of `method` refused before the call was sent.
    pub(crate) fn invalid_param_of(
        method: &'static str,
        param: impl Into<String>,
        reason: impl Into<String>,
    ) -> Error {
        Error::InvalidParam {
            method: Some(method),
            param: param.into(),
            reason: reason.into().into_boxed_str(),
        }
    }

    /// The method and parameter a refused parameter belongs to.
    pub fn invalid_param_name(&self) -> Option<(Option<&'static str>, &str)> {
        match self {
            Error::InvalidParam { method, param, .. } => Some((*method, param)),
            _ => None,
        }
    }
}

/// ` of METHOD` after a parameter's name, when the method is known.
fn in_method(method: &Option<&'static str>) -> String {
    method.map(|m| format!(" of {m}")).unwrap_or_default()
}

/// How many bytes of an unexpected body an [`Error::Http`] keeps.
pub const BODY_PREFIX_LEN: usize = 512;

/// The first bytes of a body, lossily decoded, for [`Error::Http`].
#[cfg_attr(not(feature = "client"), allow(dead_code))]
pub(crate) fn body_prefix(body: &[u8]) -> String {
    let end = body.len().min(BODY_PREFIX_LEN);
    String::from_utf8_lossy(body.get(..end).unwrap_or_default()).into_owned()
}

/// A short, printable excerpt of `bytes` around `position`, for error messages.
pub(crate) fn excerpt(bytes: &[u8], position: usize) -> String {
    const RADIUS: usize = 24;
    let start = position.saturating_sub(RADIUS);
    let end = position.saturating_add(RADIUS).min(bytes.len());
    let window = bytes.get(start..end).unwrap_or_default();
    let text = String::from_utf8_lossy(window);
    let mut out = String::with_capacity(text.len() + 8);
    if start > 0 {
        out.push('…');
    }
    out.extend(text.chars().flat_map(char::escape_debug));
    if end < bytes.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_global_code_round_trips_and_has_a_title() {
        let numbers: Vec<u32> = ErrorCode::globals().map(ErrorCode::as_u32).collect();
        let expected: Vec<u32> = (100..=113)
            .chain(120..=122)
            .chain(130..=135)
            .chain([500, 501, 503])
            .collect();
        assert_eq!(numbers, expected);
        for code in ErrorCode::globals() {
            assert_eq!(ErrorCode::from_u32(code.as_u32()), code);
            assert!(code.title().is_some_and(|t| !t.is_empty()));
        }
    }

    #[test]
    fn method_and_unknown_codes_are_kept() {
        assert_eq!(ErrorCode::from_u32(2), ErrorCode::Method(2));
        assert_eq!(ErrorCode::Method(2).as_u32(), 2);
        assert_eq!(ErrorCode::from_u32(114), ErrorCode::Other(114));
        assert_eq!(ErrorCode::Other(114).as_u32(), 114);
        assert_eq!(ErrorCode::Method(1).category(), ErrorCategory::Caller);
    }

    #[test]
    fn retryable_codes_are_transient_quota_and_rate_limit() {
        let retryable: Vec<u32> = ErrorCode::globals()
            .filter(|c| c.is_retryable())
            .map(ErrorCode::as_u32)
            .collect();
        assert_eq!(retryable, vec![112, 113, 500, 501, 503]);
        assert!(!ErrorCode::Method(1).is_retryable());
    }

    #[test]
    fn categories_follow_the_documented_meaning() {
        assert_eq!(ErrorCode::SignatureInvalid.category(), ErrorCategory::Auth);
        assert_eq!(
            ErrorCode::InsufficientPermissions.category(),
            ErrorCategory::Permission
        );
        assert_eq!(
            ErrorCode::InvalidSoapEnvelope.category(),
            ErrorCategory::Protocol
        );
        assert_eq!(
            ErrorCode::ClientIpQuota.category(),
            ErrorCategory::RateLimit
        );
        assert_eq!(ErrorCode::ApplicationQuota.category(), ErrorCategory::Quota);
        assert_eq!(ErrorCode::MethodNotFound.category(), ErrorCategory::Caller);
    }

    #[test]
    fn unknown_names_convert_with_the_question_mark() {
        fn parse(protocol: &str, format: &str) -> Result<(crate::Protocol, Format), Error> {
            Ok((protocol.parse()?, format.parse()?))
        }
        assert!(parse("soap", "xml").is_ok());
        let error = parse("grpc", "xml").unwrap_err();
        assert!(
            matches!(&error, Error::InvalidParam { param, .. } if param == "protocol"),
            "{error:?}"
        );
        assert!(error.to_string().contains("grpc"), "{error}");
        assert!(
            matches!(parse("rest", "yaml"), Err(Error::InvalidParam { param, .. }) if param == "format")
        );
    }

    #[test]
    fn predicates_read_the_variant() {
        let api = Error::Api(ApiError::global(ErrorCode::ServiceUnavailable));
        assert!(api.is_api() && api.is_retryable() && !api.is_timeout());
        assert_eq!(api.code(), Some(ErrorCode::ServiceUnavailable));
        let refused = Error::Api(ApiError::global(ErrorCode::SignatureInvalid));
        assert!(!refused.is_retryable());
        let gateway = Error::Http {
            status: 504,
            body_prefix: String::new(),
        };
        assert!(gateway.is_retryable() && !gateway.is_api() && gateway.code().is_none());
        let timeout = Error::Connection {
            source: "slow".into(),
            may_have_been_sent: true,
            timed_out: true,
        };
        assert!(timeout.is_timeout() && timeout.is_retryable());
        assert!(!Error::invalid_param("x", "y").is_retryable());
    }

    /// Every `Result` a call returns carries an `Error`'s room: it stays a few words.
    #[test]
    fn error_stays_small() {
        assert!(
            std::mem::size_of::<Error>() <= 64,
            "{}",
            std::mem::size_of::<Error>()
        );
    }

    #[test]
    fn excerpt_is_short_and_escaped() {
        let long = vec![b'a'; 1000];
        let text = excerpt(&long, 500);
        assert!(text.chars().count() <= 50);
        assert_eq!(excerpt(b"a\0b", 1), "a\\0b");
    }
}
