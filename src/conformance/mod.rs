//! The conformance suite as typed cases (feature `server`): the manifests of `protocols/` (schema
//! in `protocols/README.md`) read once into [`Case`]s, each checked by a validator that returns a
//! typed [`Failure`]. The test runner (`cargo test --test conformance`) and `ipernity conformance`
//! both use it; another implementation runs the same cases through either.
//!
//! ```
//! use ipernity::conformance::{Check, Suite};
//!
//! let suite = Suite::from_dir(env!("CARGO_MANIFEST_DIR"))?;
//! let parse_cases = suite.cases.iter().filter(|case| matches!(case.check, Check::Parse { .. }));
//! for case in parse_cases {
//!     case.run(&suite)?; // Err(Failure) names what differs
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The manifests say which protocol each case belongs to (a manifest per protocol); nothing is
//! guessed from a case's name.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Deserialize;

use crate::call::{Call, Credentials, Params};
use crate::format::Format;
use crate::protocol::Protocol;
use crate::value::Value;

#[cfg(feature = "client")]
mod endpoint;
#[cfg(feature = "client")]
mod methods;
#[cfg(feature = "client")]
mod recorded;
mod validate;

#[cfg(feature = "client")]
pub use endpoint::{EndpointOutcome, run_against};
#[cfg(feature = "client")]
pub use methods::{MethodCase, MethodCasesError, MethodOutcome, method_cases, run_method_cases};
#[cfg(feature = "client")]
pub use recorded::{
    RECORDED_API_KEY, RECORDED_SECRET, RECORDED_TOKEN, RecordedCase, recorded_cases, run_recorded,
};
pub use validate::{Failure, canonical, same_request};

/// The base URL the encoding fixtures are written against.
pub const FIXTURE_BASE_URL: &str = "https://api.ipernity.com/api";

/// The manifests, in the order they are run.
const MANIFESTS: [&str; 4] = ["formats", "rest", "soap", "xmlrpc"];

/// Why a suite could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{}: {reason}", path.display())]
pub struct SuiteError {
    /// The manifest or fixture.
    pub path: PathBuf,
    /// What was wrong with it.
    pub reason: String,
}

/// The whole suite: every case, the known failures, and where the fixtures are.
#[derive(Debug, Clone)]
pub struct Suite {
    /// Every case of every manifest.
    pub cases: Vec<Case>,
    /// Names of cases expected to fail (`protocols/known-failures.json`).
    pub known_failures: BTreeSet<String>,
    fixtures: Fixtures,
}

/// Where a suite's fixtures are read from.
#[derive(Debug, Clone)]
enum Fixtures {
    /// Files under this directory (a checkout of the repository).
    Dir(PathBuf),
    /// Compiled into the binary.
    #[cfg(feature = "cli")]
    Embedded,
}

/// One case.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Case {
    /// Its unique name, such as `soap/parse/not-xml`.
    pub name: String,
    /// The fixture's path from the repository root.
    pub fixture: String,
    /// What the case checks.
    pub check: Check,
}

/// What a case checks, and the outcome it expects.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Check {
    /// A response body decodes to this outcome.
    Decode {
        /// The format to decode it as.
        format: Format,
        /// The outcome.
        expect: Decoded,
        /// The group whose cases (one per format) must decode alike.
        golden: Option<String>,
    },
    /// A call encodes to the fixture's request, which parses back to `expect`.
    Encode {
        /// The protocol.
        protocol: Protocol,
        /// The call before signing.
        call: Call,
        /// Signed with these, when given.
        credentials: Option<Credentials>,
        /// The response format asked for.
        format: Format,
        /// The file of an upload, and the multipart boundary to use.
        upload: Option<UploadSpec>,
        /// What parsing the fixture gives.
        expect: Parsed,
    },
    /// An incoming request parses to `expect`.
    Parse {
        /// The protocol whose endpoint the request goes to.
        protocol: Protocol,
        /// The outcome.
        expect: Parsed,
    },
}

/// The outcome a decode case expects.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Decoded {
    /// The payload (without `api`).
    Payload(Value),
    /// An API error.
    Error {
        /// Its code.
        code: u32,
        /// Its message.
        message: String,
    },
    /// A SOAP or XML-RPC fault with no Ipernity code.
    Fault {
        /// The fault code.
        code: String,
        /// The fault text.
        message: String,
    },
    /// The body is refused as malformed.
    Malformed,
}

/// The outcome a parse (or the parse-back of an encode case) expects.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Parsed {
    /// The request is understood as this call, answered in `format`.
    Call {
        /// The method.
        method: String,
        /// Every parameter, signature included.
        params: Params,
        /// The response format.
        format: Format,
        /// The uploaded file, if any.
        file: Option<FileSpec>,
    },
    /// The request is refused with this code (102, 103, 121, 122), answered in `format`.
    Refused {
        /// The API error code.
        code: u32,
        /// The format of the answer.
        format: Format,
    },
}

/// A file travelling with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSpec {
    /// The file name the request carries (XML-RPC carries none).
    pub filename: Option<String>,
    /// The bytes.
    pub content: Vec<u8>,
}

/// The file of an upload encode case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadSpec {
    /// The file name given to the encoder.
    pub filename: String,
    /// The bytes.
    pub content: Vec<u8>,
    /// The multipart boundary (REST), so the bytes can be pinned.
    pub boundary: String,
}

impl Suite {
    /// Reads the suite of a checkout: manifests from `ROOT/protocols/`, fixtures from `ROOT`.
    ///
    /// # Errors
    ///
    /// A manifest that cannot be read or does not follow the schema, named with what is wrong.
    pub fn from_dir(root: impl Into<PathBuf>) -> Result<Suite, SuiteError> {
        let root = root.into();
        let read = |name: &str| {
            let path = root.join("protocols").join(format!("{name}.json"));
            std::fs::read_to_string(&path).map_err(|e| SuiteError {
                path,
                reason: e.to_string(),
            })
        };
        let mut manifests = Vec::new();
        for name in MANIFESTS {
            manifests.push((name, read(name)?));
        }
        let known = read("known-failures")?;
        Suite::from_texts(&manifests, &known, Fixtures::Dir(root))
    }

    /// The suite compiled into the binary (feature `cli`): `ipernity conformance` needs no
    /// checkout.
    ///
    /// # Errors
    ///
    /// Never for a binary built from a checkout whose manifests pass the test suite.
    #[cfg(feature = "cli")]
    pub fn embedded() -> Result<Suite, SuiteError> {
        let mut manifests = Vec::new();
        for name in MANIFESTS {
            let path = format!("protocols/{name}.json");
            let text = embedded_file(&path).ok_or_else(|| SuiteError {
                path: PathBuf::from(&path),
                reason: "not compiled in".to_owned(),
            })?;
            manifests.push((name, String::from_utf8_lossy(text).into_owned()));
        }
        let known = embedded_file("protocols/known-failures.json").unwrap_or(b"{\"cases\":[]}");
        Suite::from_texts(
            &manifests,
            &String::from_utf8_lossy(known),
            Fixtures::Embedded,
        )
    }

    fn from_texts(
        manifests: &[(&str, String)],
        known: &str,
        fixtures: Fixtures,
    ) -> Result<Suite, SuiteError> {
        let mut cases = Vec::new();
        for (name, text) in manifests {
            let path = PathBuf::from(format!("protocols/{name}.json"));
            let manifest: RawManifest = serde_json::from_str(text).map_err(|e| SuiteError {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            let protocol = match &manifest.protocol {
                Some(name) => Some(name.parse::<Protocol>().map_err(|e| SuiteError {
                    path: path.clone(),
                    reason: e.to_string(),
                })?),
                None => None,
            };
            for raw in manifest.cases {
                let name = raw.name.clone();
                let case = raw.into_case(protocol).map_err(|reason| SuiteError {
                    path: path.clone(),
                    reason: format!("case {name}: {reason}"),
                })?;
                cases.push(case);
            }
        }
        let known: RawKnownFailures = serde_json::from_str(known).map_err(|e| SuiteError {
            path: PathBuf::from("protocols/known-failures.json"),
            reason: e.to_string(),
        })?;
        let mut names = BTreeSet::new();
        for case in &cases {
            if !names.insert(case.name.as_str()) {
                return Err(SuiteError {
                    path: PathBuf::from("protocols"),
                    reason: format!("two cases are named {}", case.name),
                });
            }
        }
        Ok(Suite {
            cases,
            known_failures: known.cases.into_iter().map(|k| k.name).collect(),
            fixtures,
        })
    }

    /// The bytes of a fixture.
    ///
    /// # Errors
    ///
    /// [`Failure::Fixture`] when it cannot be read.
    pub fn fixture(&self, path: &str) -> Result<Vec<u8>, Failure> {
        let missing = |reason: String| Failure::Fixture {
            path: path.to_owned(),
            reason,
        };
        match &self.fixtures {
            Fixtures::Dir(root) => {
                std::fs::read(root.join(path)).map_err(|e| missing(e.to_string()))
            }
            #[cfg(feature = "cli")]
            Fixtures::Embedded => embedded_file(path)
                .map(<[u8]>::to_vec)
                .ok_or_else(|| missing("not compiled in".to_owned())),
        }
    }

    /// The golden groups: for each, its cases (one per format), which must decode alike.
    pub fn golden_groups(&self) -> BTreeMap<&str, Vec<&Case>> {
        let mut groups: BTreeMap<&str, Vec<&Case>> = BTreeMap::new();
        for case in &self.cases {
            if let Check::Decode {
                golden: Some(group),
                ..
            } = &case.check
            {
                groups.entry(group.as_str()).or_default().push(case);
            }
        }
        groups
    }
}

impl Case {
    /// Checks the case here, against this crate's decoders, encoders and parsers.
    ///
    /// # Errors
    ///
    /// The [`Failure`] that says what differs.
    pub fn run(&self, suite: &Suite) -> Result<(), Failure> {
        let fixture = suite.fixture(&self.fixture)?;
        let outcome = match &self.check {
            Check::Decode { format, expect, .. } => {
                validate::decoded(expect, *format, format.decode(&fixture))
            }
            Check::Encode {
                protocol,
                call,
                credentials,
                format,
                upload,
                expect,
            } => validate::encoded(
                *protocol,
                call,
                credentials.as_ref(),
                *format,
                upload.as_ref(),
                &fixture,
                expect,
            ),
            Check::Parse { protocol, expect } => {
                validate::parsed_fixture(*protocol, &fixture, expect)
            }
        };
        // A fixture that is not an HTTP request is named by its path.
        outcome.map_err(|failure| match failure {
            Failure::Fixture { path, reason } if path.is_empty() => Failure::Fixture {
                path: self.fixture.clone(),
                reason,
            },
            other => other,
        })
    }
}

/// Runs a golden group: every case decodes to the same value once scalars are compared as text,
/// and the crate's renderers reproduce it in every format.
///
/// # Errors
///
/// The [`Failure`] that says which format differs.
pub fn run_golden(suite: &Suite, cases: &[&Case]) -> Result<(), Failure> {
    validate::golden(suite, cases)
}

// ---------------------------------------------------------------------------------------------
// The manifests as written: read once, then turned into typed cases.

#[derive(Deserialize)]
struct RawManifest {
    #[serde(default)]
    protocol: Option<String>,
    cases: Vec<RawCase>,
}

#[derive(Deserialize)]
struct RawCase {
    name: String,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    format: Option<String>,
    fixture: String,
    expect: serde_json::Value,
    #[serde(default)]
    golden: Option<String>,
    #[serde(default)]
    call: Option<RawCall>,
    #[serde(default)]
    credentials: Option<RawCredentials>,
    #[serde(default)]
    upload: Option<RawUpload>,
}

#[derive(Deserialize)]
struct RawCall {
    method: String,
    params: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct RawCredentials {
    api_key: String,
    secret: String,
    #[serde(default)]
    token: Option<String>,
}

#[derive(Deserialize)]
struct RawUpload {
    filename: String,
    content_base64: String,
    boundary: String,
}

#[derive(Deserialize)]
struct RawFile {
    filename: Option<String>,
    content_base64: String,
}

#[derive(Deserialize)]
struct RawKnownFailures {
    cases: Vec<RawKnownFailure>,
}

#[derive(Deserialize)]
struct RawKnownFailure {
    name: String,
}

fn base64(text: &str) -> Result<Vec<u8>, String> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| format!("content_base64: {e}"))
}

impl RawCase {
    fn into_case(self, protocol: Option<Protocol>) -> Result<Case, String> {
        let protocol = || protocol.ok_or("the manifest names no protocol");
        let format = match &self.format {
            Some(name) => Some(name.parse::<Format>().map_err(|e| e.to_string())?),
            None => None,
        };
        let check = match self.kind.as_deref() {
            None | Some("decode") => Check::Decode {
                format: format.ok_or("a decode case needs a format")?,
                expect: decoded_expectation(&self.expect)?,
                golden: self.golden,
            },
            Some("encode") => {
                let call = self.call.ok_or("an encode case needs a call")?;
                Check::Encode {
                    protocol: protocol()?,
                    call: Call::with_params(call.method, call.params.into_iter().collect()),
                    credentials: self.credentials.map(|c| {
                        let credentials = Credentials::new(c.api_key, c.secret);
                        match c.token {
                            Some(token) => credentials.with_token(token),
                            None => credentials,
                        }
                    }),
                    format: format.ok_or("an encode case needs a format")?,
                    upload: match self.upload {
                        Some(upload) => Some(UploadSpec {
                            content: base64(&upload.content_base64)?,
                            filename: upload.filename,
                            boundary: upload.boundary,
                        }),
                        None => None,
                    },
                    expect: parsed_expectation(&self.expect)?,
                }
            }
            Some("parse") => Check::Parse {
                protocol: protocol()?,
                expect: parsed_expectation(&self.expect)?,
            },
            Some(other) => return Err(format!("unknown kind {other:?}")),
        };
        Ok(Case {
            name: self.name,
            fixture: self.fixture,
            check,
        })
    }
}

fn decoded_expectation(expect: &serde_json::Value) -> Result<Decoded, String> {
    if let Some(payload) = expect.get("payload") {
        return serde_json::from_value(payload.clone())
            .map(Decoded::Payload)
            .map_err(|e| format!("expect.payload: {e}"));
    }
    let text = |value: &serde_json::Value, key: &str| {
        value
            .get(key)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("{key} is missing"))
    };
    if let Some(error) = expect.get("error") {
        let code = error
            .get("code")
            .and_then(serde_json::Value::as_u64)
            .and_then(|c| u32::try_from(c).ok())
            .ok_or("expect.error.code is missing")?;
        return Ok(Decoded::Error {
            code,
            message: text(error, "message")?,
        });
    }
    if let Some(fault) = expect.get("fault") {
        return Ok(Decoded::Fault {
            code: text(fault, "code")?,
            message: text(fault, "message")?,
        });
    }
    if expect.get("malformed").is_some() {
        return Ok(Decoded::Malformed);
    }
    Err(format!("the case expects nothing known: {expect}"))
}

fn parsed_expectation(expect: &serde_json::Value) -> Result<Parsed, String> {
    let format: Format = expect
        .get("format")
        .and_then(serde_json::Value::as_str)
        .ok_or("expect.format is missing")?
        .parse()
        .map_err(|e| format!("expect.format: {e}"))?;
    if let Some(code) = expect.get("error") {
        let code = code
            .as_u64()
            .and_then(|c| u32::try_from(c).ok())
            .ok_or("expect.error is not a code")?;
        return Ok(Parsed::Refused { code, format });
    }
    let method = expect
        .get("method")
        .and_then(serde_json::Value::as_str)
        .ok_or("expect.method is missing")?
        .to_owned();
    let params: BTreeMap<String, String> = serde_json::from_value(
        expect
            .get("params")
            .cloned()
            .ok_or("expect.params is missing")?,
    )
    .map_err(|e| format!("expect.params: {e}"))?;
    let file = match expect.get("file") {
        None => None,
        Some(file) => {
            let file: RawFile =
                serde_json::from_value(file.clone()).map_err(|e| format!("expect.file: {e}"))?;
            Some(FileSpec {
                filename: file.filename,
                content: base64(&file.content_base64)?,
            })
        }
    };
    Ok(Parsed::Call {
        method,
        params: params.into_iter().collect(),
        format,
        file,
    })
}

#[cfg(feature = "cli")]
mod embedded {
    include!(concat!(env!("OUT_DIR"), "/conformance_files.rs"));
}

/// A file of the suite compiled into the binary.
#[cfg(feature = "cli")]
fn embedded_file(path: &str) -> Option<&'static [u8]> {
    embedded::FILES
        .iter()
        .find(|(name, _)| *name == path)
        .map(|(_, bytes)| *bytes)
}

#[cfg(all(test, feature = "cli"))]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_suite_is_the_checkout_s_and_carries_every_request_fixture() {
        let embedded = Suite::embedded().unwrap();
        let checkout = Suite::from_dir(env!("CARGO_MANIFEST_DIR")).unwrap();
        assert_eq!(embedded.cases, checkout.cases);
        for case in &embedded.cases {
            if matches!(case.check, Check::Parse { .. } | Check::Encode { .. }) {
                assert_eq!(
                    embedded.fixture(&case.fixture).unwrap(),
                    checkout.fixture(&case.fixture).unwrap(),
                    "{}",
                    case.name
                );
                case.run(&embedded).unwrap();
            }
        }
    }
}
