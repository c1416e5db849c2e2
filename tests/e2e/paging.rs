//! Walking paged lists: in order with bounded concurrency, and correct when the list changes
//! under the walk.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ipernity::client::{BoxFuture, HttpResponse, HttpSender, SendError};
use ipernity::ids::{DocId, UserId};
use ipernity::upload::UploadFile;
use ipernity::{Client, Error, Format, HttpRequest, Protocol, StreamExt};

use crate::support::client_for;

/// One scripted page: its number, and the page count it announces with its doc ids (`None`:
/// the page fails with HTTP 500).
type ScriptLine = (u64, Option<(u64, Vec<u64>)>);

/// Answers `doc.getList` page by page from a script: for each page, the `pages` it announces and
/// its doc ids, or an HTTP 500; tracks how many requests are in flight at once.
#[derive(Debug)]
struct ScriptedPages {
    pages: HashMap<u64, Option<(u64, Vec<u64>)>>,
    per_page: u64,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    asked: Mutex<Vec<u64>>,
}

impl ScriptedPages {
    fn new(per_page: u64, pages: &[ScriptLine]) -> Arc<ScriptedPages> {
        Arc::new(ScriptedPages {
            pages: pages.iter().cloned().collect(),
            per_page,
            in_flight: AtomicUsize::new(0),
            most_in_flight: AtomicUsize::new(0),
            asked: Mutex::new(Vec::new()),
        })
    }

    fn body(&self, page: u64) -> HttpResponse {
        match self.pages.get(&page).cloned().flatten() {
            None => HttpResponse::new(500, "<html>500 Internal Server Error</html>"),
            Some((pages, ids)) => {
                let docs: Vec<String> = ids
                    .iter()
                    .map(|id| format!(r#"{{"doc_id":"{id}","title":"d{id}"}}"#))
                    .collect();
                HttpResponse::new(
                    200,
                    format!(
                        r#"{{"api":{{"status":"ok"}},"docs":{{"total":"{}","page":"{page}","pages":"{pages}","per_page":"{}","doc":[{}]}}}}"#,
                        pages * self.per_page,
                        self.per_page,
                        docs.join(",")
                    ),
                )
            }
        }
    }
}

impl HttpSender for ScriptedPages {
    fn send(
        &self,
        request: HttpRequest,
        _timeout: Duration,
    ) -> BoxFuture<'_, Result<HttpResponse, SendError>> {
        Box::pin(async move {
            let page: u64 = request
                .url
                .split(['?', '&'])
                .find_map(|pair| pair.strip_prefix("page="))
                .and_then(|p| p.parse().ok())
                .unwrap();
            self.asked.lock().unwrap().push(page);
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.most_in_flight.fetch_max(now, Ordering::SeqCst);
            // Later pages answer sooner: the walk must still yield them in order.
            tokio::time::sleep(Duration::from_millis(30 / page.min(30))).await;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            Ok(self.body(page))
        })
    }
}

fn client(sender: Arc<ScriptedPages>) -> Client {
    Client::builder()
        .credentials("key", "secret")
        .format(Format::Json)
        .retry(ipernity::RetryPolicy::none())
        .sender(sender)
        .build()
        .unwrap()
}

async fn walk(client: &Client, concurrency: usize) -> (Vec<u64>, Vec<Result<u64, Error>>) {
    let pages: Vec<u64> = client
        .doc()
        .get_list(UserId::new(1))
        .per_page(3)
        .pages()
        .concurrency(concurrency)
        .filter_map(|page| async move { page.ok().and_then(|p| p.page) })
        .collect()
        .await;
    let items = client
        .doc()
        .get_list(UserId::new(1))
        .per_page(3)
        .items()
        .map(|item| item.map(|doc| doc.doc_id.get()))
        .collect()
        .await;
    (pages, items)
}

#[tokio::test]
async fn pages_come_in_order_with_bounded_concurrency() {
    let script: Vec<ScriptLine> = (1..=10)
        .map(|page| {
            (
                page,
                Some((10, vec![page * 10, page * 10 + 1, page * 10 + 2])),
            )
        })
        .collect();
    let sender = ScriptedPages::new(3, &script);
    let client = client(sender.clone());
    let (pages, items) = walk(&client, 3).await;
    assert_eq!(pages, (1..=10).collect::<Vec<_>>());
    let items: Vec<u64> = items.into_iter().map(Result::unwrap).collect();
    assert_eq!(items.len(), 30);
    assert!(items.windows(2).all(|w| w[0] < w[1]), "{items:?}");
    let most = sender.most_in_flight.load(Ordering::SeqCst);
    assert!(
        (2..=4).contains(&most),
        "at most 3 at once (then 4 for the items walk): {most}"
    );
}

#[tokio::test]
async fn a_list_that_grows_shrinks_or_shifts_under_the_walk() {
    // Page 1 says 3 pages; page 2 says 4 (the list grew); page 3 repeats an item of page 2 (it
    // was pushed onto the next page); page 4 is empty (it shrank again).
    let sender = ScriptedPages::new(
        3,
        &[
            (1, Some((3, vec![1, 2, 3]))),
            (2, Some((4, vec![4, 5, 6]))),
            (3, Some((4, vec![6, 7, 8]))),
            (4, Some((4, vec![]))),
        ],
    );
    let client = client(sender.clone());
    let (pages, items) = walk(&client, 4).await;
    assert_eq!(pages, [1, 2, 3, 4]);
    let items: Vec<u64> = items.into_iter().map(Result::unwrap).collect();
    assert_eq!(items, [1, 2, 3, 4, 5, 6, 7, 8], "6 once");
}

#[tokio::test]
async fn a_failed_page_ends_the_walk_and_says_which() {
    let sender = ScriptedPages::new(
        3,
        &[
            (1, Some((4, vec![1, 2, 3]))),
            (2, Some((4, vec![4, 5, 6]))),
            (3, None),
            (4, Some((4, vec![10]))),
        ],
    );
    let client = client(sender);
    let outcomes: Vec<Result<u64, Error>> = client
        .doc()
        .get_list(UserId::new(1))
        .per_page(3)
        .items()
        .map(|item| item.map(|doc| doc.doc_id.get()))
        .collect()
        .await;
    let (ok, failed): (Vec<_>, Vec<_>) = outcomes.into_iter().partition(Result::is_ok);
    assert_eq!(ok.len(), 6, "pages 1 and 2");
    assert_eq!(failed.len(), 1, "nothing after the failure");
    match &failed[0] {
        Err(
            error @ Error::Page {
                method,
                page,
                source,
            },
        ) => {
            assert_eq!((*method, *page), ("doc.getList", 3));
            assert!(
                error.to_string().contains("page 3 of doc.getList"),
                "{error}"
            );
            assert!(
                matches!(**source, Error::Http { status: 500, .. }),
                "{error:?}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn every_document_of_the_emulator_once_on_every_protocol() {
    let emulator = ipernity::server::Emulator::builder()
        .ticket_delay(Duration::ZERO)
        .start()
        .await
        .unwrap();
    let owner = client_for(&emulator, Protocol::Rest, Format::Json, true);
    let mut uploaded = Vec::new();
    for n in 0..45 {
        let doc_id = owner
            .upload(
                UploadFile::from_bytes("p.jpg", format!("\u{ff}\u{d8}{n}").into_bytes())
                    .asynchronous(false),
            )
            .send()
            .await
            .unwrap()
            .doc_id
            .unwrap();
        uploaded.push(DocId::new(doc_id));
    }
    for protocol in Protocol::ALL {
        let client = client_for(
            &emulator,
            protocol,
            protocol.transport().default_format(),
            true,
        );
        let pages: Vec<_> = client
            .doc()
            .get_list(UserId::new(1))
            .per_page(10)
            .pages()
            .collect()
            .await;
        assert_eq!(pages.len(), 5, "{protocol}");
        let mut seen: Vec<DocId> = client
            .doc()
            .get_list(UserId::new(1))
            .items()
            .map(|doc| doc.unwrap().doc_id)
            .collect()
            .await;
        seen.sort();
        assert_eq!(seen, uploaded, "{protocol}: each document once");
    }
    emulator.shutdown().await;
}

#[tokio::test]
async fn the_rate_limit_is_shared_by_every_clone_and_counts_pages() {
    let emulator = ipernity::server::Emulator::builder().start().await.unwrap();
    let credentials = emulator.credentials();
    let client = Client::builder()
        .endpoint(emulator.base_url())
        .credentials(credentials.api_key.clone(), credentials.secret.clone())
        .rate_limit(ipernity::client::RateLimit::new(10, Duration::from_millis(100)).unwrap())
        .build()
        .unwrap();
    // 30 calls from three clones at once: 10 at once, then one every 10 ms.
    let started = std::time::Instant::now();
    let clones: Vec<_> = (0..3)
        .map(|_| {
            let clone = client.clone();
            tokio::spawn(async move {
                for _ in 0..10 {
                    clone.test().hello().send().await.unwrap();
                }
            })
        })
        .collect();
    for clone in clones {
        clone.await.unwrap();
    }
    assert!(
        started.elapsed() >= Duration::from_millis(190),
        "30 calls at 10 per 100 ms took {:?}",
        started.elapsed()
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_quota_answer_slows_every_clone_down() {
    use ipernity::server::{Fault, Schedule};
    let emulator = ipernity::server::Emulator::builder().start().await.unwrap();
    let client = client_for(&emulator, Protocol::Rest, Format::Json, false);
    let other = client.clone();
    emulator.inject(Fault::Api(113), Schedule::Next(1));
    let refused = client.test().hello().send().await;
    assert_eq!(refused.unwrap_err().code().map(|c| c.as_u32()), Some(113));
    // The clone has not been refused itself, but waits for the pause (1 s) all the same.
    let started = std::time::Instant::now();
    other.test().hello().send().await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    // An answer ended the doubling: the next refusal pauses 1 s again, not 2.
    emulator.inject(Fault::Api(112), Schedule::Next(1));
    assert!(client.test().hello().send().await.is_err());
    let started = std::time::Instant::now();
    other.test().hello().send().await.unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_millis(1900),
        "{waited:?}"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_finished_walk_keeps_answering_none() {
    let sender = ScriptedPages::new(3, &[(1, Some((1, vec![1, 2])))]);
    let client = client(sender);
    let mut pages = client.doc().get_list(UserId::new(1)).per_page(3).pages();
    assert!(pages.next().await.unwrap().is_ok());
    // A stream polled again after its end (select loops do) must not panic.
    for _ in 0..3 {
        assert!(pages.next().await.is_none());
    }
}
