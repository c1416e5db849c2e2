//! The whole API, typed: a handle per family, as the API groups its methods
//! (`client.doc()`, `client.album().docs()`, …), and a builder per method with its required
//! parameters as arguments, its optional ones as setters, ids as newtypes ([`ids`](crate::ids))
//! and enumerations as enums ([`codes`](crate::codes)).
//!
//! ```no_run
//! # async fn run(client: ipernity::Client) -> Result<(), ipernity::Error> {
//! use ipernity::codes::{Extra, Media, ThumbSize};
//! use ipernity::ids::{DocId, UserId};
//!
//! let doc = client.doc().get(DocId::new(42)).extra(&[Extra::Tags, Extra::Geo]).send().await?;
//! let photos = client
//!     .doc()
//!     .get_list(UserId::new(7))
//!     .media(Media::Photo)
//!     .thumbsize(ThumbSize::Max500)
//!     .per_page(100)
//!     .send()
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! Every builder is a [`CallBuilder`](crate::client::CallBuilder) underneath, so what it sends is
//! checked against the catalog like any call ([`methods::validate`](crate::methods::validate)),
//! and [`Client::call`](crate::Client::call) stays the way to send anything the typed API does not cover. The
//! authorization flows are [`Client::auth`](crate::Client::auth) and the uploads [`Client::upload`](crate::Client::upload) and
//! [`Client::check_tickets`](crate::Client::check_tickets).

use crate::error::Error;
use crate::value::Value;

mod generated;
mod paging;

pub use crate::answers::*;
pub use generated::*;
pub use paging::{DEFAULT_CONCURRENCY, Items, Pages};

/// Reads an answer into its type, with [`Value`]'s leniency.
fn decode<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, Error> {
    T::deserialize(&value).map_err(Error::Deserialize)
}

/// The member `root` of an answer's payload: the element the method's answer is made of.
fn into_root(payload: Value, root: &'static str) -> Result<Value, Error> {
    match payload {
        Value::Map(mut members) => members
            .remove(root)
            .ok_or(Error::MissingField { field: root }),
        _ => Err(Error::MissingField { field: root }),
    }
}

#[cfg(test)]
mod tests {
    use super::generated::BUILDERS;
    use crate::methods::METHODS;

    /// The methods written by hand, the function that calls each, and what it answers.
    const HAND_WRITTEN: &[(&str, &str, &str)] = &[
        ("auth.checkToken", "Auth::check_token", "Token"),
        ("auth.getFrob", "Auth::get_frob", "String"),
        ("auth.getToken", "Auth::get_token", "Token"),
        (
            "upload.checkTickets",
            "Client::check_tickets",
            "Vec<TicketState>",
        ),
        ("upload.file", "Client::upload", "Uploaded"),
        (
            "upload.replace",
            "Client::upload with UploadFile::replacing",
            "Uploaded",
        ),
    ];

    /// Each method has one typed builder, and a typed answer or a stated reason for none.
    #[test]
    fn every_method_of_the_catalog_has_a_typed_builder_and_answer() {
        for info in METHODS {
            let found: Vec<&(&str, &str, &str)> = BUILDERS
                .iter()
                .chain(HAND_WRITTEN)
                .filter(|(name, _, _)| *name == info.name)
                .collect();
            assert_eq!(found.len(), 1, "{}: {found:?}", info.name);
            let (_, builder, answer) = found[0];
            assert!(!builder.is_empty(), "{}", info.name);
            let stated = answer
                .strip_prefix("untyped: ")
                .is_none_or(|r| r.len() > 10);
            assert!(!answer.is_empty() && stated, "{}: {answer:?}", info.name);
            assert_eq!(answer == &"()", info.answer_root.is_none(), "{}", info.name);
        }
        assert_eq!(BUILDERS.len() + HAND_WRITTEN.len(), METHODS.len());
    }
}

/// Every documented example, rendered into each of the five formats, is read into its method's
/// typed answer, the same in every format.
#[cfg(test)]
#[cfg(feature = "server")]
mod documented_examples {
    use super::generated::read_typed_answer;
    use crate::format::Format;
    use crate::methods::METHODS;

    const FORMATS: [Format; 5] = [
        Format::Xml,
        Format::Json,
        Format::Php,
        Format::Soap,
        Format::XmlRpc,
    ];

    #[test]
    fn every_documented_answer_reads_the_same_in_every_format() {
        let mut read = 0;
        for info in METHODS {
            let Some(example) = info.answer_example.filter(|e| !e.is_empty()) else {
                continue;
            };
            let document = format!("<api status=\"ok\">{example}</api>");
            let payload = Format::Xml
                .decode(document.as_bytes())
                .unwrap_or_else(|e| panic!("{}: {e}", info.name));
            let crate::value::Value::Map(members) = &payload else {
                panic!("{}: {payload:?}", info.name);
            };
            let mut answers = Vec::new();
            for format in FORMATS {
                let body = format.render(Ok(members));
                let decoded = format
                    .decode(&body)
                    .unwrap_or_else(|e| panic!("{} in {format}: {e}", info.name));
                match read_typed_answer(info.name, decoded) {
                    Some(Ok(answer)) => answers.push((format, answer)),
                    Some(Err(error)) => panic!("{} in {format}: {error}", info.name),
                    None => break,
                }
            }
            if let Some((_, first)) = answers.first() {
                for (format, answer) in &answers {
                    assert_eq!(answer, first, "{} reads differently in {format}", info.name);
                }
                read += 1;
            }
        }
        // Every generated builder with a typed answer was read from its documented example.
        let typed = super::generated::BUILDERS
            .iter()
            .filter(|(_, _, answer)| *answer != "()" && !answer.starts_with("untyped"))
            .count();
        assert_eq!(read, typed, "typed answers read from documented examples");
        assert!(read > 70, "{read}");
    }
}

/// What the documented examples say, read through the typed answers.
#[cfg(test)]
mod documented_values {
    use super::*;
    use crate::codes::{License, Media};
    use crate::ids::{DocId, UserId};
    use crate::methods::lookup;

    fn example<T: serde::de::DeserializeOwned>(method: &str) -> T {
        let info = lookup(method).unwrap();
        let document = format!("<api status=\"ok\">{}</api>", info.answer_example.unwrap());
        let payload = crate::format::Format::Xml
            .decode(document.as_bytes())
            .unwrap();
        let root = info.answer_root.unwrap();
        let value = match root.contains('+') {
            true => payload,
            false => into_root(payload, root).unwrap(),
        };
        decode(value).unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    #[test]
    fn a_document_with_every_block() {
        let doc: Doc = example("doc.get");
        assert_eq!(doc.doc_id, DocId::new(12345));
        assert_eq!(
            (doc.media, doc.license),
            (Some(Media::Video), Some(License::Attribution))
        );
        assert_eq!(doc.owner.unwrap().user_id, UserId::new(123));
        assert_eq!(doc.visibility.unwrap().share, Some(5));
        assert_eq!(doc.thumbs.unwrap().items.len(), 6);
        let medias = doc.medias.unwrap();
        assert_eq!(
            medias.items[0].length,
            Some(120),
            "read under its misspelt name"
        );
        assert_eq!(doc.original.unwrap().bytes, Some(585654));
        let tags = doc.tags.unwrap();
        assert_eq!((tags.total, tags.items.len()), (Some(5), 4));
        assert_eq!(
            tags.items[0].tag.as_deref(),
            Some("car"),
            "`keyword` is the tag"
        );
        let notes = doc.notes.unwrap();
        assert_eq!(
            notes.items[0].text.as_deref(),
            Some("I love the Starsky & Hutch painting")
        );
        assert!(doc.other.is_empty(), "{:?}", doc.other);
    }

    #[test]
    fn shared_shapes() {
        let page: Page<DocSummary> = example("doc.getList");
        assert_eq!(
            (page.total, page.per_page, page.page_count()),
            (Some(12), Some(20), Some(1))
        );
        assert_eq!(page.items.len(), 2);
        assert_eq!(
            page.items[1].license,
            Some(License::AttributionNonCommercialShareAlike)
        );
        assert_eq!(page.items[0].thumb.as_ref().unwrap().w, Some(75));

        let recent: List<DocSummary> = example("explore.docs.getRecent");
        assert_eq!((recent.count, recent.items.len()), (Some(100), 2));

        let batch: Batch = example("group.docs.add");
        assert_eq!(
            (batch.added, batch.pending, batch.lines.len()),
            (Some(2), Some(2), 4)
        );
        assert_eq!(batch.lines[3].error, Some(1));
        assert_eq!(
            batch
                .other
                .get("group_id")
                .and_then(crate::value::Value::as_u64),
            Some(10551)
        );

        let context: Context<ContextDoc> = example("album.docs.getContext");
        assert_eq!(context.prev.count, Some(18));
        assert_eq!(context.prev.items.len(), 3);
        assert_eq!(context.current.unwrap().doc_id, DocId::new(50));
        assert_eq!(context.next.items[0].index, Some(1));
        assert!(context.other.get("album").is_some());

        let in_album: ContainerDocs = example("album.docs.getList");
        assert_eq!(in_album.docs.items.len(), 2);
        assert_eq!(in_album.cover.unwrap().doc_id, Some(DocId::new(395574)));

        let containers: Containers = example("doc.getContainers");
        let album_cover = &containers.albums.unwrap().items[0].cover;
        assert!(
            album_cover
                .as_ref()
                .unwrap()
                .url
                .as_deref()
                .unwrap()
                .ends_with(".jpg")
        );
        assert_eq!(containers.groups.unwrap().items.len(), 3);

        let visits: Page<Visit> = example("doc.getVisitors");
        assert_eq!(visits.items.len(), 3);
        assert!(
            visits.other.get("anonymous").is_some(),
            "anonymous visits are kept"
        );
    }
}

/// Every typed builder called end to end, over every protocol and in every format, against a
/// sender that answers with the method's documented example.
#[cfg(test)]
#[cfg(feature = "server")]
mod every_builder_against_its_documented_example {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::generated::{BUILDERS, call_typed, read_typed_answer};
    use crate::client::{BoxFuture, HttpResponse, HttpSender, SendError};
    use crate::format::Format;
    use crate::http::HttpRequest;
    use crate::methods::lookup;
    use crate::protocol::Protocol;
    use crate::value::Value;
    use crate::{Client, RetryPolicy};

    /// Answers every request with the documented example of `method`, in `format`.
    #[derive(Debug)]
    struct DocumentedAnswers {
        format: Format,
        method: Mutex<&'static str>,
    }

    fn example_payload(method: &str) -> Value {
        let info = lookup(method).unwrap();
        let document = format!(
            "<api status=\"ok\">{}</api>",
            info.answer_example.unwrap_or("")
        );
        Format::Xml.decode(document.as_bytes()).unwrap()
    }

    impl HttpSender for DocumentedAnswers {
        fn send(
            &self,
            _request: HttpRequest,
            _timeout: Duration,
        ) -> BoxFuture<'_, Result<HttpResponse, SendError>> {
            let method = *self.method.lock().unwrap();
            let payload = example_payload(method);
            let empty = crate::value::Map::default();
            let members = payload.as_map().unwrap_or(&empty);
            let body = self.format.render(Ok(members));
            Box::pin(async move { Ok(HttpResponse::new(200, body)) })
        }
    }

    #[tokio::test]
    async fn every_generated_builder_reads_its_documented_answer_everywhere() {
        let combinations = [
            (Protocol::Rest, Format::Json),
            (Protocol::Rest, Format::Xml),
            (Protocol::Rest, Format::Php),
            (Protocol::Soap, Format::Soap),
            (Protocol::XmlRpc, Format::XmlRpc),
        ];
        let mut calls = 0;
        for (protocol, format) in combinations {
            let sender = Arc::new(DocumentedAnswers {
                format,
                method: Mutex::new(""),
            });
            let client = Client::builder()
                .credentials("key", "secret")
                .token("token")
                .protocol(protocol)
                .format(format)
                .retry(RetryPolicy::none())
                .sender(sender.clone())
                .build()
                .unwrap();
            for (method, _, answer) in BUILDERS {
                let info = lookup(method).unwrap();
                *sender.method.lock().unwrap() = info.name;
                let typed = call_typed(&client, method).await.unwrap();
                let typed =
                    typed.unwrap_or_else(|e| panic!("{method} over {protocol}/{format}: {e}"));
                calls += 1;
                // What the builder answers is what the documented example reads as.
                if *answer != "()" && !answer.starts_with("untyped") {
                    let expected = read_typed_answer(method, example_payload(method))
                        .unwrap()
                        .unwrap();
                    assert_eq!(typed, expected, "{method} over {protocol}/{format}");
                }
            }
        }
        assert_eq!(calls, BUILDERS.len() * 5);
    }
}
