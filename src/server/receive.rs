//! Reading a request's body within its bounds: a form or small envelope whole, a multipart
//! upload part by part and an envelope carrying a file through the file extractor, the file in
//! both cases going straight to a [`Spool`] file. Whatever the route, a request arrives here as
//! an [`IncomingRequest`] and a spooled file, or is refused with the HTTP status its size or
//! pace earns. [`Intake`] is the part both fronts of the API share: the emulator's `/api` route
//! below, and the protocol bridge (`crate::bridge`), which holds a request to the same bounds
//! before it forwards it.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use super::limits::{self, BodyRefused, Spool};
use super::listen::{LocalAddr, PeerAddr};
use super::shared::Shared;
use crate::protocol::{
    FileContent, FilePart, HttpMethod, IncomingRequest, MultipartEvent, Protocol,
};

/// How much of an upload the emulator gathers before writing it to disk.
const SPOOL_BUFFER: usize = 1024 * 1024;

/// `/api/…`: the API's one route for every protocol.
pub(super) async fn api(
    State(shared): State<Arc<Shared>>,
    local: Option<axum::Extension<LocalAddr>>,
    peer: Option<axum::Extension<PeerAddr>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let intake = Intake {
        spool_dir: &shared.data_dir,
        max_file_size: shared.max_file_size,
        idle_timeout: shared.idle_timeout,
    };
    let local = local.and_then(|axum::Extension(LocalAddr(addr))| addr);
    let mut received = match intake.receive(local, &method, &uri, &headers, body).await {
        Arrival::Request(received) => received,
        Arrival::Answered(response) => return response,
    };
    let context = super::oauth::OAuthContext::new(&headers, &uri);
    let (spooled, _spool) = received.file.take().unzip();
    // `_spool` lives to here: a file no document took is removed with it.
    let peer = peer
        .and_then(|axum::Extension(PeerAddr(addr))| addr)
        .map(|a| a.ip());
    super::checks::answer_request(&shared, &context, received.incoming(), spooled, peer).await
}

/// What a request's body may spend, and where its file goes: the bounds every front of the
/// API (the emulator, the bridge) holds a request to before anything else is looked at.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Intake<'a> {
    /// Where an upload's file is spooled.
    pub(crate) spool_dir: &'a std::path::Path,
    /// The largest file an upload may carry.
    pub(crate) max_file_size: u64,
    /// How long a client may send nothing.
    pub(crate) idle_timeout: std::time::Duration,
}

/// A request read within its bounds, or the answer it already has.
pub(crate) enum Arrival {
    /// A call to parse.
    Request(Received),
    /// Answered already: the WSDL, a refusal for its size, pace or HTTP method.
    Answered(Response),
}

/// A request's parts once read: a multipart upload's fields as a form body, an envelope without
/// its file, and the file in a spool that removes it when dropped.
pub(crate) struct Received {
    /// GET or POST.
    pub(crate) method: HttpMethod,
    /// The path below `/api`, without leading slash.
    pub(crate) path: String,
    /// The raw query string.
    pub(crate) query: String,
    /// The content type of `body` (a form's for a multipart upload's fields).
    pub(crate) content_type: Option<String>,
    /// The body, without the upload's file.
    pub(crate) body: Bytes,
    /// The upload's file.
    pub(crate) file: Option<(FilePart, Spool)>,
}

impl Received {
    /// The request as the protocol parsers read it.
    pub(crate) fn incoming(&self) -> IncomingRequest<'_> {
        IncomingRequest {
            method: self.method,
            path: &self.path,
            query: &self.query,
            content_type: self.content_type.as_deref(),
            body: &self.body,
        }
    }
}

impl Intake<'_> {
    /// Reads a request to `/api/…` within the bounds: the WSDL is answered (naming `local`, the
    /// address the client reached), a body too large, too slow or with too many parameters is
    /// refused with its HTTP status, a multipart upload's file and a large envelope's file go
    /// to a spool file as they arrive.
    pub(crate) async fn receive(
        &self,
        local: Option<std::net::SocketAddr>,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: Body,
    ) -> Arrival {
        let path = uri
            .path()
            .strip_prefix("/api")
            .unwrap_or_default()
            .trim_start_matches('/');
        let http_method = match *method {
            Method::POST => HttpMethod::Post,
            Method::GET | Method::HEAD => HttpMethod::Get,
            _ => {
                return Arrival::Answered(
                    (
                        StatusCode::METHOD_NOT_ALLOWED,
                        [(header::ALLOW, "GET, HEAD, POST")],
                        "the API answers GET and POST",
                    )
                        .into_response(),
                );
            }
        };
        if http_method == HttpMethod::Get && path == "soap" && uri.query() == Some("wsdl") {
            return Arrival::Answered(super::pages::wsdl(local));
        }
        if limits::too_many_params(uri.query().unwrap_or_default().as_bytes()) {
            return Arrival::Answered(too_many_params());
        }
        let protocol = Protocol::for_path(path);
        let mut content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let boundary = content_type
            .as_deref()
            .and_then(crate::protocol::multipart_boundary)
            .map(str::to_owned);
        // An upload may be as large as the largest file (in base64 inside an envelope) plus the
        // rest of the call; anything announced larger is refused before a byte is read.
        let upload_limit = self
            .max_file_size
            .saturating_add(self.max_file_size / 3 + 4)
            .saturating_add(limits::UPLOAD_OVERHEAD);
        let receiver = Receiver {
            intake: *self,
            limit: upload_limit,
        };
        // A multipart upload is read as it arrives, its file going straight to the spool
        // directory; an envelope too, through the file extractor when it is large; other
        // bodies are read whole, up to MAX_BUFFERED_BODY. The spool guard removes the file
        // however this ends.
        let received = match boundary {
            Some(boundary) if http_method == HttpMethod::Post && protocol == Protocol::Rest => {
                match receiver.multipart(body, &boundary).await {
                    Ok((fields, file)) => {
                        content_type = Some(crate::protocol::FORM_CONTENT_TYPE.to_owned());
                        let form = crate::form::form_encode(
                            fields
                                .iter()
                                .map(|(name, value)| (name.as_str(), value.as_str())),
                        );
                        Ok((Bytes::from(form), file))
                    }
                    Err(refused) => Err(refused),
                }
            }
            _ if http_method == HttpMethod::Post && protocol != Protocol::Rest => {
                receiver.envelope(body, protocol).await
            }
            _ => limits::read_limited(body, limits::MAX_BUFFERED_BODY, self.idle_timeout)
                .await
                .map(|bytes| (bytes, None)),
        };
        let (body, file) = match received {
            Ok(received) => received,
            Err(refused) => return Arrival::Answered(refused.into_response()),
        };
        if protocol == Protocol::Rest && limits::too_many_params(&body) {
            return Arrival::Answered(too_many_params());
        }
        Arrival::Request(Received {
            method: http_method,
            path: path.to_owned(),
            query: uri.query().unwrap_or_default().to_owned(),
            content_type,
            body,
            file,
        })
    }
}

fn too_many_params() -> Response {
    (
        StatusCode::BAD_REQUEST,
        format!("more than {} parameters", limits::MAX_PARAMS),
    )
        .into_response()
}

/// A file received into a spool file as it arrives: writes batched, its MD5 and length kept;
/// bytes past the largest file allowed are counted (the call then fails with error 2), not kept.
struct SpoolWriter {
    file: tokio::io::BufWriter<tokio::fs::File>,
    spool: Spool,
    length: u64,
    digest: md5::Md5,
    max_kept: u64,
}

impl SpoolWriter {
    async fn create(intake: &Intake<'_>) -> Result<SpoolWriter, BodyRefused> {
        let spool = Spool::in_dir(intake.spool_dir).map_err(|_| BodyRefused::Unreadable)?;
        let file = tokio::fs::File::create(spool.path())
            .await
            .map_err(|_| BodyRefused::Unreadable)?;
        Ok(SpoolWriter {
            // Batched: each write to a tokio file is a trip to the blocking pool.
            file: tokio::io::BufWriter::with_capacity(SPOOL_BUFFER, file),
            spool,
            length: 0,
            digest: md5::Md5::default(),
            max_kept: intake.max_file_size,
        })
    }

    async fn write(&mut self, data: &[u8]) -> Result<(), BodyRefused> {
        if self.length <= self.max_kept {
            self.file
                .write_all(data)
                .await
                .map_err(|_| BodyRefused::Unreadable)?;
            md5::Digest::update(&mut self.digest, data);
        }
        self.length = self
            .length
            .saturating_add(u64::try_from(data.len()).unwrap_or(u64::MAX));
        Ok(())
    }

    /// The received file, and the guard that removes it unless a document takes it.
    async fn finish(mut self, filename: Option<String>) -> Result<(FilePart, Spool), BodyRefused> {
        self.file
            .flush()
            .await
            .map_err(|_| BodyRefused::Unreadable)?;
        let md5 = crate::sign::hex(&md5::Digest::finalize(self.digest));
        let part = FilePart {
            filename,
            content: FileContent::Spooled {
                path: self.spool.path().to_owned(),
                length: self.length,
                md5,
            },
        };
        Ok((part, self.spool))
    }
}

/// What a body reader needs: where files go and how much a body may hold.
struct Receiver<'a> {
    intake: Intake<'a>,
    /// The most bytes an upload body may have.
    limit: u64,
}

impl Receiver<'_> {
    /// Reads a multipart body chunk by chunk: text fields in memory (within the reader's
    /// bounds), the file part into a spool file. A body that is not readable multipart gives
    /// no fields (the call then fails its checks); one announced beyond the limit is refused
    /// unread.
    async fn multipart(
        &self,
        body: Body,
        boundary: &str,
    ) -> Result<(Vec<(String, String)>, Option<(FilePart, Spool)>), BodyRefused> {
        limits::refuse_announced(&body, self.limit)?;
        let mut reader = crate::protocol::MultipartReader::new(boundary);
        let mut fields = Vec::new();
        let mut spool: Option<(SpoolWriter, Option<String>)> = None;
        let mut file = None;
        let mut stream = limits::paced(body, self.intake.idle_timeout);
        let mut received = 0u64;
        loop {
            let events = match stream.next().await {
                Some(Ok(chunk)) => {
                    received = received.saturating_add(chunk.len() as u64);
                    if received > self.limit {
                        return Err(BodyRefused::TooLarge);
                    }
                    reader.feed(&chunk)
                }
                Some(Err(_)) => return Err(BodyRefused::Unreadable),
                None => match reader.finish() {
                    Ok(_) => return Ok((fields, file)),
                    Err(_) => return Ok((Vec::new(), None)),
                },
            };
            let Ok(events) = events else {
                return Ok((Vec::new(), None));
            };
            for event in events {
                match event {
                    MultipartEvent::Field { name, value } => fields.push((name, value)),
                    MultipartEvent::FileStart { filename } => {
                        spool = Some((SpoolWriter::create(&self.intake).await?, filename));
                    }
                    MultipartEvent::FileData(data) => {
                        if let Some((writer, _)) = &mut spool {
                            writer.write(&data).await?;
                        }
                    }
                    MultipartEvent::FileEnd => {
                        if let Some((writer, filename)) = spool.take() {
                            file = Some(writer.finish(filename).await?);
                        }
                    }
                }
            }
        }
    }

    /// Reads a SOAP or XML-RPC body: whole when small; otherwise through the file extractor, the
    /// decoded file spooled and only the rest of the envelope kept. One announced beyond the
    /// limit is refused unread.
    async fn envelope(
        &self,
        body: Body,
        protocol: Protocol,
    ) -> Result<(Bytes, Option<(FilePart, Spool)>), BodyRefused> {
        limits::refuse_announced(&body, self.limit)?;
        let mut stream = limits::paced(body, self.intake.idle_timeout);
        let mut head = Vec::new();
        loop {
            match stream.next().await {
                Some(Ok(chunk)) => {
                    head.extend_from_slice(&chunk);
                    if head.len() > limits::MAX_BUFFERED_BODY {
                        break;
                    }
                }
                Some(Err(_)) => return Err(BodyRefused::Unreadable),
                None => return Ok((Bytes::from(head), None)),
            }
        }
        // Bytes no envelope parser accepts: an envelope that cannot be read becomes error 121
        // or 122.
        let unreadable = Ok((Bytes::from_static(b"<unreadable/>"), None));
        let Some(mut extractor) = crate::protocol::FileExtractor::new(protocol) else {
            return unreadable;
        };
        let mut writer = SpoolWriter::create(&self.intake).await?;
        let mut received = 0u64;
        let mut next = Some(Bytes::from(head));
        loop {
            let chunk = match next.take() {
                Some(chunk) => chunk,
                None => match stream.next().await {
                    Some(Ok(chunk)) => chunk,
                    Some(Err(_)) => return Err(BodyRefused::Unreadable),
                    None => break,
                },
            };
            received = received.saturating_add(chunk.len() as u64);
            if received > self.limit {
                return Err(BodyRefused::TooLarge);
            }
            let Ok(extracted) = extractor.feed(&chunk) else {
                return unreadable;
            };
            writer.write(&extracted.file).await?;
        }
        match extractor.finish() {
            Ok((envelope, true)) => Ok((Bytes::from(envelope), Some(writer.finish(None).await?))),
            Ok((envelope, false)) => Ok((Bytes::from(envelope), None)),
            Err(_) => unreadable,
        }
    }
}
