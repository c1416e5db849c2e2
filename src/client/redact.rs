//! Keeping secrets out of errors. An error may quote what came back (an HTML error page, a
//! malformed body, a fault text) or how the exchange failed, and a server or proxy may echo the
//! request there: its query with `auth_token` and `api_sig`, its form, its `Authorization`
//! header. Every error a client call returns passes through [`Redactor::error`] first, so the
//! API secret, the tokens, the OAuth token secret and any `api_sig` or `oauth_signature` are
//! replaced by [`REDACTED`] wherever they appear, raw or percent-encoded.

use std::fmt;

use crate::error::Error;

/// What stands where a secret was.
pub(crate) const REDACTED: &str = "[redacted]";

/// The parameters whose values are never quoted, whatever they are: a signature made with the
/// secret identifies a token call as well as the token does.
const SIGNATURE_NAMES: [&str; 2] = ["api_sig", "oauth_signature"];

/// The secret values of one client, raw and percent-encoded.
#[derive(Default)]
pub(crate) struct Redactor {
    values: Vec<String>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} values)", self.values.len())
    }
}

impl Redactor {
    /// A redactor of `secrets` (empty ones are ignored).
    pub(crate) fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Redactor {
        let mut values = Vec::new();
        for secret in secrets.into_iter().filter(|s| !s.is_empty()) {
            // As a query or form carries it, and as OAuth encodes it.
            let mut form = String::new();
            crate::form::percent_encode_into(&mut form, secret);
            values.push(form);
            values.push(crate::oauth::percent_encode(secret));
            values.push(secret.to_owned());
        }
        // Longest first: a secret that contains another is replaced whole.
        values.sort_by_key(|value| std::cmp::Reverse(value.len()));
        values.dedup();
        Redactor { values }
    }

    /// `text` with every secret value and every signature replaced. A value counts where it
    /// stands whole (no letter or digit right before or after it), as a parameter's value
    /// stands in a query, a form, a header or an element: a short secret is not cut out of
    /// every word that happens to contain it.
    pub(crate) fn text(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for value in &self.values {
            if out.contains(value.as_str()) {
                out = replace_whole(&out, value);
            }
        }
        for name in SIGNATURE_NAMES {
            out = redact_signature(&out, name);
        }
        out
    }

    /// `error` with every text it quotes redacted; an error whose text holds nothing secret is
    /// returned as it was (its causes kept for downcasting).
    pub(crate) fn error(&self, error: Error) -> Error {
        match error {
            Error::Connection {
                source,
                may_have_been_sent,
                timed_out,
            } => {
                let full = chain(source.as_ref());
                let clean = self.text(&full);
                if clean == full {
                    Error::Connection {
                        source,
                        may_have_been_sent,
                        timed_out,
                    }
                } else {
                    Error::Connection {
                        source: clean.into(),
                        may_have_been_sent,
                        timed_out,
                    }
                }
            }
            Error::Http {
                status,
                body_prefix,
            } => Error::Http {
                status,
                body_prefix: self.text(&body_prefix),
            },
            Error::Malformed { format, reason } => Error::Malformed {
                format,
                reason: self.text(&reason),
            },
            Error::Fault {
                format,
                code,
                message,
            } => Error::Fault {
                format,
                code: self.text(&code),
                message: self.text(&message),
            },
            Error::Api(mut api) => {
                api.message = self.text(&api.message);
                Error::Api(api)
            }
            other => other,
        }
    }
}

/// `text` with each whole occurrence of `value` replaced by [`REDACTED`].
fn replace_whole(text: &str, value: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(value) {
        let before = rest.get(..at).unwrap_or_default();
        let after = rest.get(at + value.len()..).unwrap_or_default();
        let whole = !before.ends_with(|c: char| c.is_alphanumeric())
            && !after.starts_with(|c: char| c.is_alphanumeric());
        out.push_str(before);
        if whole {
            out.push_str(REDACTED);
            rest = after;
        } else {
            // Keep the first character and look again just after it.
            let step = value.chars().next().map_or(1, char::len_utf8);
            out.push_str(rest.get(at..at + step).unwrap_or_default());
            rest = rest.get(at + step..).unwrap_or_default();
        }
    }
    out.push_str(rest);
    out
}

/// An error and its causes, joined as reporters print them.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        text.push_str(": ");
        text.push_str(&next.to_string());
        cause = next.source();
    }
    text
}

/// `text` with the value that follows each `name` replaced: the first run of at least 16
/// value characters (letters, digits, `%+/-_.`) within 80 bytes, whatever separates them (`=`,
/// quotes, a multipart part's headers, an XML-RPC member's `</name><value><string>`). A
/// signature is 32 hex digits (`api_sig`) or about 28 base64 ones (`oauth_signature`); the
/// separators hold no run that long.
fn redact_signature(text: &str, name: &str) -> String {
    const WINDOW: usize = 80;
    const SHORTEST: usize = 16;
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(name) {
        let split = at + name.len();
        out.push_str(rest.get(..split).unwrap_or_default());
        let after = rest.get(split..).unwrap_or_default();
        let mut run_start = None;
        let mut found = None;
        for (i, c) in after.char_indices() {
            if is_value_char(c) {
                run_start.get_or_insert(i);
                continue;
            }
            if let Some(start) = run_start.take()
                && i - start >= SHORTEST
            {
                found = Some((start, i));
                break;
            }
            if i > WINDOW {
                break;
            }
        }
        if found.is_none()
            && let Some(start) = run_start
            && start <= WINDOW
            && after.len() - start >= SHORTEST
        {
            found = Some((start, after.len()));
        }
        match found {
            Some((start, end)) => {
                out.push_str(after.get(..start).unwrap_or_default());
                out.push_str(REDACTED);
                rest = after.get(end..).unwrap_or_default();
            }
            None => rest = after,
        }
    }
    out.push_str(rest);
    out
}

fn is_value_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '%' | '+' | '/' | '-' | '_' | '.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_signatures_are_replaced_raw_and_encoded() {
        let redactor = Redactor::new(["s3cr3t", "tok en", ""]);
        let text = redactor.text(
            "GET /api?auth_token=tok%20en&api_sig=0123456789abcdef0123456789abcdef x s3cr3t \
             <name>api_sig</name><value><string>fedcba9876543210fedcba9876543210</string> tok en",
        );
        for secret in [
            "s3cr3t",
            "tok en",
            "tok%20en",
            "0123456789abcdef",
            "fedcba98765",
        ] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(text.contains("auth_token=[redacted]"), "{text}");
        assert!(text.contains("api_sig=[redacted]"), "{text}");
        assert_eq!(
            redactor.text("api_sig is short: ab"),
            "api_sig is short: ab"
        );
    }

    #[test]
    fn an_error_without_secrets_keeps_its_source() {
        let redactor = Redactor::new(["s3cr3t"]);
        let io = std::io::Error::other("refused");
        let kept = redactor.error(Error::Connection {
            source: Box::new(io),
            may_have_been_sent: false,
            timed_out: false,
        });
        let Error::Connection { source, .. } = kept else {
            panic!("not a connection error");
        };
        assert!(source.downcast_ref::<std::io::Error>().is_some());
    }
}
