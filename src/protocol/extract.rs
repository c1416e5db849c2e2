//! Pulling a base64 file out of a SOAP or XML-RPC upload envelope as it arrives (uploads: `protocols/README.md`), so
//! the emulator never holds a large envelope in memory: the envelope without the file's content
//! is kept (it is small) and parsed as usual, the decoded file goes wherever the caller writes it.

use base64::Engine;

use super::Protocol;

/// The longest envelope, without the file's content, the extractor keeps.
const MAX_REST_OF_ENVELOPE: usize = 1024 * 1024;

/// What a [`FileExtractor`] produced from one chunk.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Extracted {
    /// Decoded file bytes.
    pub file: Vec<u8>,
}

/// Why the file could not be pulled out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("upload envelope: {0}")]
pub struct ExtractError(&'static str);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Copying the envelope, looking for marker number `index`.
    Seeking { index: usize },
    /// Just after `<file` (SOAP): the element name must end here.
    AfterName,
    /// Inside the file element's start tag (SOAP), copying up to its `>`.
    StartTag,
    /// Decoding the base64 content up to the next `<`.
    Content,
    /// Copying the rest of the envelope.
    Rest,
}

/// A push extractor: feed it the body in chunks; it keeps the envelope with the file element
/// emptied and hands back the decoded file bytes.
#[derive(Debug)]
pub struct FileExtractor {
    markers: &'static [&'static [u8]],
    stage: Stage,
    pending: Vec<u8>,
    envelope: Vec<u8>,
    base64: Vec<u8>,
    found: bool,
}

impl FileExtractor {
    /// An extractor for `protocol`'s upload envelope (SOAP `<file …>`, XML-RPC
    /// `<name>file</name>…<base64>`); `None` for REST, whose uploads are multipart.
    pub fn new(protocol: Protocol) -> Option<FileExtractor> {
        let markers: &'static [&'static [u8]] = match protocol {
            Protocol::Soap => &[b"<file"],
            Protocol::XmlRpc => &[b"<name>file</name>", b"<base64>"],
            Protocol::Rest => return None,
        };
        Some(FileExtractor {
            markers,
            stage: Stage::Seeking { index: 0 },
            pending: Vec::new(),
            envelope: Vec::new(),
            base64: Vec::new(),
            found: false,
        })
    }

    fn keep(&mut self, bytes: &[u8]) -> Result<(), ExtractError> {
        if self.envelope.len() + bytes.len() > MAX_REST_OF_ENVELOPE {
            return Err(ExtractError(
                "the envelope around the file is longer than 16 MiB",
            ));
        }
        self.envelope.extend_from_slice(bytes);
        Ok(())
    }

    /// Takes the next bytes of the body.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Extracted, ExtractError> {
        self.pending.extend_from_slice(chunk);
        let mut out = Extracted::default();
        loop {
            match self.stage {
                Stage::Seeking { index } => {
                    let marker = self.markers.get(index).copied().unwrap_or_default();
                    match memchr::memmem::find(&self.pending, marker) {
                        Some(at) => {
                            let through = at + marker.len();
                            let copied: Vec<u8> = self.pending.drain(..through).collect();
                            self.keep(&copied)?;
                            self.stage = if index + 1 < self.markers.len() {
                                Stage::Seeking { index: index + 1 }
                            } else if self.markers.len() == 1 {
                                Stage::AfterName
                            } else {
                                self.found = true;
                                Stage::Content
                            };
                        }
                        None => {
                            let keep_back = marker.len().saturating_sub(1).min(self.pending.len());
                            let copied: Vec<u8> = self
                                .pending
                                .drain(..self.pending.len() - keep_back)
                                .collect();
                            self.keep(&copied)?;
                            return Ok(out);
                        }
                    }
                }
                Stage::AfterName => {
                    // `<file` must be the whole element name: `<filename>` is another element.
                    let Some(&next) = self.pending.first() else {
                        return Ok(out);
                    };
                    self.stage = if matches!(next, b' ' | b'\t' | b'\r' | b'\n' | b'>') {
                        Stage::StartTag
                    } else {
                        Stage::Seeking { index: 0 }
                    };
                }
                Stage::StartTag => match memchr::memchr(b'>', &self.pending) {
                    Some(at) => {
                        let copied: Vec<u8> = self.pending.drain(..=at).collect();
                        self.keep(&copied)?;
                        self.found = true;
                        self.stage = Stage::Content;
                    }
                    None => {
                        let copied = std::mem::take(&mut self.pending);
                        self.keep(&copied)?;
                        return Ok(out);
                    }
                },
                Stage::Content => {
                    let end = memchr::memchr(b'<', &self.pending);
                    let content: Vec<u8> = self
                        .pending
                        .drain(..end.unwrap_or(self.pending.len()))
                        .collect();
                    self.base64
                        .extend(content.into_iter().filter(|b| !b.is_ascii_whitespace()));
                    let whole = self.base64.len() / 4 * 4;
                    let keep_back = if end.is_some() { 0 } else { 4 };
                    let usable = whole.saturating_sub(keep_back);
                    if usable > 0 {
                        let decoded = base64::engine::general_purpose::STANDARD
                            .decode(self.base64.get(..usable).unwrap_or_default())
                            .map_err(|_| ExtractError("the file is not valid base64"))?;
                        out.file.extend_from_slice(&decoded);
                        self.base64.drain(..usable);
                    }
                    if end.is_none() {
                        return Ok(out);
                    }
                    if !self.base64.is_empty() {
                        return Err(ExtractError(
                            "the base64 file ends in the middle of a group",
                        ));
                    }
                    self.stage = Stage::Rest;
                }
                Stage::Rest => {
                    let copied = std::mem::take(&mut self.pending);
                    self.keep(&copied)?;
                    return Ok(out);
                }
            }
        }
    }

    /// Ends the body: the envelope with the file's content left out, and whether a file element
    /// was found at all.
    pub fn finish(mut self) -> Result<(Vec<u8>, bool), ExtractError> {
        if matches!(self.stage, Stage::Content | Stage::StartTag) {
            return Err(ExtractError("the body ends inside the file"));
        }
        let pending = std::mem::take(&mut self.pending);
        self.keep(&pending)?;
        Ok((self.envelope, self.found))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::Call;
    use crate::format::Format;
    use crate::protocol::{FileContent, IncomingRequest};

    #[test]
    fn pulls_the_file_out_whatever_the_chunk_size() {
        let file: Vec<u8> = (0..10_000u32).map(|i| (i * 13 % 256) as u8).collect();
        let call = Call::new("upload.file")
            .param("title", "<file> & filename")
            .param("api_key", "k");
        for protocol in [Protocol::Soap, Protocol::XmlRpc] {
            let envelope = protocol
                .transport()
                .encode_upload("http://h/api", &call, "x.jpg", Some(Format::Json))
                .unwrap();
            let request = envelope.with_file(&file);
            for chunk in [1, 3, 5, 64, 1000, request.body.len()] {
                let mut extractor = FileExtractor::new(protocol).unwrap();
                let mut decoded = Vec::new();
                for piece in request.body.chunks(chunk) {
                    decoded.extend(extractor.feed(piece).unwrap().file);
                }
                let (rest, found) = extractor.finish().unwrap();
                assert!(found, "{protocol} {chunk}");
                assert_eq!(decoded, file, "{protocol} {chunk}");
                assert!(
                    rest.len() < 2000,
                    "{protocol}: the envelope kept {} bytes",
                    rest.len()
                );
                let reduced = crate::protocol::HttpRequest {
                    body: rest,
                    ..request.clone()
                };
                let parsed = protocol
                    .transport()
                    .parse(&IncomingRequest::from_http(&reduced, "/api"))
                    .unwrap();
                assert_eq!(parsed.call, call, "{protocol}");
                assert_eq!(
                    parsed.file.map(|f| f.content),
                    Some(FileContent::Memory(Vec::new()))
                );
            }
        }
    }

    #[test]
    fn refuses_broken_base64_and_bodies_cut_inside_the_file() {
        let mut extractor = FileExtractor::new(Protocol::Soap).unwrap();
        assert!(extractor.feed(b"<x><file>AAA*</file></x>").is_err());
        let mut extractor = FileExtractor::new(Protocol::XmlRpc).unwrap();
        extractor
            .feed(b"<member><name>file</name><value><base64>QUJD")
            .unwrap();
        assert!(extractor.finish().is_err());
        let mut extractor = FileExtractor::new(Protocol::Soap).unwrap();
        extractor.feed(b"<x><filename>a</filename></x>").unwrap();
        assert_eq!(
            extractor.finish().unwrap(),
            (b"<x><filename>a</filename></x>".to_vec(), false)
        );
    }
}
