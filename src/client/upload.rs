//! Uploads: `client.upload(file).send().await`, with the file streamed on every transport (a
//! multipart part over REST, base64 produced chunk by chunk inside the SOAP or XML-RPC
//! envelope), an exact `Content-Length`, progress as a callback or a stream of events, and
//! cancellation by dropping the future or through a [`CancellationToken`].

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;
use futures_util::task::AtomicWaker;
use tokio::io::{AsyncRead, AsyncReadExt};
pub use tokio_util::sync::CancellationToken;

use super::{BodyStream, Client, interpret};
use crate::error::Error;
use crate::format::Format;
use crate::protocol::{FileEncoding, Protocol};
use crate::upload::{FileSource, UploadFile};
use crate::value::Value;

/// How much of the file is read at a time: large enough that reads from disk (each a trip to
/// tokio's blocking pool) do not limit throughput, a multiple of 3 so base64 pieces need no carry.
const CHUNK: usize = 3 * 349_526;

/// Where an upload stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// `bytes` of the `total` body bytes have been handed to the connection.
    Sent {
        /// Body bytes sent so far.
        bytes: u64,
        /// The whole body's length.
        total: u64,
    },
    /// The body is sent; the server is answering.
    Processing,
    /// The server answered with a ticket (and, for `async=0`, the document).
    Done {
        /// The ticket.
        ticket: Option<String>,
        /// The document, when the answer names it.
        doc_id: Option<u64>,
    },
}

type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// What `upload.file` answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Uploaded {
    /// The ticket to poll with `upload.checkTickets`.
    pub ticket: Option<String>,
    /// The document, when the answer names it (`async=0`).
    pub doc_id: Option<u64>,
    /// The whole payload.
    pub payload: Value,
}

/// One upload being prepared: [`Client::upload`].
///
/// ```
/// # use std::sync::Arc;
/// # use ipernity::client::{HttpResponse, test_util::CapturingSender};
/// use ipernity::upload::{UploadFile, Visibility};
/// use ipernity::{Client, Protocol};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ipernity::Error> {
/// # let sender = Arc::new(CapturingSender::new(HttpResponse::new(200,
/// #     r#"<?xml version="1.0"?><api status="ok"><ticket>7-42</ticket></api>"#)));
/// # let client = Client::builder().credentials("k", "s").token("t").sender(sender.clone()).build()?;
/// let photo = UploadFile::from_bytes("car.jpg", b"jpeg bytes".to_vec())
///     .title("Nice car")
///     .visibility(Visibility::Public);
/// let uploaded = client
///     .upload(photo)
///     .protocol(Protocol::Soap) // the file travels base64-encoded in a SOAP <file>
///     .format("xml".parse()?)
///     .send()
///     .await?;
/// assert_eq!(uploaded.ticket.as_deref(), Some("7-42"));
/// # assert!(String::from_utf8_lossy(&sender.requests()[0].body).contains("<file xsi:type"));
/// # Ok(()) }
/// ```
#[must_use = "an upload does nothing until `.send().await`"]
pub struct UploadBuilder {
    client: Client,
    file: UploadFile,
    protocol: Option<Protocol>,
    format: Option<Format>,
    progress: Option<ProgressFn>,
    cancel: Option<CancellationToken>,
    max_size: Option<u64>,
}

impl fmt::Debug for UploadBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UploadBuilder")
            .field("file", &self.file)
            .field("protocol", &self.protocol)
            .field("format", &self.format)
            .field("cancel", &self.cancel)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts an upload (`upload.file`, or `upload.replace` for [`UploadFile::replacing`]).
    pub fn upload(&self, file: UploadFile) -> UploadBuilder {
        UploadBuilder {
            client: self.clone(),
            file,
            protocol: None,
            format: None,
            progress: None,
            cancel: None,
            max_size: None,
        }
    }

    /// The calling user's upload quota (`account.getQuota`), for
    /// [`UploadBuilder::within_quota`].
    pub async fn upload_quota(&self) -> Result<Quota, Error> {
        let payload = self.call("account.getQuota").send().await?;
        let quota = payload.get("quota").unwrap_or(&payload);
        let upload = quota.get("upload");
        let unlimited = upload
            .and_then(|u| u.get("unlimited"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let bytes = |amount: Option<&Value>| amount?.get("bytes")?.as_u64();
        let left_bytes = if unlimited {
            None
        } else {
            bytes(upload.and_then(|u| u.get("left")))
        };
        // The service decides a file's kind itself, so only the largest limit is certain.
        let max_file_bytes = quota
            .get("maxfilesize")
            .and_then(Value::as_map)
            .and_then(|kinds| kinds.values().filter_map(|kind| bytes(Some(kind))).max());
        Ok(Quota {
            left_bytes,
            max_file_bytes,
        })
    }
}

/// What the service lets the user upload (`account.getQuota`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Quota {
    /// Bytes left this period; `None` for accounts whose quota is raised as they reach it.
    pub left_bytes: Option<u64>,
    /// The largest file accepted (of any kind).
    pub max_file_bytes: Option<u64>,
}

impl Quota {
    /// The largest upload the quota allows now, when it is known.
    pub fn max_upload(&self) -> Option<u64> {
        match (self.left_bytes, self.max_file_bytes) {
            (Some(left), Some(max)) => Some(left.min(max)),
            (left, max) => left.or(max),
        }
    }
}

impl UploadBuilder {
    /// Sends this upload over `protocol` instead of the client's.
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// Asks for `format` instead of the client's.
    pub fn format(mut self, format: Format) -> Self {
        self.format = Some(format);
        self
    }

    /// Calls `report` with each step: bytes sent of the total, then processing, then the answer.
    pub fn on_progress(mut self, report: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(report));
        self
    }

    /// Refuses, before anything is sent, a file larger than `quota` allows (the service would
    /// answer error 2 after the whole file was sent).
    pub fn within_quota(mut self, quota: &Quota) -> Self {
        self.max_size = quota.max_upload();
        self
    }

    /// Ends the upload with [`Error::Cancelled`] as soon as `token` is cancelled. A body cut
    /// off before its last byte leaves nothing on the server (it never receives a whole
    /// request); the error says whether the whole body had already gone out.
    pub fn cancel_on(mut self, token: CancellationToken) -> Self {
        self.cancel = Some(token);
        self
    }

    /// Sends the upload and returns, next to the upload itself, a [`Stream`] of its progress
    /// events. Successive [`Progress::Sent`] events that the reader has not taken yet are merged
    /// into the latest, so a slow reader costs no memory; [`Progress::Processing`] and
    /// [`Progress::Done`] are never dropped. The stream ends when the upload ends. A callback
    /// given with [`on_progress`](Self::on_progress) is still called.
    ///
    /// ```no_run
    /// # async fn demo(client: ipernity::Client) -> Result<(), ipernity::Error> {
    /// use futures_util::StreamExt;
    /// use ipernity::upload::UploadFile;
    ///
    /// let (mut events, upload) = client.upload(UploadFile::from_path("photo.jpg")).send_with_events();
    /// let printer = async {
    ///     while let Some(event) = events.next().await {
    ///         println!("{event:?}");
    ///     }
    /// };
    /// let (uploaded, ()) = futures_util::future::join(upload, printer).await;
    /// println!("ticket {:?}", uploaded?.ticket);
    /// # Ok(())
    /// # }
    /// ```
    pub fn send_with_events(
        mut self,
    ) -> (
        ProgressEvents,
        impl Future<Output = Result<Uploaded, Error>> + Send + 'static,
    ) {
        let queue = Arc::new(EventQueue::default());
        let sender = EventSender(Arc::clone(&queue));
        let callback = self.progress.take();
        self.progress = Some(Arc::new(move |event: &Progress| {
            sender.push(event.clone());
            if let Some(callback) = &callback {
                callback(event);
            }
        }));
        (ProgressEvents { queue }, self.send())
    }

    /// Validates, signs and sends the upload. Nothing is sent when a parameter or the file is
    /// refused. An upload is repeated on its own only when its connection never opened and the
    /// file can be read again (a path or bytes, not a reader); a failure after the connection
    /// opened says the request may have been sent.
    ///
    /// Dropping the future cancels the upload like [`cancel_on`](Self::cancel_on) does.
    ///
    /// # Errors
    ///
    /// - before anything is sent: [`Error::InvalidParam`] for a parameter, an empty or
    ///   unreadable file, or a file beyond the known quota; [`Error::TokenRequired`],
    ///   [`Error::PermissionMissing`];
    /// - [`Error::Api`]: the service refused the upload (`upload.file`'s errors 1 to 4, or a
    ///   global one);
    /// - [`Error::Cancelled`], saying whether the whole request had been sent;
    /// - [`Error::Connection`] (a stall past the upload timeout says `timed_out`), and the
    ///   answer errors of [`CallBuilder::send`](super::CallBuilder::send).
    pub async fn send(mut self) -> Result<Uploaded, Error> {
        let clock = Arc::new(ProgressClock::new());
        let client = self.client.clone();
        let redactor = &client.inner.redactor;
        let Some(token) = self.cancel.take() else {
            return self.run(clock).await.map_err(|error| redactor.error(error));
        };
        if token.is_cancelled() {
            return Err(Error::Cancelled {
                may_have_been_sent: false,
            });
        }
        let run = std::pin::pin!(self.run(Arc::clone(&clock)));
        let cancelled = std::pin::pin!(token.cancelled());
        match futures_util::future::select(run, cancelled).await {
            futures_util::future::Either::Left((outcome, _)) => {
                outcome.map_err(|error| redactor.error(error))
            }
            futures_util::future::Either::Right(((), _)) => Err(Error::Cancelled {
                may_have_been_sent: clock.body_sent.load(Ordering::Relaxed),
            }),
        }
    }

    async fn run(self, clock: Arc<ProgressClock>) -> Result<Uploaded, Error> {
        let inner = &self.client.inner;
        let call = self.file.call()?;
        let method = self.file.method_name();
        if let Some(info) = crate::methods::lookup(method) {
            crate::methods::validate(info, call.params(), crate::methods::Validation::Strict)?;
            inner.preflight(info)?;
        }
        let length = self.file.validate(self.max_size)?;
        let mut protocol = self.protocol.unwrap_or(inner.protocol);
        if inner.uploads_over_rest {
            protocol = Protocol::Rest;
        }
        let transport = protocol.transport();
        let format = self
            .format
            .or(inner.format)
            .filter(|f| transport.formats().contains(f))
            .unwrap_or(transport.default_format());
        // OAuth covers a multipart upload's fields (never the file); an envelope's fields are
        // not a form, so only the URL and the oauth parameters are signed there.
        let fields: Vec<(String, String)> = if protocol == Protocol::Rest {
            call.params()
                .iter()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect()
        } else {
            Vec::new()
        };
        let mut envelope = transport.encode_upload(
            &inner.endpoint,
            &inner.prepare(call),
            self.file.filename(),
            Some(format),
        )?;
        inner.sign_oauth(&mut envelope.head, &fields)?;
        let mut source = Source::from(self.file.into_source());
        let started = std::time::Instant::now();
        let mut retry = 0u32;
        let (response, sent) = loop {
            let sent = inner.pace.admit().await;
            let reader = source.open().await?;
            let outcome = attempt(
                inner,
                &envelope,
                reader,
                length,
                self.progress.clone(),
                Arc::clone(&clock),
            )
            .await;
            // Nothing left: the file can be sent again if it can be read again.
            let never_left = matches!(
                outcome,
                Err(Error::Connection {
                    may_have_been_sent: false,
                    ..
                })
            );
            let delay = (never_left && source.reopens())
                .then(|| inner.retry.next_delay(retry, started, None))
                .flatten();
            match (outcome, delay) {
                (Err(error), Some(delay)) => {
                    let error = inner.redactor.error(error);
                    tracing::warn!(retry = retry + 1, delay_ms = delay.as_millis() as u64, error = %error, "retrying an upload that was not sent");
                    tokio::time::sleep(delay).await;
                    retry += 1;
                }
                (outcome, _) => break (outcome?, sent),
            }
        };
        let retry_after = super::retry_after(&response);
        let payload = interpret(response, format);
        inner.pace.heed(&payload, retry_after, sent);
        let payload = payload.map_err(|e| super::answering(e, method))?;
        let ticket = payload
            .get("ticket")
            .and_then(Value::to_text)
            .map(|t| t.into_owned());
        let doc_id = payload.get("doc_id").and_then(Value::as_u64);
        if let Some(report) = &self.progress {
            report(&Progress::Done {
                ticket: ticket.clone(),
                doc_id,
            });
        }
        Ok(Uploaded {
            ticket,
            doc_id,
            payload,
        })
    }
}

/// Where an upload's bytes come from, and whether they can be read again for a retry.
enum Source {
    Path(std::path::PathBuf),
    Bytes(Bytes),
    Once(Option<Box<dyn AsyncRead + Send + Unpin>>),
}

impl From<FileSource> for Source {
    fn from(source: FileSource) -> Source {
        match source {
            FileSource::Path(path) => Source::Path(path),
            FileSource::Bytes(bytes) => Source::Bytes(Bytes::from(bytes)),
            FileSource::Reader { reader, .. } => Source::Once(Some(reader)),
        }
    }
}

impl Source {
    fn reopens(&self) -> bool {
        !matches!(self, Source::Once(_))
    }

    async fn open(&mut self) -> Result<Box<dyn AsyncRead + Send + Unpin>, Error> {
        match self {
            Source::Path(path) => {
                Ok(Box::new(tokio::fs::File::open(&path).await.map_err(
                    |e| Error::invalid_param("file", format!("{}: {e}", path.display())),
                )?))
            }
            Source::Bytes(bytes) => Ok(Box::new(std::io::Cursor::new(bytes.clone()))),
            Source::Once(reader) => reader
                .take()
                .ok_or_else(|| Error::invalid_param("file", "a reader can be sent only once")),
        }
    }
}

/// Sends the upload once: the body streamed from `reader`, watched for stalls.
async fn attempt(
    inner: &super::Inner,
    envelope: &crate::protocol::UploadEnvelope,
    reader: Box<dyn AsyncRead + Send + Unpin>,
    length: u64,
    progress: Option<ProgressFn>,
    clock: Arc<ProgressClock>,
) -> Result<super::HttpResponse, Error> {
    let deadlines = (inner.upload_timeout, inner.call_timeout);
    stream_envelope(
        &*inner.sender,
        envelope,
        reader,
        length,
        progress,
        clock,
        deadlines,
    )
    .await
}

/// Sends an upload envelope once, `length` bytes of file streamed from `reader` between its
/// parts, with no deadline on the whole transfer: it fails when the body makes no progress for
/// `inactivity`, or no answer comes `answer_timeout` after the body is out. Memory stays at one
/// chunk whatever the file's size.
#[cfg(feature = "bridge")]
pub(crate) async fn send_envelope(
    sender: &dyn super::HttpSender,
    envelope: &crate::protocol::UploadEnvelope,
    reader: Box<dyn AsyncRead + Send + Unpin>,
    length: u64,
    inactivity: Duration,
    answer_timeout: Duration,
) -> Result<super::HttpResponse, Error> {
    let clock = Arc::new(ProgressClock::new());
    let deadlines = (inactivity, answer_timeout);
    stream_envelope(sender, envelope, reader, length, None, clock, deadlines).await
}

async fn stream_envelope(
    sender: &dyn super::HttpSender,
    envelope: &crate::protocol::UploadEnvelope,
    reader: Box<dyn AsyncRead + Send + Unpin>,
    length: u64,
    progress: Option<ProgressFn>,
    clock: Arc<ProgressClock>,
    (inactivity, answer_timeout): (Duration, Duration),
) -> Result<super::HttpResponse, Error> {
    clock.tick();
    let total = envelope.content_length(length);
    let body = body_stream(BodyState {
        stage: Stage::Before,
        before: Bytes::from(envelope.before.clone()),
        after: Bytes::from(envelope.after.clone()),
        reader,
        encoding: envelope.encoding,
        expected: length,
        read: 0,
        sent: 0,
        total,
        progress,
        clock: Arc::clone(&clock),
    });
    // The transfer as a whole has no deadline; the watchdog ends a stalled one.
    let send = std::pin::pin!(sender.send_stream(envelope.head.clone(), total, body, NO_DEADLINE));
    let stall = std::pin::pin!(watchdog(&clock, inactivity, answer_timeout));
    match futures_util::future::select(send, stall).await {
        futures_util::future::Either::Left((response, _)) => response.map_err(Error::from),
        futures_util::future::Either::Right((stalled, _)) => Err(Error::Connection {
            may_have_been_sent: true,
            timed_out: true,
            source: stalled.into(),
        }),
    }
}

/// What stands in for "no deadline" on the whole transfer.
const NO_DEADLINE: Duration = Duration::from_secs(365 * 24 * 3600);

/// When the body last made progress, and whether it is all sent.
struct ProgressClock {
    start: tokio::time::Instant,
    last_millis: AtomicU64,
    body_sent: AtomicBool,
}

impl ProgressClock {
    fn new() -> ProgressClock {
        ProgressClock {
            start: tokio::time::Instant::now(),
            last_millis: AtomicU64::new(0),
            body_sent: AtomicBool::new(false),
        }
    }

    fn tick(&self) {
        let now = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_millis.store(now, Ordering::Relaxed);
    }

    fn idle(&self) -> Duration {
        let last = Duration::from_millis(self.last_millis.load(Ordering::Relaxed));
        self.start.elapsed().saturating_sub(last)
    }
}

/// Resolves when the upload has stalled: no body progress for `inactivity` while sending, or no
/// answer for `answer_timeout` once the body is out.
async fn watchdog(clock: &ProgressClock, inactivity: Duration, answer_timeout: Duration) -> String {
    let step = (inactivity.min(answer_timeout) / 4)
        .clamp(Duration::from_millis(10), Duration::from_secs(1));
    loop {
        tokio::time::sleep(step).await;
        let sent = clock.body_sent.load(Ordering::Relaxed);
        let limit = if sent { answer_timeout } else { inactivity };
        if clock.idle() > limit {
            return if sent {
                format!(
                    "no answer {} s after the upload was sent",
                    limit.as_secs_f64()
                )
            } else {
                format!(
                    "the upload stalled: no progress for {} s",
                    limit.as_secs_f64()
                )
            };
        }
    }
}

/// What the body stream is producing.
enum Stage {
    Before,
    File,
    After,
    Done,
}

struct BodyState {
    stage: Stage,
    before: Bytes,
    after: Bytes,
    reader: Box<dyn AsyncRead + Send + Unpin>,
    encoding: FileEncoding,
    expected: u64,
    read: u64,
    sent: u64,
    total: u64,
    progress: Option<ProgressFn>,
    clock: Arc<ProgressClock>,
}

impl BodyState {
    fn report(&mut self, chunk: &Bytes) {
        self.sent += u64::try_from(chunk.len()).unwrap_or(u64::MAX);
        self.clock.tick();
        if self.sent == self.total {
            self.clock.body_sent.store(true, Ordering::Relaxed);
        }
        if let Some(report) = &self.progress {
            report(&Progress::Sent {
                bytes: self.sent,
                total: self.total,
            });
            if self.sent == self.total {
                report(&Progress::Processing);
            }
        }
    }

    /// The next piece of the file, encoded; `None` at its end.
    async fn next_file_chunk(&mut self) -> std::io::Result<Option<Bytes>> {
        // A fresh buffer each time: a raw chunk is handed on without a copy.
        let mut buffer = vec![0; CHUNK];
        let mut filled = 0;
        // Fill whole chunks so base64 pieces always cover a multiple of 3 bytes.
        while filled < CHUNK {
            let slot = buffer.get_mut(filled..).unwrap_or_default();
            let n = self.reader.read(slot).await?;
            if n == 0 {
                break;
            }
            filled += n;
            // The stream is only read when the connection takes more: reading is progress.
            self.clock.tick();
        }
        self.read += u64::try_from(filled).unwrap_or(u64::MAX);
        if self.read > self.expected || (filled < CHUNK && self.read != self.expected) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "the file yielded {} bytes, {} were announced",
                    self.read, self.expected
                ),
            ));
        }
        if filled == 0 {
            return Ok(None);
        }
        buffer.truncate(filled);
        Ok(Some(match self.encoding {
            FileEncoding::Raw => Bytes::from(buffer),
            FileEncoding::Base64 => {
                use base64::Engine;
                Bytes::from(base64::engine::general_purpose::STANDARD.encode(&buffer))
            }
        }))
    }
}

/// The upload body: `before`, the file read chunk by chunk (and encoded), `after`. Memory stays
/// at one chunk whatever the file's size.
fn body_stream(state: BodyState) -> BodyStream {
    Box::pin(futures_util::stream::unfold(
        state,
        |mut state| async move {
            loop {
                let chunk = match state.stage {
                    Stage::Before => {
                        state.stage = Stage::File;
                        std::mem::take(&mut state.before)
                    }
                    Stage::File => match state.next_file_chunk().await {
                        Ok(Some(chunk)) => chunk,
                        Ok(None) => {
                            state.stage = Stage::After;
                            continue;
                        }
                        Err(error) => {
                            state.stage = Stage::Done;
                            return Some((Err(error), state));
                        }
                    },
                    Stage::After => {
                        state.stage = Stage::Done;
                        std::mem::take(&mut state.after)
                    }
                    Stage::Done => return None,
                };
                if chunk.is_empty() {
                    continue;
                }
                state.report(&chunk);
                return Some((Ok(chunk), state));
            }
        },
    ))
}

/// The events of [`UploadBuilder::send_with_events`], as a [`Stream`].
pub struct ProgressEvents {
    queue: Arc<EventQueue>,
}

impl fmt::Debug for ProgressEvents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProgressEvents").finish_non_exhaustive()
    }
}

/// Events not yet taken, and whether the upload has ended. At most a handful are ever held:
/// consecutive `Sent` events are merged.
#[derive(Default)]
struct EventQueue {
    events: std::sync::Mutex<VecDeque<Progress>>,
    closed: AtomicBool,
    waker: AtomicWaker,
}

/// The upload's side of the queue; dropping it (the upload ended) ends the stream.
struct EventSender(Arc<EventQueue>);

impl EventSender {
    fn push(&self, event: Progress) {
        if let Ok(mut events) = self.0.events.lock() {
            match (events.back_mut(), &event) {
                (Some(last @ Progress::Sent { .. }), Progress::Sent { .. }) => *last = event,
                _ => events.push_back(event),
            }
        }
        self.0.waker.wake();
    }
}

impl Drop for EventSender {
    fn drop(&mut self) {
        self.0.closed.store(true, Ordering::Release);
        self.0.waker.wake();
    }
}

impl Stream for ProgressEvents {
    type Item = Progress;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Progress>> {
        let queue = &self.queue;
        // Registered before looking, so an event pushed in between still wakes this task.
        queue.waker.register(cx.waker());
        let closed = queue.closed.load(Ordering::Acquire);
        let next = queue.events.lock().ok().and_then(|mut e| e.pop_front());
        match next {
            Some(event) => Poll::Ready(Some(event)),
            None if closed => Poll::Ready(None),
            None => Poll::Pending,
        }
    }
}
