//! Walking a paged list: [`Pages`] yields every page in order, [`Items`] every item once.
//!
//! The first page says how many there are; the rest are then fetched a few at a time
//! ([`Pages::concurrency`], 4 unless set) and still yielded in page order. Unless the call sets
//! `per_page`, each page holds as many items as the method allows (its documented maximum), so
//! a walk makes as few calls as it can.
//!
//! What a list that changes while it is walked does: a page that comes back empty is yielded
//! as it is (the list shrank); a later page that says there are more pages than the first one
//! did extends the walk (the list grew); an item pushed from one page onto the next by an
//! insertion is yielded once by [`Items`]. A list that does not say how many pages it has is
//! walked one page at a time until a page holds fewer items than asked for. A page that fails
//! (after the client's retries) ends the walk with [`Error::Page`], naming it.
//!
//! ```no_run
//! # async fn run(client: ipernity::Client) -> Result<(), ipernity::Error> {
//! use ipernity::StreamExt;
//! use ipernity::ids::UserId;
//!
//! let mut docs = client.doc().get_list(UserId::new(7)).items();
//! while let Some(doc) = docs.next().await {
//!     println!("{}", doc?.doc_id);
//! }
//! # Ok(()) }
//! ```

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::stream::{self, BoxStream, FuturesOrdered};
use futures_util::{Stream, StreamExt};
use serde::de::DeserializeOwned;

use super::{decode, into_root};
use crate::answers::{IntoPage, Keyed, Page};
use crate::client::CallBuilder;
use crate::error::Error;
use crate::methods;
use crate::value::Value;

/// How many pages are fetched at once unless [`Pages::concurrency`] says otherwise.
pub const DEFAULT_CONCURRENCY: usize = 4;

type PageFuture<T> = Pin<Box<dyn Future<Output = (u64, Result<Page<T>, Error>)> + Send>>;
type Fetch<T> = Arc<dyn Fn(u64) -> PageFuture<T> + Send + Sync>;
/// Reads a page out of a method's answer payload.
type Reader<T> = Arc<dyn Fn(Value) -> Result<Page<T>, Error> + Send + Sync>;
/// Tells an item from the others, when it can be told.
type KeyOf<T> = fn(&T) -> Option<u64>;

/// Every page of a paged list, in order: a [`Stream`] of `Result<Page<T>, Error>`.
#[must_use = "a stream does nothing until polled"]
pub struct Pages<T> {
    fetch: Option<Fetch<T>>,
    concurrency: usize,
    running: Option<BoxStream<'static, Result<Page<T>, Error>>>,
    key_of: KeyOf<T>,
}

impl<T> std::fmt::Debug for Pages<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pages")
            .field("concurrency", &self.concurrency)
            .field("started", &self.running.is_some())
            .finish()
    }
}

impl<T: Send + 'static> Pages<T> {
    /// A walk of `method`'s list: `call` with `page` set for each page, its answer's `root`
    /// read as `A`.
    pub(crate) fn new<A>(
        call: CallBuilder,
        method: &'static str,
        root: &'static str,
        max_per_page: u32,
    ) -> Pages<T>
    where
        A: IntoPage<Item = T> + DeserializeOwned + Send + 'static,
        T: Keyed,
    {
        let reader: Reader<T> = Arc::new(move |payload: Value| {
            decode::<A>(into_root(payload, root)?).map(IntoPage::into_page)
        });
        Pages::with_reader(call, method, max_per_page, reader, |item: &T| {
            Some(item.key())
        })
    }

    fn with_reader(
        call: CallBuilder,
        method: &'static str,
        max_per_page: u32,
        reader: Reader<T>,
        key_of: KeyOf<T>,
    ) -> Pages<T> {
        let call = match call.has_param("per_page") {
            true => call,
            false => call.param("per_page", max_per_page),
        };
        let fetch: Fetch<T> = Arc::new(move |page: u64| {
            let call = call.clone().param("page", page);
            let reader = Arc::clone(&reader);
            Box::pin(async move {
                let outcome = match call.send().await {
                    Ok(payload) => reader(payload),
                    Err(error) => Err(error),
                };
                let outcome = outcome.map_err(|error| Error::Page {
                    method,
                    page,
                    source: Box::new(error),
                });
                (page, outcome)
            })
        });
        Pages {
            fetch: Some(fetch),
            concurrency: DEFAULT_CONCURRENCY,
            running: None,
            key_of,
        }
    }

    /// Fetches up to `pages` pages at once (at least 1; 4 by default). Set it before the
    /// first page is asked for.
    pub fn concurrency(mut self, pages: usize) -> Self {
        self.concurrency = pages.max(1);
        self
    }

    /// Every item of every page, each once, in page order.
    pub fn items(self) -> Items<T> {
        let mut seen = HashSet::new();
        let key_of = self.key_of;
        let items = self
            .flat_map(|page| match page {
                Ok(page) => stream::iter(page.items.into_iter().map(Ok)).left_stream(),
                Err(error) => stream::iter([Err(error)]).right_stream(),
            })
            .filter(move |item| {
                let fresh = match item {
                    Ok(item) => key_of(item).is_none_or(|key| seen.insert(key)),
                    Err(_) => true,
                };
                std::future::ready(fresh)
            })
            .boxed();
        Items { inner: items }
    }
}

impl<T: Send + 'static> Stream for Pages<T> {
    type Item = Result<Page<T>, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.running.is_none() {
            match self.fetch.take() {
                Some(fetch) => {
                    let concurrency = self.concurrency;
                    self.running = Some(walk(fetch, concurrency).fuse().boxed());
                }
                None => return Poll::Ready(None),
            }
        }
        match &mut self.running {
            Some(running) => running.poll_next_unpin(cx),
            None => Poll::Ready(None),
        }
    }
}

/// Every item of a paged list, each once, in order: a [`Stream`] of `Result<T, Error>`.
#[must_use = "a stream does nothing until polled"]
pub struct Items<T> {
    inner: BoxStream<'static, Result<T, Error>>,
}

impl<T> std::fmt::Debug for Items<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Items")
    }
}

impl<T> Stream for Items<T> {
    type Item = Result<T, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}

/// Where a walk stands.
enum Walk<T> {
    Start,
    Walking {
        in_flight: FuturesOrdered<PageFuture<T>>,
        /// The next page to ask for.
        next: u64,
        /// The last page, when the list says how many there are.
        last: Option<u64>,
        /// How many items a full page holds.
        per_page: u64,
    },
    Done,
}

fn walk<T: Send + 'static>(
    fetch: Fetch<T>,
    concurrency: usize,
) -> impl Stream<Item = Result<Page<T>, Error>> + Send {
    stream::unfold(Walk::Start, move |state| {
        let fetch = Arc::clone(&fetch);
        async move {
            match state {
                Walk::Done => None,
                Walk::Start => match fetch(1).await {
                    (_, Err(error)) => Some((Err(error), Walk::Done)),
                    (_, Ok(page)) => {
                        let per_page = page.per_page.unwrap_or(page.items.len() as u64);
                        let mut in_flight = FuturesOrdered::new();
                        let last = page.page_count();
                        let mut next = 2;
                        if last.is_none() && is_full(&page, per_page) {
                            in_flight.push_back(fetch(next));
                            next += 1;
                        }
                        let state = Walk::Walking {
                            in_flight,
                            next,
                            last,
                            per_page,
                        };
                        Some((Ok(page), state))
                    }
                },
                Walk::Walking {
                    mut in_flight,
                    mut next,
                    mut last,
                    per_page,
                } => {
                    while in_flight.len() < concurrency && last.is_some_and(|last| next <= last) {
                        in_flight.push_back(fetch(next));
                        next += 1;
                    }
                    let (_, outcome) = in_flight.next().await?;
                    match outcome {
                        Err(error) => Some((Err(error), Walk::Done)),
                        Ok(page) => {
                            match (last, page.page_count()) {
                                // The list grew while it was walked: walk on.
                                (Some(known), Some(now)) if now > known => last = Some(now),
                                // A list that does not say: one more page while they come full.
                                (None, _) if is_full(&page, per_page) => {
                                    in_flight.push_back(fetch(next));
                                    next += 1;
                                }
                                _ => {}
                            }
                            let state = Walk::Walking {
                                in_flight,
                                next,
                                last,
                                per_page,
                            };
                            Some((Ok(page), state))
                        }
                    }
                }
            }
        }
    })
}

fn is_full<T>(page: &Page<T>, per_page: u64) -> bool {
    per_page > 0 && page.items.len() as u64 >= per_page
}

/// Walking any paged method by name, its items as [`Value`]s: for methods named at run time
/// (`ipernity call METHOD --all-pages`).
impl CallBuilder {
    /// Every page of this call's list; each page's items are the list's elements as the
    /// service sent them.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownMethod`] for a method the catalog does not know, [`Error::InvalidParam`]
    /// naming `page` for a method that does not page.
    pub fn pages(self) -> Result<Pages<Value>, Error> {
        let name = self.method().to_owned();
        let info = methods::lookup(&name).ok_or(Error::UnknownMethod { method: name })?;
        let paging = info.paging.ok_or_else(|| {
            Error::invalid_param_of(info.name, "page", format!("{} does not page", info.name))
        })?;
        let path = paging.items;
        let reader: Reader<Value> = Arc::new(move |payload: Value| dynamic_page(payload, path));
        Ok(Pages::with_reader(
            self,
            info.name,
            paging.max_per_page,
            reader,
            value_key,
        ))
    }

    /// Every item of this call's list, each once, in order.
    ///
    /// # Errors
    ///
    /// As [`pages`](Self::pages).
    pub fn items(self) -> Result<Items<Value>, Error> {
        self.pages().map(Pages::items)
    }
}

/// The page at `path` (down to the page element, then the items' element name) of a payload.
fn dynamic_page(payload: Value, path: &'static [&'static str]) -> Result<Page<Value>, Error> {
    let (item, container) = path
        .split_last()
        .ok_or(Error::MissingField { field: "items" })?;
    let mut page = &payload;
    for step in container {
        page = page.get(step).ok_or(Error::MissingField { field: step })?;
    }
    let number = |names: &[&str]| {
        names
            .iter()
            .find_map(|name| page.get(name).and_then(Value::as_u64))
    };
    Ok(Page {
        total: number(&["total"]),
        page: number(&["page"]),
        pages: number(&["pages"]),
        per_page: number(&["per_page", "perpage"]),
        count: number(&["count"]),
        items: page.list(item).to_vec(),
        ..Page::default()
    })
}

/// An item named at run time is told from the others by its first `*_id` member.
fn value_key(item: &Value) -> Option<u64> {
    item.as_map()?
        .iter()
        .find(|(name, _)| name.as_str().ends_with("_id"))
        .and_then(|(_, id)| id.as_u64())
}
