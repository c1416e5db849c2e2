//! The client without async: [`Client`] offers the same typed API, dynamic calls and uploads
//! as [`crate::Client`], each call returning when its answer is read.
//!
//! Built as `reqwest::blocking` is: the client runs an async runtime on a thread of its own and
//! every call waits for its result there, so it works from plain `main` and from threads, and
//! fails with the same [`Error`] as the async client. (Do not call it from async code: waiting
//! would block that code's runtime; use [`crate::Client`] there.)
//!
//! ```no_run
//! use ipernity::blocking::Client;
//! use ipernity::codes::Extra;
//! use ipernity::ids::{DocId, UserId};
//!
//! let client = Client::new(
//!     ipernity::Client::builder().credentials("my-api-key", "my-secret").token("user-token"),
//! )?;
//! let doc = client.doc().get(DocId::new(42)).extra(&[Extra::Tags]).send()?;
//! println!("{:?}", doc.title);
//! for doc in client.doc().get_list(UserId::new(7)).items() {
//!     println!("{}", doc?.doc_id);
//! }
//! # Ok::<(), ipernity::Error>(())
//! ```

use std::future::Future;
use std::sync::Arc;
use std::thread::JoinHandle;

use futures_util::StreamExt;

use crate::answers::Page;
use crate::api::{Items, Pages};
use crate::call::ParamValue;
use crate::client::{ClientBuilder, Uploaded};
use crate::error::Error;
use crate::format::Format;
use crate::protocol::Protocol;
use crate::upload::UploadFile;
use crate::value::Value;

mod generated;

pub use generated::*;

/// The thread that runs the client's async work, stopped when the last clone is dropped.
#[derive(Debug)]
struct RuntimeThread {
    handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for RuntimeThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop.send(()).ok();
        }
        if let Some(thread) = self.thread.take() {
            thread.join().ok();
        }
    }
}

/// A handle on the runtime thread, cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Runtime(Arc<RuntimeThread>);

impl Runtime {
    fn start() -> Result<Runtime, Error> {
        let (ready, handle) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("ipernity-blocking".to_owned())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                match runtime {
                    Ok(runtime) => {
                        ready.send(Ok(runtime.handle().clone())).ok();
                        // Runs the calls spawned on it until the client is dropped.
                        runtime.block_on(async {
                            stopped.await.ok();
                        });
                    }
                    Err(error) => {
                        ready.send(Err(error)).ok();
                    }
                }
            })
            .map_err(|_| Error::Runtime("its thread could not start"))?;
        let handle = handle
            .recv()
            .map_err(|_| Error::Runtime("its thread ended before starting"))?
            .map_err(|_| Error::Runtime("the async runtime could not be built"))?;
        Ok(Runtime(Arc::new(RuntimeThread {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        })))
    }

    /// Runs `work` on the runtime thread and waits for its result.
    pub(crate) fn block_on<T: Send + 'static>(
        &self,
        work: impl Future<Output = T> + Send + 'static,
    ) -> Result<T, Error> {
        let (done, result) = std::sync::mpsc::sync_channel(1);
        self.0.handle.spawn(async move {
            done.send(work.await).ok();
        });
        // The task sends unless the runtime stopped (only a dropped client stops it, and this
        // call holds a clone) or the work panicked.
        result
            .recv()
            .map_err(|_| Error::Runtime("it stopped before the call ended"))
    }
}

/// The client without async. Cheap to clone (two `Arc`s); every clone shares the runtime
/// thread, the connections, the rate limit and the slowdown.
#[derive(Debug, Clone)]
pub struct Client {
    client: crate::client::Client,
    runtime: Runtime,
}

impl Client {
    /// A client configured by `builder`.
    ///
    /// # Errors
    ///
    /// What [`ClientBuilder::build`] refuses, and [`Error::InvalidParam`] naming `blocking`
    /// when the runtime thread cannot start.
    pub fn new(builder: ClientBuilder) -> Result<Client, Error> {
        let client = builder.build()?;
        Ok(Client {
            client,
            runtime: Runtime::start()?,
        })
    }

    /// A client configured from the `IPERNITY_*` variables, as [`crate::Client::from_env`].
    ///
    /// # Errors
    ///
    /// As [`crate::Client::from_env`].
    pub fn from_env() -> Result<Client, Error> {
        Client::new(crate::client::Client::builder_from(|name| {
            std::env::var(name).ok()
        })?)
    }

    /// The async client underneath, for code that has a runtime of its own.
    pub fn async_client(&self) -> &crate::client::Client {
        &self.client
    }

    /// Starts a call of any method, by name.
    pub fn call(&self, method: impl Into<String>) -> CallBuilder {
        CallBuilder {
            inner: self.client.call(method),
            runtime: self.runtime.clone(),
        }
    }

    /// Uploads a file (`upload.file`, or `upload.replace` for [`UploadFile::replacing`]).
    ///
    /// # Errors
    ///
    /// As [`crate::client::UploadBuilder::send`].
    pub fn upload(&self, file: UploadFile) -> Result<Uploaded, Error> {
        self.runtime.block_on(self.client.upload(file).send())?
    }
}

/// A call of a method named at run time: [`Client::call`].
#[must_use = "a call does nothing until `.send()`"]
#[derive(Debug)]
pub struct CallBuilder {
    inner: crate::client::CallBuilder,
    runtime: Runtime,
}

impl CallBuilder {
    /// Adds a parameter.
    pub fn param(self, name: impl Into<String>, value: impl ParamValue) -> Self {
        CallBuilder {
            inner: self.inner.param(name, value),
            runtime: self.runtime,
        }
    }

    /// Over `protocol` instead of the client's.
    pub fn protocol(self, protocol: Protocol) -> Self {
        CallBuilder {
            inner: self.inner.protocol(protocol),
            runtime: self.runtime,
        }
    }

    /// Asks for `format` instead of the client's.
    pub fn format(self, format: Format) -> Self {
        CallBuilder {
            inner: self.inner.format(format),
            runtime: self.runtime,
        }
    }

    /// Sends the call and returns the payload.
    ///
    /// # Errors
    ///
    /// As [`crate::client::CallBuilder::send`].
    pub fn send(self) -> Result<Value, Error> {
        self.runtime.block_on(self.inner.send())?
    }

    /// Every item of a paged method's list, each once, in order.
    ///
    /// # Errors
    ///
    /// As [`crate::client::CallBuilder::items`].
    pub fn items(self) -> Result<ItemsIter<Value>, Error> {
        let items = self.inner.items()?;
        Ok(ItemsIter::new(items, self.runtime))
    }
}

/// Every page of a paged list, in order: an [`Iterator`] of `Result<Page<T>, Error>`.
#[must_use = "an iterator does nothing until iterated"]
#[derive(Debug)]
pub struct PagesIter<T> {
    pages: Option<Pages<T>>,
    runtime: Runtime,
}

impl<T: Send + 'static> PagesIter<T> {
    pub(crate) fn new(pages: Pages<T>, runtime: Runtime) -> Self {
        PagesIter {
            pages: Some(pages),
            runtime,
        }
    }

    /// Fetches up to `pages` pages at once (4 by default), as [`Pages::concurrency`].
    pub fn concurrency(mut self, pages: usize) -> Self {
        self.pages = self.pages.map(|p| p.concurrency(pages));
        self
    }
}

impl<T: Send + 'static> Iterator for PagesIter<T> {
    type Item = Result<Page<T>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut pages = self.pages.take()?;
        match self.runtime.block_on(async move {
            let next = pages.next().await;
            (next, pages)
        }) {
            Ok((next, pages)) => {
                self.pages = Some(pages);
                next
            }
            Err(error) => Some(Err(error)),
        }
    }
}

/// Every item of a paged list, each once, in order: an [`Iterator`] of `Result<T, Error>`.
#[must_use = "an iterator does nothing until iterated"]
#[derive(Debug)]
pub struct ItemsIter<T> {
    items: Option<Items<T>>,
    runtime: Runtime,
}

impl<T: Send + 'static> ItemsIter<T> {
    pub(crate) fn new(items: Items<T>, runtime: Runtime) -> Self {
        ItemsIter {
            items: Some(items),
            runtime,
        }
    }
}

impl<T: Send + 'static> Iterator for ItemsIter<T> {
    type Item = Result<T, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut items = self.items.take()?;
        match self.runtime.block_on(async move {
            let next = items.next().await;
            (next, items)
        }) {
            Ok((next, items)) => {
                self.items = Some(items);
                next
            }
            Err(error) => Some(Err(error)),
        }
    }
}
