//! The typed API end to end: every method the emulator emulates, called through its typed
//! builder on each protocol, read into its typed answer.

use ipernity::codes::{Extra, Media, ThumbSize};
use ipernity::ids::{DocId, UserId};
use ipernity::upload::UploadFile;
use ipernity::{Error, Format, Protocol};

use crate::support::{client_for, emulator};

/// The methods below, on each protocol with its own format and on REST with every format.
fn matrix() -> Vec<(Protocol, Format)> {
    let mut matrix: Vec<(Protocol, Format)> = Format::ALL
        .iter()
        .filter(|f| Protocol::Rest.transport().formats().contains(f))
        .map(|f| (Protocol::Rest, *f))
        .collect();
    matrix.push((Protocol::Soap, Format::Soap));
    matrix.push((Protocol::XmlRpc, Format::XmlRpc));
    matrix
}

#[tokio::test]
async fn every_emulated_method_through_its_typed_builder_on_every_protocol() {
    let emulator = emulator().await;
    for (protocol, format) in matrix() {
        let context = format!("{protocol}/{format}");
        let client = client_for(&emulator, protocol, format, true);

        assert_eq!(
            client.test().hello().send().await.unwrap(),
            "hello world!",
            "{context}"
        );
        let echoed = client.test().echo("yes").send().await.unwrap();
        assert_eq!(echoed["echo"].as_str(), Some("yes"), "{context}");
        let methods = client.api().methods().get_list().send().await.unwrap();
        assert_eq!(methods.items.len(), 102, "{context}");
        let described = client
            .api()
            .methods()
            .get()
            .method("doc.getList")
            .send()
            .await
            .unwrap();
        assert_eq!(described.name, "doc.getList", "{context}");
        let quota = client.account().get_quota().send().await.unwrap();
        assert_eq!(quota.user_id, Some(UserId::new(1)), "{context}");

        // A real JPEG: the emulator reads what a file is from its content, as the service does
        // (an XML-RPC upload carries no file name).
        let bytes = ipernity::server::sample_jpeg(32, 24, Some("2020-01-02 03:04:05"), None);
        let md5 = crate::support::md5_hex(&bytes);
        let doc_id = client
            .upload(
                UploadFile::from_bytes("typed.jpg", bytes)
                    .title("typed")
                    .asynchronous(false),
            )
            .send()
            .await
            .unwrap()
            .doc_id
            .map(DocId::new)
            .unwrap();

        let doc = client
            .doc()
            .get(doc_id)
            .extra(&[Extra::Tags, Extra::Geo])
            .send()
            .await
            .unwrap();
        assert_eq!(
            (doc.doc_id, doc.title.as_deref()),
            (doc_id, Some("typed")),
            "{context}"
        );
        let changed = client
            .doc()
            .set(doc_id)
            .title("typed, renamed")
            .send()
            .await
            .unwrap();
        assert_eq!(
            changed.title.as_deref(),
            Some("typed, renamed"),
            "{context}"
        );
        let tags = client
            .doc()
            .tags()
            .add(doc_id)
            .keywords(&["red", "car"])
            .send()
            .await
            .unwrap();
        assert!(
            tags.items.iter().any(|t| t.tag.as_deref() == Some("red")),
            "{context}: {tags:?}"
        );
        let listed = client.doc().tags().get_list(doc_id).send().await.unwrap();
        assert_eq!(listed.items.len(), tags.items.len(), "{context}");

        let page = client
            .doc()
            .get_list(UserId::new(1))
            .media(Media::Photo)
            .thumbsize(ThumbSize::Max500)
            .per_page(100)
            .send()
            .await
            .unwrap();
        assert!(
            page.items.iter().any(|d| d.doc_id == doc_id),
            "{context}: {page:?}"
        );
        let found = client.doc().search().text("renamed").send().await.unwrap();
        assert!(found.items.iter().any(|d| d.doc_id == doc_id), "{context}");
        let matches = client
            .doc()
            .check_md5(&[md5.as_str()])
            .send()
            .await
            .unwrap();
        assert_eq!(
            matches.items[0].doc_id,
            Some(doc_id),
            "{context}: {matches:?}"
        );

        let album = client.album().create("typed album").send().await.unwrap();
        let again = client.album().get(album.album_id).send().await.unwrap();
        assert_eq!(again.title.as_deref(), Some("typed album"), "{context}");
        let albums = client.album().get_list().send().await.unwrap();
        assert!(
            albums.items.iter().any(|a| a.album_id == album.album_id),
            "{context}"
        );
        let added = client
            .album()
            .docs()
            .add(album.album_id, &[doc_id])
            .send()
            .await
            .unwrap();
        assert_eq!(added.added, Some(1), "{context}: {added:?}");
        assert_eq!(added.lines[0].doc_id, Some(doc_id), "{context}");
        let in_album = client
            .album()
            .docs()
            .get_list(album.album_id)
            .send()
            .await
            .unwrap();
        assert_eq!(in_album.docs.items[0].doc_id, doc_id, "{context}");

        client.doc().delete(doc_id).send().await.unwrap();
        let gone = client.doc().get(doc_id).send().await.unwrap_err();
        assert_eq!(gone.code().map(|c| c.as_u32()), Some(1), "{context}");
    }
    emulator.shutdown().await;
}

#[tokio::test]
async fn typed_builders_are_checked_like_any_call_and_spawn() {
    let emulator = emulator().await;
    let client = client_for(&emulator, Protocol::Rest, Format::Json, true);
    let before = emulator.requests_seen();
    let refused = client
        .doc()
        .get_list(UserId::new(1))
        .per_page(500)
        .send()
        .await;
    match refused {
        Err(Error::InvalidParam {
            method,
            param,
            reason,
        }) => {
            assert_eq!((method, param.as_str()), (Some("doc.getList"), "per_page"));
            assert!(reason.contains("100"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let refused = client
        .doc()
        .get(DocId::new(1))
        .extra(&[Extra::Owner])
        .send()
        .await;
    assert!(
        matches!(refused, Err(Error::InvalidParam { .. })),
        "{refused:?}"
    );
    assert_eq!(emulator.requests_seen(), before, "nothing was sent");
    // A method's own error code comes back with what the catalog says it means for it.
    let unknown = client
        .album()
        .get(ipernity::ids::AlbumId::new(987_654))
        .send()
        .await
        .unwrap_err();
    let api = unknown.api_error().unwrap();
    assert_eq!((api.code.as_u32(), api.method), (1, Some("album.get")));
    assert_eq!(api.meaning, Some("album not found"));
    assert!(
        unknown
            .to_string()
            .contains("answering album.get: album not found"),
        "{unknown}"
    );
    let hello = tokio::spawn(client.test().hello().send())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(hello, "hello world!");
    emulator.shutdown().await;
}

/// The blocking client: the same typed API from plain threads, against an emulator that runs on
/// a runtime of its own.
#[cfg(feature = "blocking")]
#[test]
fn the_blocking_client_calls_uploads_and_walks_from_plain_threads() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let emulator = runtime.block_on(
        ipernity::server::Emulator::builder()
            .ticket_delay(std::time::Duration::ZERO)
            .start(),
    );
    let emulator = emulator.unwrap();
    let credentials = emulator.credentials();
    let client = ipernity::blocking::Client::new(
        ipernity::Client::builder()
            .endpoint(emulator.base_url())
            .credentials(credentials.api_key.clone(), credentials.secret.clone())
            .token(credentials.token.clone().unwrap()),
    )
    .unwrap();
    assert_eq!(client.test().hello().send().unwrap(), "hello world!");
    let threads: Vec<_> = (0..3)
        .map(|n| {
            let client = client.clone();
            std::thread::spawn(move || {
                client
                    .upload(
                        UploadFile::from_bytes("b.jpg", format!("\u{ff}\u{d8} {n}").into_bytes())
                            .title(format!("blocking {n}"))
                            .asynchronous(false),
                    )
                    .unwrap()
                    .doc_id
                    .map(DocId::new)
                    .unwrap()
            })
        })
        .collect();
    let mut uploaded: Vec<DocId> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let doc = client.doc().get(uploaded[0]).send().unwrap();
    assert!(doc.title.unwrap().starts_with("blocking"));
    let mut walked: Vec<DocId> = client
        .doc()
        .get_list(UserId::new(1))
        .per_page(2)
        .items()
        .map(|doc| doc.unwrap().doc_id)
        .collect();
    uploaded.sort();
    walked.sort();
    assert_eq!(walked, uploaded);
    let pages = client
        .doc()
        .get_list(UserId::new(1))
        .per_page(2)
        .pages()
        .count();
    assert_eq!(pages, 2);
    let dynamic = client
        .call("doc.getList")
        .param("user_id", 1)
        .send()
        .unwrap();
    assert_eq!(dynamic["docs"].list("doc").len(), 3);
    // The same errors as the async client, before anything is sent and from the service.
    let refused = client.doc().get_list(UserId::new(1)).per_page(500).send();
    assert!(
        matches!(refused, Err(Error::InvalidParam { .. })),
        "{refused:?}"
    );
    let missing = client.doc().get(DocId::new(999_999)).send().unwrap_err();
    assert_eq!(missing.code().map(|c| c.as_u32()), Some(1));
    drop(client);
    runtime.block_on(emulator.shutdown());
}

/// What `upload.file`'s page says its parameters do, and the setters of a document, read back
/// through `doc.get` and `doc.getPerms` in their documented shapes.
#[tokio::test]
async fn upload_parameters_and_setters_reach_the_document() {
    use ipernity::codes::{Audience, License, Orientation, Safety, Share};
    use ipernity::upload::{CreatedAt, Geo, Visibility};
    let emulator = ipernity::server::Emulator::builder()
        .ticket_delay(std::time::Duration::ZERO)
        .start()
        .await
        .unwrap();
    for (protocol, format) in matrix() {
        let context = format!("{protocol}/{format}");
        let client = client_for(&emulator, protocol, format, true);
        let album = client.album().create("receives").send().await.unwrap();
        let file = UploadFile::from_bytes("p.jpg", format!("\u{ff}\u{d8} {context}").into_bytes())
            .title("every parameter")
            .created_at(CreatedAt::Text("2024-02-29 13:14:15".into()))
            .license(License::AttributionShareAlike)
            .visibility(Visibility::FamilyAndFriends)
            .safety(Safety::Moderate)
            .album_id(album.album_id.get())
            .perm_comment(Audience::Contacts)
            .perm_tag(Audience::OnlyYou)
            .perm_tagme(Audience::Everybody)
            .geo(Geo::at(-33.5, 151.25))
            .orientation(Orientation::Left)
            .asynchronous(false);
        let doc_id = DocId::new(client.upload(file).send().await.unwrap().doc_id.unwrap());
        let doc = client
            .doc()
            .get(doc_id)
            .extra(&[Extra::Geo])
            .send()
            .await
            .unwrap();
        assert_eq!(
            doc.license,
            Some(License::AttributionShareAlike),
            "{context}"
        );
        assert_eq!(doc.safety, Some(Safety::Moderate), "{context}");
        assert_eq!(doc.rotation, Some(270), "{context}");
        let visibility = doc.visibility.unwrap();
        assert_eq!(
            (
                visibility.ispublic,
                visibility.isfriend,
                visibility.isfamily,
                visibility.share
            ),
            (Some(false), Some(true), Some(true), Some(3)),
            "{context}"
        );
        let permissions = doc.permissions.unwrap();
        assert_eq!(
            (permissions.comment, permissions.tag, permissions.tagme),
            (
                Some(Audience::Contacts),
                Some(Audience::OnlyYou),
                Some(Audience::Everybody)
            ),
            "{context}"
        );
        let geo = doc.geo.unwrap();
        assert_eq!((geo.lat, geo.lng), (Some(-33.5), Some(151.25)), "{context}");
        assert_eq!(
            doc.dates.unwrap().created.as_deref(),
            Some("2024-02-29 13:14:15")
        );
        let in_album = client
            .album()
            .docs()
            .get_list(album.album_id)
            .send()
            .await
            .unwrap();
        assert_eq!(
            in_album.docs.items[0].doc_id, doc_id,
            "{context}: album_id took effect"
        );

        client
            .doc()
            .set_license(doc_id, License::Copyleft)
            .send()
            .await
            .unwrap();
        client
            .doc()
            .set_safety(doc_id, Safety::Restricted)
            .send()
            .await
            .unwrap();
        client
            .doc()
            .set_geo(doc_id)
            .lat(-999.0)
            .lng(-999.0)
            .send()
            .await
            .unwrap();
        client
            .doc()
            .set_perms(doc_id)
            .share(Share::Public)
            .perm_comment(Audience::FriendsAndFamily)
            .send()
            .await
            .unwrap();
        let doc = client
            .doc()
            .get(doc_id)
            .extra(&[Extra::Geo])
            .send()
            .await
            .unwrap();
        assert_eq!(
            (doc.license, doc.safety),
            (Some(License::Copyleft), Some(Safety::Restricted))
        );
        assert!(doc.geo.is_none(), "{context}: -999 removes the location");
        assert_eq!(doc.visibility.unwrap().share, Some(5), "{context}");
        let perms = client.doc().get_perms(doc_id).send().await.unwrap();
        assert_eq!(perms.visibility.unwrap().ispublic, Some(true), "{context}");
        assert_eq!(
            perms.permissions.unwrap().comment,
            Some(Audience::FriendsAndFamily),
            "{context}"
        );
        // Half the flags is the method's error 2.
        let half = client
            .call("doc.setPerms")
            .param("doc_id", doc_id)
            .param("is_public", 1)
            .send()
            .await
            .unwrap_err();
        assert_eq!(half.code().map(|c| c.as_u32()), Some(2), "{context}");
    }
    emulator.shutdown().await;
}
