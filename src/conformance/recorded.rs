//! Recorded cases (features `server` and `client`): exchanges the bridge wrote
//! (`ipernity bridge --record DIR`), replayed against any endpoint (`ipernity conformance
//! --cases DIR`).
//!
//! Each case's request is parsed back into its call, the placeholders swapped for the
//! endpoint's credentials, values the endpoint gave earlier in the run put in place of the ones
//! recorded (a new album's id, an upload's ticket), the call signed again and sent in the
//! recorded protocol and format. The answer must have the recorded shape: the same members and
//! list lengths, the same error code, and the same values, except the values that change by
//! nature, which are compared by kind (`protocols/README.md`, "Recorded cases"):
//!
//! - ids (`id`, `…_id`), tickets, tokens and frobs: both present or both empty, digits where
//!   digits were recorded; the pair is remembered for the calls that follow;
//! - times (`…_at`, `created`, `date`, `taken`, `last_update`, …): both `0`/empty, or both a
//!   time of the same form (Unix seconds, or `YYYY-MM-DD HH:MM:SS`);
//! - URLs (`url`, `…_url`, `link`, any `http(s)://` value): both URLs, or both empty.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::endpoint::EndpointOutcome;
use super::{Failure, SuiteError};
use crate::call::{Call, Credentials, Params};
use crate::client::{HttpSender, ReqwestSender};
use crate::error::Error;
use crate::format::Format;
use crate::protocol::{FileContent, HttpRequest, IncomingRequest, Protocol};
use crate::value::Value;

/// The API key a recorded case carries instead of the caller's.
pub const RECORDED_API_KEY: &str = "recordedapikey";
/// The secret a recorded case's signatures are computed with.
pub const RECORDED_SECRET: &str = "recordedsecret";
/// The token a recorded case carries instead of any token or frob.
pub const RECORDED_TOKEN: &str = "recordedtoken";

/// The longest a replay waits between two cases, whatever pause the recording holds.
const MAX_GAP: Duration = Duration::from_secs(10);

/// One recorded exchange.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RecordedCase {
    /// Its name (`000012-doc.get`), in recording order.
    pub name: String,
    /// When its answer came, from the start of the recording.
    pub at: Duration,
    /// The protocol the caller used.
    pub protocol: Protocol,
    /// The format it asked for.
    pub format: Format,
    /// The request as the caller sent it, placeholders in.
    pub request: HttpRequest,
    /// The answer it got.
    pub answer: Vec<u8>,
}

#[derive(Deserialize)]
struct RawRecorded {
    name: String,
    kind: String,
    #[serde(default)]
    at_ms: u64,
    protocol: String,
    format: String,
    request: String,
    answer: String,
}

/// Reads every case (`*.case.json`) of a recording directory, in recording order.
///
/// # Errors
///
/// A case file or fixture that cannot be read or does not follow the schema, named.
pub fn recorded_cases(dir: &Path) -> Result<Vec<RecordedCase>, SuiteError> {
    let failed = |path: &Path, reason: String| SuiteError {
        path: path.to_owned(),
        reason,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| failed(dir, e.to_string()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .is_some_and(|name| name.to_string_lossy().ends_with(".case.json"))
        })
        .collect();
    files.sort();
    let mut cases = Vec::with_capacity(files.len());
    for path in files {
        let text = std::fs::read(&path).map_err(|e| failed(&path, e.to_string()))?;
        let raw: RawRecorded =
            serde_json::from_slice(&text).map_err(|e| failed(&path, e.to_string()))?;
        if raw.kind != "exchange" {
            return Err(failed(
                &path,
                format!("kind {:?}, expected \"exchange\"", raw.kind),
            ));
        }
        let protocol = raw
            .protocol
            .parse::<Protocol>()
            .map_err(|e| failed(&path, e.to_string()))?;
        let format = raw
            .format
            .parse::<Format>()
            .map_err(|e| failed(&path, e.to_string()))?;
        let fixture = |name: &str| {
            // Fixtures sit beside their case: a name never leaves the directory.
            if name.contains('/') || name.contains('\\') || name.starts_with('.') {
                return Err(failed(
                    &path,
                    format!("fixture {name:?} is not a file name"),
                ));
            }
            std::fs::read(dir.join(name)).map_err(|e| failed(&dir.join(name), e.to_string()))
        };
        let request = HttpRequest::from_http_text(&fixture(&raw.request)?)
            .map_err(|e| failed(&dir.join(&raw.request), e.to_string()))?;
        cases.push(RecordedCase {
            name: raw.name,
            at: Duration::from_millis(raw.at_ms),
            protocol,
            format,
            request,
            answer: fixture(&raw.answer)?,
        });
    }
    Ok(cases)
}

/// Runs recorded cases in order against `endpoint` with `credentials`, each given at most
/// `case_timeout` and sent no sooner after the one before than it was recorded (what the
/// service does between two calls, such as processing an upload, gets the same time; a pause
/// longer than 10 s is shortened to 10 s), handing each outcome to `report` as soon as it is
/// known.
///
/// # Errors
///
/// When the HTTP sender cannot be built.
pub async fn run_recorded(
    cases: &[RecordedCase],
    endpoint: &str,
    credentials: &Credentials,
    case_timeout: Duration,
    report: &mut dyn FnMut(&EndpointOutcome),
) -> Result<Vec<EndpointOutcome>, Error> {
    let sender = ReqwestSender::for_api()?;
    let mut replay = Replay {
        endpoint,
        credentials,
        learned: BTreeMap::new(),
    };
    let mut outcomes = Vec::with_capacity(cases.len());
    let mut previous: Option<(tokio::time::Instant, Duration)> = None;
    for case in cases {
        // The recording's pace: no case sooner after the one before than it was recorded, a
        // pause of more than MAX_GAP (a recording of a whole day) shortened to it.
        if let Some((sent, at)) = previous {
            let gap = case.at.saturating_sub(at).min(MAX_GAP);
            tokio::time::sleep_until(sent + gap).await;
        }
        previous = Some((tokio::time::Instant::now(), case.at));
        let attempt = replay.run(&sender, case, case_timeout);
        let outcome = EndpointOutcome::within(&case.name, case_timeout, attempt).await;
        report(&outcome);
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// A replay in progress: where to, as whom, and what the endpoint gave for recorded values.
struct Replay<'a> {
    endpoint: &'a str,
    credentials: &'a Credentials,
    /// Recorded value → the endpoint's, for ids, tickets and tokens seen so far.
    learned: BTreeMap<String, String>,
}

impl Replay<'_> {
    async fn run(
        &mut self,
        sender: &ReqwestSender,
        case: &RecordedCase,
        timeout: Duration,
    ) -> Result<(), Failure> {
        let request = self.request(case)?;
        let response = sender
            .send(request, timeout)
            .await
            .map_err(|e| Failure::Endpoint(Error::from(e).to_string()))?;
        let live = case.format.decode(&response.body);
        let recorded = case.format.decode(&case.answer);
        match (recorded, live) {
            (Ok(recorded), Ok(live)) => self.compare(&recorded, &live, "", ""),
            (Err(Error::Api(recorded)), Err(Error::Api(live))) => {
                if recorded.code == live.code {
                    Ok(())
                } else {
                    Err(Failure::Shape {
                        at: "the error".to_owned(),
                        recorded: format!("error {}", recorded.code.as_u32()),
                        got: format!("error {}: {}", live.code.as_u32(), live.message),
                    })
                }
            }
            (recorded, live) => Err(Failure::Outcome {
                expected: super::validate::describe(&recorded),
                got: super::validate::describe(&live),
            }),
        }
    }

    /// The recorded request for this endpoint: placeholders and learned values swapped,
    /// signed again, encoded in the recorded protocol, format and HTTP method.
    fn request(&self, case: &RecordedCase) -> Result<HttpRequest, Failure> {
        let fixture = |reason: String| Failure::Fixture {
            path: case.name.clone(),
            reason,
        };
        let transport = case.protocol.transport();
        let parsed = transport
            .parse(&IncomingRequest::from_http(&case.request, "/api"))
            .map_err(|e| fixture(format!("the request does not parse: {e}")))?;
        let signed = parsed.call.params().contains("api_sig");
        let mut params: Params = parsed
            .call
            .params()
            .iter()
            .filter(|(name, _)| *name != "api_sig")
            .map(|(name, value)| (name.to_owned(), self.swap(value)))
            .collect();
        if signed {
            let signature =
                crate::sign::api_sig(parsed.call.method(), &params, &self.credentials.secret);
            params.insert("api_sig", signature);
        }
        let call = Call::with_params(parsed.call.method(), params);
        let encoded = match &parsed.file {
            Some(file) => {
                let bytes = match &file.content {
                    FileContent::Memory(bytes) => bytes.as_slice(),
                    // A fixture is parsed in memory: a spooled file would be a parser's change.
                    FileContent::Spooled { .. } => {
                        return Err(fixture("the upload's file was not read with it".to_owned()));
                    }
                };
                transport
                    .encode_upload(
                        self.endpoint,
                        &call,
                        file.filename.as_deref().unwrap_or("file"),
                        Some(case.format),
                    )
                    .map(|envelope| envelope.with_file(bytes))
            }
            None => transport.encode(self.endpoint, &call, Some(case.format)),
        }
        .map_err(|e| Failure::Encoding(e.to_string()))?;
        Ok(crate::protocol::rest_with_method(
            encoded,
            parsed.http_method,
        ))
    }

    /// A parameter's value for this endpoint.
    fn swap(&self, value: &str) -> String {
        match value {
            super::RECORDED_API_KEY => return self.credentials.api_key.clone(),
            super::RECORDED_TOKEN => {
                return self
                    .credentials
                    .token
                    .as_ref()
                    .map(|token| token.expose().to_owned())
                    .unwrap_or_default();
            }
            _ => {}
        }
        // One learned value, or a comma-separated list of them (`doc_id=1,2,3`).
        value
            .split(',')
            .map(|part| self.learned.get(part).map_or(part, String::as_str))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Compares a recorded answer with the endpoint's, learning the values that change by
    /// nature.
    fn compare(
        &mut self,
        recorded: &Value,
        live: &Value,
        at: &str,
        name: &str,
    ) -> Result<(), Failure> {
        let differs = |recorded: String, got: String| Failure::Shape {
            at: if at.is_empty() {
                "the answer".to_owned()
            } else {
                at.to_owned()
            },
            recorded,
            got,
        };
        match (recorded, live) {
            (Value::Map(recorded), Value::Map(live)) => {
                let names = |map: &crate::value::Map| {
                    map.iter()
                        .map(|(name, _)| name.clone())
                        .collect::<std::collections::BTreeSet<_>>()
                };
                if names(recorded) != names(live) {
                    return Err(differs(
                        format!("members {:?}", names(recorded)),
                        format!("members {:?}", names(live)),
                    ));
                }
                for (member, value) in recorded.iter() {
                    let inner = if at.is_empty() {
                        member.to_string()
                    } else {
                        format!("{at}.{member}")
                    };
                    if let Some(other) = live.get(member) {
                        self.compare(value, other, &inner, member)?;
                    }
                }
                Ok(())
            }
            (Value::List(recorded), Value::List(live)) => {
                if recorded.len() != live.len() {
                    return Err(differs(
                        format!("{} items", recorded.len()),
                        format!("{} items", live.len()),
                    ));
                }
                for (index, (recorded, live)) in recorded.iter().zip(live).enumerate() {
                    self.compare(recorded, live, &format!("{at}[{index}]"), name)?;
                }
                Ok(())
            }
            (Value::Map(_) | Value::List(_), _) | (_, Value::Map(_) | Value::List(_)) => {
                Err(differs(recorded.kind().to_owned(), live.kind().to_owned()))
            }
            (recorded, live) => {
                let recorded = recorded.to_text().unwrap_or_default().into_owned();
                let live = live.to_text().unwrap_or_default().into_owned();
                match kind_of(name, &recorded) {
                    Kind::Value if recorded == live => Ok(()),
                    Kind::Value => Err(differs(format!("{recorded:?}"), format!("{live:?}"))),
                    kind if kind.alike(&recorded, &live) => {
                        if matches!(kind, Kind::Id) && !recorded.is_empty() {
                            self.learned.insert(recorded, live);
                        }
                        Ok(())
                    }
                    kind => Err(differs(
                        format!("{} {recorded:?}", kind.name()),
                        format!("{live:?}"),
                    )),
                }
            }
        }
    }
}

/// How a scalar is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// By value.
    Value,
    /// An id, ticket, token or frob: by kind, and remembered.
    Id,
    /// A time.
    Time,
    /// A URL.
    Url,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Value => "value",
            Kind::Id => "an id or token",
            Kind::Time => "a time",
            Kind::Url => "a URL",
        }
    }

    /// Whether two values are of this kind alike.
    fn alike(self, recorded: &str, live: &str) -> bool {
        let digits = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
        match self {
            Kind::Value => recorded == live,
            Kind::Id => {
                recorded.is_empty() == live.is_empty() && (!digits(recorded) || digits(live))
            }
            Kind::Time => {
                let zero = |text: &str| text.is_empty() || text == "0";
                let form = |text: &str| {
                    text.bytes()
                        .map(|b| if b.is_ascii_digit() { b'9' } else { b })
                        .collect::<Vec<_>>()
                };
                (zero(recorded) && zero(live))
                    || (digits(recorded) && digits(live))
                    || form(recorded) == form(live)
            }
            Kind::Url => {
                let url = |text: &str| text.starts_with("http://") || text.starts_with("https://");
                (recorded.is_empty() && live.is_empty()) || (url(recorded) && url(live))
            }
        }
    }
}

/// The kind of a member's value, from its name (and a URL from its value).
fn kind_of(name: &str, value: &str) -> Kind {
    const IDS: [&str; 7] = [
        "id",
        "ticket",
        "token",
        "frob",
        "secret",
        "oauth_token",
        "oauth_token_secret",
    ];
    const TIMES: [&str; 8] = [
        "created",
        "date",
        "taken",
        "last_update",
        "posted",
        "updated",
        "since",
        "time",
    ];
    if IDS.contains(&name) || name.ends_with("_id") {
        Kind::Id
    } else if TIMES.contains(&name) || name.ends_with("_at") || name.ends_with("_date") {
        Kind::Time
    } else if name == "url"
        || name == "link"
        || name.ends_with("_url")
        || value.starts_with("http://")
        || value.starts_with("https://")
    {
        Kind::Url
    } else {
        Kind::Value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_that_change_by_nature_compare_by_kind() {
        assert_eq!(kind_of("doc_id", "12"), Kind::Id);
        assert_eq!(kind_of("posted_at", "1700000000"), Kind::Time);
        assert_eq!(kind_of("created", "2020-01-02 03:04:05"), Kind::Time);
        assert_eq!(kind_of("href", "http://a/b"), Kind::Url);
        assert_eq!(kind_of("title", "x"), Kind::Value);
        assert!(Kind::Id.alike("12", "9999"));
        assert!(!Kind::Id.alike("12", ""));
        assert!(!Kind::Id.alike("12", "abc"));
        assert!(Kind::Time.alike("2020-01-02 03:04:05", "2026-12-01 20:00:00"));
        assert!(!Kind::Time.alike("2020-01-02 03:04:05", "0"));
        assert!(Kind::Time.alike("1700000000", "1800000000"));
        assert!(Kind::Url.alike("http://127.0.0.1:1/x", "https://cdn/y"));
        assert!(!Kind::Url.alike("http://a", ""));
    }

    #[test]
    fn answers_compare_member_by_member_and_learn_ids() {
        let credentials = Credentials::new("k", "s");
        let mut replay = Replay {
            endpoint: "http://x/api",
            credentials: &credentials,
            learned: BTreeMap::new(),
        };
        let recorded = Value::from_json_str(
            r#"{"album":{"album_id":"5","title":"A","created_at":"1700000000"}}"#,
        )
        .unwrap();
        let live = Value::from_json_str(
            r#"{"album":{"album_id":"77","title":"A","created_at":"1800000001"}}"#,
        )
        .unwrap();
        replay.compare(&recorded, &live, "", "").unwrap();
        assert_eq!(replay.swap("5"), "77");
        assert_eq!(replay.swap("1,5"), "1,77");
        assert_eq!(replay.swap(RECORDED_API_KEY), "k");
        let renamed = Value::from_json_str(
            r#"{"album":{"album_id":"78","title":"B","created_at":"1800000001"}}"#,
        )
        .unwrap();
        let failure = replay.compare(&recorded, &renamed, "", "").unwrap_err();
        assert_eq!(
            failure.to_string(),
            "at album.title: recorded \"A\", got \"B\""
        );
        let more = Value::from_json_str(
            r#"{"album":{"album_id":"78","title":"A","created_at":"1","x":"1"}}"#,
        )
        .unwrap();
        assert!(replay.compare(&recorded, &more, "", "").is_err());
    }
}
