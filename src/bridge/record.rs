//! The recorder: every exchange through the bridge written as a conformance case
//! (`protocols/README.md`, "Recorded cases"), with every credential replaced by a placeholder
//! and the signature recomputed for the placeholder secret, so a case can be committed and
//! replayed anywhere (`ipernity conformance --cases DIR`).
//!
//! A case is `NNNNNN-METHOD.case.json` beside its fixtures: the caller's request (`.request.http`,
//! HTTP text, the upload's file in it), the request that went upstream (`.upstream.http`, an
//! upload's file left out) and the answer the caller got (`.answer.FORMAT`). Fixtures are
//! written first and every file is renamed into place whole: a case whose JSON exists is
//! complete.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use crate::call::{Call, Params, Secret};
use crate::format::Format;
use crate::protocol::{FileContent, FilePart, HttpRequest, ParsedRequest, Protocol};
use crate::server::receive::Received;
use crate::value::{Map, Value};

use crate::conformance::{RECORDED_API_KEY, RECORDED_SECRET, RECORDED_TOKEN};

/// Parameters and answer members whose values are credentials.
const SECRET_NAMES: [&str; 6] = [
    "auth_token",
    "token",
    "frob",
    "secret",
    "oauth_token",
    "oauth_token_secret",
];

/// The shortest credential a case can be recorded with (the service's keys, secrets and tokens
/// are 32 characters).
const MIN_SECRET_LENGTH: usize = 8;

/// The largest upload file a case keeps (it goes into the request fixture).
const MAX_RECORDED_FILE: u64 = 8 * 1024 * 1024;

/// One exchange, as the bridge saw it.
pub(super) struct Exchange<'a> {
    pub(super) caller: &'a Received,
    pub(super) parsed: &'a ParsedRequest,
    pub(super) file: Option<&'a FilePart>,
    /// What went upstream (an upload without its file), if anything did.
    pub(super) upstream: Option<&'a HttpRequest>,
    pub(super) answer: &'a [u8],
    pub(super) format: Format,
}

/// Writes cases into one directory, numbered in the order their answers were given.
pub(super) struct Recorder {
    dir: PathBuf,
    next: AtomicU64,
    /// When recording began: each case says how long after it its answer came, so a replay
    /// keeps the recording's pace (a ticket processed between two calls is processed again).
    started: std::time::Instant,
}

/// A recorded case as its JSON file holds it.
#[derive(Serialize)]
struct CaseFile<'a> {
    name: &'a str,
    kind: &'static str,
    /// Milliseconds from the start of the recording to the answer.
    at_ms: u64,
    protocol: &'static str,
    format: &'static str,
    method: &'a str,
    request: String,
    upstream: Option<String>,
    answer: String,
    expect: Expect<'a>,
}

/// What the recorded request parses to, as a parse case's `expect`.
#[derive(Serialize)]
struct Expect<'a> {
    method: &'a str,
    params: std::collections::BTreeMap<&'a str, &'a str>,
    format: &'static str,
}

impl Recorder {
    /// Records into `dir` (created if needed), numbering after the cases it already holds.
    pub(super) fn open(dir: &Path) -> std::io::Result<Recorder> {
        std::fs::create_dir_all(dir)?;
        let mut last = 0u64;
        for entry in std::fs::read_dir(dir)? {
            let name = entry?.file_name();
            let name = name.to_string_lossy();
            if let Some(number) = name
                .strip_suffix(".case.json")
                .and_then(|stem| stem.split('-').next())
                .and_then(|digits| digits.parse::<u64>().ok())
            {
                last = last.max(number);
            }
        }
        Ok(Recorder {
            dir: dir.to_owned(),
            next: AtomicU64::new(last + 1),
            started: std::time::Instant::now(),
        })
    }

    /// Writes one exchange as a case. A failure to write is logged, never the caller's
    /// problem: the call was answered.
    pub(super) async fn record(&self, exchange: Exchange<'_>) {
        let number = self.next.fetch_add(1, Ordering::Relaxed);
        let at_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let method = exchange.parsed.call.method().to_owned();
        let written = match Case::from_exchange(&exchange, number, at_ms).await {
            Ok(Some(case)) => case.write(&self.dir).await,
            Ok(None) => Ok(()),
            Err(why) => Err(std::io::Error::other(why)),
        };
        if let Err(error) = written {
            tracing::warn!(%error, %method, "recording an exchange failed");
        }
    }
}

/// A case ready to be written: its files' bytes, placeholders in.
struct Case {
    name: String,
    json: Vec<u8>,
    files: Vec<(String, Vec<u8>)>,
}

impl Case {
    /// The case of `exchange`, or `None` when it cannot be recorded (logged: an OAuth call,
    /// whose signature covers a time and a nonce; an upload larger than the largest kept).
    async fn from_exchange(
        exchange: &Exchange<'_>,
        number: u64,
        at_ms: u64,
    ) -> Result<Option<Case>, String> {
        let parsed = exchange.parsed;
        let method = parsed.call.method();
        if parsed.call.params().get("oauth_consumer_key").is_some()
            || exchange.caller.query.contains("oauth_")
        {
            tracing::warn!(%method, "an OAuth call is not recorded: its signature covers a time and a nonce");
            return Ok(None);
        }
        let file = match exchange.file {
            Some(file) if file.len() > MAX_RECORDED_FILE => {
                tracing::warn!(%method, bytes = file.len(), "an upload this large is not recorded");
                return Ok(None);
            }
            Some(file) => Some(read_file(file).await?),
            None => None,
        };
        let placeholders = Placeholders::of(parsed, exchange.answer, exchange.format);
        if placeholders
            .swaps
            .iter()
            .any(|(secret, _)| secret.len() < MIN_SECRET_LENGTH)
        {
            // Found in text by its bytes, a short credential cannot be told from the text
            // around it: it could not be taken out for sure.
            tracing::warn!(%method, "a call with a credential shorter than {MIN_SECRET_LENGTH} characters is not recorded");
            return Ok(None);
        }
        let call = placeholders.call(&parsed.call);
        let name = format!("{number:06}-{method}");
        let caller_protocol = Protocol::for_path(&exchange.caller.path);
        // The request as the caller sent it, its credentials and signature swapped; re-encoded
        // from the call only where the swap could not be made in its bytes, and for uploads
        // (whose file the bridge spooled away from the rest of the request).
        let request = match &file {
            Some(bytes) => {
                let filename = exchange
                    .file
                    .and_then(|f| f.filename.as_deref())
                    .unwrap_or("file");
                caller_protocol
                    .transport()
                    .encode_upload(
                        crate::conformance::FIXTURE_BASE_URL,
                        &call,
                        filename,
                        Some(parsed.format),
                    )
                    .map_err(|e| e.to_string())?
                    .with_file(bytes)
            }
            None => placeholders.request(exchange.caller, &call, parsed.format, caller_protocol)?,
        };
        let upstream = exchange.upstream.map(|sent| placeholders.swapped(sent));
        let answer = placeholders.answer(exchange.answer, exchange.format);
        let request_file = format!("{name}.request.http");
        let upstream_file = upstream.as_ref().map(|_| format!("{name}.upstream.http"));
        let answer_file = format!("{name}.answer.{}", exchange.format);
        let json = serde_json::to_vec_pretty(&CaseFile {
            name: &name,
            kind: "exchange",
            at_ms,
            protocol: caller_protocol.as_str(),
            format: parsed.format.as_str(),
            method,
            request: request_file.clone(),
            upstream: upstream_file.clone(),
            answer: answer_file.clone(),
            expect: Expect {
                method,
                params: call.params().iter().collect(),
                format: parsed.format.as_str(),
            },
        })
        .map_err(|e| e.to_string())?;
        let mut files = vec![
            (request_file, request.to_http_text()),
            (answer_file, answer),
        ];
        if let (Some(file), Some(upstream)) = (upstream_file, upstream) {
            files.push((file, upstream.to_http_text()));
        }
        Ok(Some(Case { name, json, files }))
    }

    /// Writes the fixtures, then the case: each through a temporary name renamed into place.
    async fn write(self, dir: &Path) -> std::io::Result<()> {
        let json = (format!("{}.case.json", self.name), self.json);
        for (file, bytes) in self.files.into_iter().chain([json]) {
            let staging = dir.join(format!("{file}.partial"));
            tokio::fs::write(&staging, bytes).await?;
            tokio::fs::rename(&staging, dir.join(&file)).await?;
        }
        Ok(())
    }
}

/// An upload's bytes, from memory or its spool file.
async fn read_file(file: &FilePart) -> Result<Vec<u8>, String> {
    match &file.content {
        FileContent::Memory(bytes) => Ok(bytes.clone()),
        FileContent::Spooled { path, .. } => tokio::fs::read(path)
            .await
            .map_err(|e| format!("reading the upload's spool: {e}")),
    }
}

/// Each credential of an exchange and the placeholder that replaces it, the signature last.
struct Placeholders {
    swaps: Vec<(String, String)>,
}

impl Placeholders {
    /// The credentials the call carries (key, token, frob, signature) and those its answer
    /// gives (a token, a frob).
    fn of(parsed: &ParsedRequest, answer: &[u8], format: Format) -> Placeholders {
        let params = parsed.call.params();
        let mut placeholders = Placeholders { swaps: Vec::new() };
        if let Some(key) = params.get("api_key") {
            placeholders.swap(key, RECORDED_API_KEY);
        }
        for name in SECRET_NAMES {
            if let Some(value) = params.get(name) {
                placeholders.swap(value, RECORDED_TOKEN);
            }
        }
        if let Ok(payload) = format.decode(answer) {
            for value in secret_members(&payload) {
                placeholders.swap(&value, RECORDED_TOKEN);
            }
        }
        // The signature of the call with placeholders, for the placeholder secret.
        if let Some(signature) = params.get("api_sig") {
            let mut stand_in = placeholders.call(&parsed.call);
            stand_in.params_mut().remove("api_sig");
            let resigned = crate::sign::api_sig(
                stand_in.method(),
                stand_in.params(),
                &Secret::new(RECORDED_SECRET),
            );
            placeholders.swap(signature, &resigned);
        }
        placeholders
    }

    /// Replaces `value` by `placeholder` from now on.
    fn swap(&mut self, value: &str, placeholder: &str) {
        if !value.is_empty() && !self.swaps.iter().any(|(secret, _)| secret == value) {
            self.swaps.push((value.to_owned(), placeholder.to_owned()));
        }
    }

    /// `text` with every credential replaced.
    fn text(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for (secret, placeholder) in &self.swaps {
            text = text.replace(secret.as_str(), placeholder);
        }
        text
    }

    /// `bytes` with every credential replaced, whatever the encoding around it (a body need
    /// not be UTF-8 to carry a token).
    fn bytes(&self, bytes: &[u8]) -> Vec<u8> {
        let mut bytes = bytes.to_vec();
        for (secret, placeholder) in &self.swaps {
            let mut replaced = Vec::with_capacity(bytes.len());
            let mut rest = bytes.as_slice();
            while let Some(at) = memchr::memmem::find(rest, secret.as_bytes()) {
                replaced.extend_from_slice(rest.get(..at).unwrap_or_default());
                replaced.extend_from_slice(placeholder.as_bytes());
                rest = rest.get(at + secret.len()..).unwrap_or_default();
            }
            replaced.extend_from_slice(rest);
            bytes = replaced;
        }
        bytes
    }

    /// The call with placeholders (its signature the placeholder secret's).
    fn call(&self, call: &Call) -> Call {
        let params: Params = call
            .params()
            .iter()
            .map(|(name, value)| (name.to_owned(), self.text(value)))
            .collect();
        Call::with_params(call.method(), params)
    }

    /// A request with placeholders in its URL and body.
    fn swapped(&self, request: &HttpRequest) -> HttpRequest {
        HttpRequest {
            url: self.text(&request.url),
            body: self.bytes(&request.body),
            ..request.clone()
        }
    }

    /// The caller's request with placeholders, on the fixtures' base URL: its own bytes when
    /// they parse back to the placeholder call, the call encoded anew otherwise.
    fn request(
        &self,
        caller: &Received,
        call: &Call,
        format: Format,
        protocol: Protocol,
    ) -> Result<HttpRequest, String> {
        let base = crate::conformance::FIXTURE_BASE_URL;
        let mut url = format!("{base}/{}", caller.path);
        if !caller.query.is_empty() {
            url.push('?');
            url.push_str(&caller.query);
        }
        let sent = HttpRequest {
            method: caller.method,
            url,
            headers: caller
                .content_type
                .iter()
                .map(|value| ("Content-Type".to_owned(), value.clone()))
                .collect(),
            body: caller.body.to_vec(),
        };
        let swapped = self.swapped(&sent);
        let reparsed = protocol
            .transport()
            .parse(&crate::protocol::IncomingRequest::from_http(
                &swapped, "/api",
            ));
        if reparsed.is_ok_and(|parsed| parsed.call == *call) {
            return Ok(swapped);
        }
        protocol
            .transport()
            .encode(base, call, Some(format))
            .map_err(|e| e.to_string())
    }

    /// The answer with placeholders: its own bytes when it holds no credential, rendered anew
    /// from its swapped payload otherwise (a PHP string's length must follow its text).
    fn answer(&self, answer: &[u8], format: Format) -> Vec<u8> {
        let holds_secret = self
            .swaps
            .iter()
            .any(|(secret, _)| memchr::memmem::find(answer, secret.as_bytes()).is_some());
        if !holds_secret {
            return answer.to_vec();
        }
        match format.decode(answer) {
            Ok(Value::Map(payload)) => format.render(Ok(&self.map(&payload))),
            Err(crate::Error::Api(error)) => {
                let mut error = error;
                error.message = self.text(&error.message);
                format.render(Err(&error))
            }
            _ => self.bytes(answer),
        }
    }

    fn map(&self, map: &Map) -> Map {
        map.iter()
            .map(|(name, value)| (name.clone(), self.value(value)))
            .collect()
    }

    fn value(&self, value: &Value) -> Value {
        match value {
            Value::String(text) => Value::from(self.text(text)),
            Value::Map(map) => Value::Map(self.map(map)),
            Value::List(items) => Value::List(items.iter().map(|v| self.value(v)).collect()),
            other => other.clone(),
        }
    }
}

/// The values of members named like credentials, anywhere in a payload.
fn secret_members(value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        match value {
            Value::Map(map) => {
                for (name, member) in map.iter() {
                    match member.to_text() {
                        Some(text) if SECRET_NAMES.contains(&name.as_str()) => {
                            found.push(text.into_owned());
                        }
                        _ => stack.push(member),
                    }
                }
            }
            Value::List(items) => stack.extend(items.iter()),
            _ => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_taken_out_of_any_bytes() {
        let placeholders = Placeholders {
            swaps: vec![("tok3n-secret".to_owned(), RECORDED_TOKEN.to_owned())],
        };
        let body = b"\xff\xfeauth_token=tok3n-secret&x=\x00tok3n-secret";
        let swapped = placeholders.bytes(body);
        assert_eq!(
            swapped,
            b"\xff\xfeauth_token=recordedtoken&x=\x00recordedtoken".to_vec()
        );
        assert_eq!(placeholders.text("a tok3n-secret b"), "a recordedtoken b");
    }
}
