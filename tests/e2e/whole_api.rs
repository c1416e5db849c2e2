//! The emulator of the whole API as its users meet it: each documented method error a client
//! can provoke, privacy and permissions from both sides, media downloads (originals, real
//! thumbnails, `Range`, strangers), EXIF, upload errors 3 and 4 with the quota, request quotas,
//! and seeds.

use std::time::Duration;

use ipernity::server::{Emulator, EmulatorHandle, sample_jpeg};
use ipernity::upload::{UploadFile, Visibility};
use ipernity::{Client, Format, Protocol, Value};

use crate::support::error_code;

const ALICE: &str = "alice-token-0123456789abcdef";
const BOB: &str = "bob-token-0123456789abcdef";
const CAROL: &str = "carol-token-0123456789abcdef";
const DAVE: &str = "dave-token-0123456789abcdef";

/// User 1 lists alice (2) as a friend, bob (3) as family, carol (4) as a contact; dave (5) is a
/// stranger whom user 1 blocks.
async fn family() -> EmulatorHandle {
    use ipernity::codes::Relation;
    Emulator::builder()
        .ticket_delay(Duration::from_millis(20))
        .member("alice", ALICE)
        .member("bob", BOB)
        .member("carol", CAROL)
        .member("dave", DAVE)
        .relation(1, 2, Relation::Friends)
        .relation(1, 3, Relation::Family)
        .relation(1, 4, Relation::Contacts)
        .relation(2, 1, Relation::Friends)
        .block(1, 5)
        .group("Moderated skies", true, true)
        .group("Private club", false, false)
        .group("Small club", true, false)
        .restrict_group(3, &[1, 2], 2)
        .post(1, "Holidays", "We went to the sea.", true)
        .monthly_upload_limit(200_000)
        .start()
        .await
        .unwrap()
}

/// A client of the emulator with `token` (the provisioned user's when `None`).
fn client(emulator: &EmulatorHandle, token: Option<&str>) -> Client {
    let credentials = emulator.credentials();
    Client::builder()
        .endpoint(emulator.base_url())
        .credentials(credentials.api_key.clone(), credentials.secret.clone())
        .token(token.map_or_else(|| credentials.token.clone().unwrap(), Into::into))
        .protocol(Protocol::Rest)
        .format(Format::Json)
        .retry(ipernity::RetryPolicy::none())
        .build()
        .unwrap()
}

async fn call(
    client: &Client,
    method: &str,
    params: &[(&str, &str)],
) -> Result<Value, ipernity::Error> {
    let mut call = client.call(method).unchecked();
    for (name, value) in params {
        call = call.param(*name, *value);
    }
    call.send().await
}

async fn code(client: &Client, method: &str, params: &[(&str, &str)]) -> u32 {
    match call(client, method, params).await {
        Err(error) => error_code(&error),
        Ok(answer) => panic!("{method} {params:?} answered {answer:?}"),
    }
}

fn text(value: &Value, path: &[&str]) -> String {
    let mut current = value;
    for key in path {
        current = current
            .get(key)
            .unwrap_or_else(|| panic!("no {key} in {value:?}"));
    }
    current.to_text().unwrap().into_owned()
}

async fn upload(client: &Client, file: UploadFile) -> String {
    let uploaded = client
        .upload(file.asynchronous(false))
        .send()
        .await
        .unwrap();
    uploaded.doc_id.unwrap().to_string()
}

fn photo(name: &str) -> UploadFile {
    UploadFile::from_bytes(
        name,
        sample_jpeg(640, 480, Some("2011-11-14 11:56:49"), Some((43.5, 7.25))),
    )
}

#[tokio::test]
async fn every_documented_error_a_client_can_provoke_is_answered() {
    let emulator = family().await;
    let me = client(&emulator, None);
    let alice = client(&emulator, Some(ALICE));
    let doc = upload(&me, photo("a.jpg").visibility(Visibility::Public)).await;
    let other = upload(&alice, photo("b.jpg").visibility(Visibility::Public)).await;
    let album = text(
        &call(&me, "album.create", &[("title", "mine")])
            .await
            .unwrap(),
        &["album", "album_id"],
    );
    let folder = text(
        &call(&me, "folder.create", &[("title", "mine")])
            .await
            .unwrap(),
        &["folder", "folder_id"],
    );
    let alices_album = text(
        &call(&alice, "album.create", &[("title", "hers")])
            .await
            .unwrap(),
        &["album", "album_id"],
    );
    let comment = text(
        &call(
            &me,
            "doc.comments.add",
            &[("doc_id", &doc), ("content", "hi")],
        )
        .await
        .unwrap(),
        &["comment", "comment_id"],
    );
    let note = text(
        &call(
            &me,
            "doc.notes.add",
            &[
                ("doc_id", &doc),
                ("content", "n"),
                ("x", "1"),
                ("y", "1"),
                ("w", "5"),
                ("h", "5"),
            ],
        )
        .await
        .unwrap(),
        &["note", "note_id"],
    );
    let post_comment = text(
        &call(
            &me,
            "post.comments.add",
            &[("post_id", "1"), ("content", "hi")],
        )
        .await
        .unwrap(),
        &["comment", "comment_id"],
    );
    // (method, parameters, the method's error, who calls)
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, u32, &'a Client);
    let cases: Vec<Case<'_>> = vec![
        ("test.echo", vec![], 1, &me),
        ("auth.getToken", vec![], 1, &me),
        ("auth.getToken", vec![("frob", "no-such-frob")], 2, &me),
        ("upload.checkTickets", vec![("tickets", "1-2")], 1, &me),
        ("album.create", vec![("title", " ")], 1, &me),
        (
            "album.create",
            vec![("title", "t"), ("cover_id", &other)],
            2,
            &me,
        ),
        ("album.get", vec![("album_id", "999999")], 1, &me),
        ("album.getList", vec![("user_id", "999999")], 1, &me),
        ("album.docs.getList", vec![("album_id", "999999")], 1, &me),
        (
            "album.docs.remove",
            vec![("album_id", &alices_album), ("doc_id", &doc)],
            1,
            &me,
        ),
        (
            "album.docs.remove",
            vec![("album_id", &album), ("doc_id", &other)],
            2,
            &me,
        ),
        (
            "album.docs.setList",
            vec![
                ("album_id", &alices_album),
                ("doc_ids", &doc),
                ("cover_id", &doc),
            ],
            1,
            &me,
        ),
        (
            "album.docs.setList",
            vec![
                ("album_id", &album),
                ("doc_ids", &other),
                ("cover_id", &other),
            ],
            2,
            &me,
        ),
        (
            "album.docs.setList",
            vec![
                ("album_id", &album),
                ("doc_ids", &doc),
                ("cover_id", &other),
            ],
            3,
            &me,
        ),
        (
            "album.edit",
            vec![("album_id", &alices_album), ("title", "x")],
            1,
            &me,
        ),
        (
            "album.edit",
            vec![("album_id", &album), ("cover_id", &other)],
            2,
            &me,
        ),
        (
            "album.edit",
            vec![("album_id", &album), ("title", "")],
            3,
            &me,
        ),
        ("album.edit", vec![("album_id", &album)], 4, &me),
        (
            "album.setPerms",
            vec![("album_id", &alices_album), ("perm_comment", "5")],
            1,
            &me,
        ),
        (
            "album.setPerms",
            vec![("album_id", &album), ("perm_comment", "2")],
            2,
            &me,
        ),
        (
            "doc.albums.add",
            vec![("doc_id", &other), ("album_id", &album)],
            1,
            &me,
        ),
        (
            "doc.albums.add",
            vec![("doc_id", &doc), ("album_id", &alices_album)],
            2,
            &me,
        ),
        ("doc.checkMD5", vec![], 1, &me),
        (
            "doc.comments.add",
            vec![("doc_id", "999999"), ("content", "x")],
            1,
            &me,
        ),
        (
            "doc.comments.add",
            vec![("doc_id", &doc), ("content", "<b></b>")],
            2,
            &me,
        ),
        ("doc.comments.getList", vec![("doc_id", "999999")], 1, &me),
        ("doc.delete", vec![("doc_id", &other)], 1, &me),
        ("doc.getContainers", vec![("doc_id", "999999")], 1, &me),
        ("doc.getExif", vec![("doc_id", "999999")], 1, &me),
        ("doc.getFaves", vec![("doc_id", "999999")], 1, &me),
        ("doc.getList", vec![("user_id", "999999")], 1, &me),
        ("doc.getMedias", vec![("doc_id", "999999")], 1, &me),
        ("doc.getPerms", vec![("doc_id", &other)], 1, &me),
        (
            "doc.notes.add",
            vec![
                ("doc_id", "999999"),
                ("content", "n"),
                ("x", "1"),
                ("y", "1"),
                ("w", "5"),
                ("h", "5"),
            ],
            1,
            &me,
        ),
        (
            "doc.notes.add",
            vec![
                ("doc_id", &doc),
                ("content", "<i> </i>"),
                ("x", "1"),
                ("y", "1"),
                ("w", "5"),
                ("h", "5"),
            ],
            2,
            &me,
        ),
        (
            "doc.notes.add",
            vec![
                ("doc_id", &doc),
                ("content", "n"),
                ("member_id", "5"),
                ("x", "1"),
                ("y", "1"),
                ("w", "5"),
                ("h", "5"),
            ],
            3,
            &me,
        ),
        (
            "doc.notes.add",
            vec![
                ("doc_id", &doc),
                ("content", "n"),
                ("x", "490"),
                ("y", "1"),
                ("w", "50"),
                ("h", "5"),
            ],
            4,
            &me,
        ),
        (
            "doc.notes.edit",
            vec![("note_id", &note), ("content", " ")],
            2,
            &me,
        ),
        ("doc.set", vec![("doc_id", &other), ("title", "x")], 1, &me),
        ("doc.set", vec![("doc_id", &doc)], 2, &me),
        (
            "doc.setPerms",
            vec![("doc_id", &other), ("share", "4")],
            1,
            &me,
        ),
        (
            "doc.setPerms",
            vec![("doc_id", &doc), ("share", "9")],
            2,
            &me,
        ),
        (
            "doc.setSafety",
            vec![("doc_id", &other), ("safety", "1")],
            1,
            &me,
        ),
        (
            "doc.tags.add",
            vec![("doc_id", "999999"), ("keywords", "x")],
            1,
            &me,
        ),
        ("doc.tags.add", vec![("doc_id", &doc)], 2, &me),
        (
            "doc.tags.edit",
            vec![("doc_id", &other), ("keywords", "x")],
            1,
            &me,
        ),
        ("doc.tags.edit", vec![("doc_id", &doc)], 2, &me),
        ("doc.tags.getList", vec![("doc_id", "999999")], 1, &me),
        ("faves.albums.getList", vec![("user_id", "999999")], 1, &me),
        ("faves.albums.getList", vec![("owner_id", "999999")], 2, &me),
        ("faves.docs.getList", vec![("user_id", "999999")], 1, &me),
        ("faves.docs.getList", vec![("owner_id", "999999")], 2, &me),
        (
            "folder.albums.add",
            vec![("folder_id", "999999"), ("album_id", &album)],
            1,
            &me,
        ),
        (
            "folder.albums.add",
            vec![("folder_id", &folder), ("album_id", &alices_album)],
            2,
            &me,
        ),
        ("folder.get", vec![("folder_id", "999999")], 1, &me),
        ("folder.getList", vec![("user_id", "999999")], 1, &me),
        ("folder.orderList", vec![("folder_ids", "999999")], 1, &me),
        (
            "group.docs.add",
            vec![("group_id", "999999"), ("doc_id", &doc)],
            1,
            &me,
        ),
        (
            "group.docs.add",
            vec![("group_id", "1"), ("doc_id", &other)],
            2,
            &me,
        ),
        ("group.docs.getList", vec![("group_id", "999999")], 1, &me),
        (
            "group.docs.getList",
            vec![("group_id", "1"), ("user_id", "999999")],
            2,
            &me,
        ),
        (
            "group.docs.remove",
            vec![("group_id", "999999"), ("doc_id", &doc)],
            1,
            &me,
        ),
        ("group.docs.remove", vec![("group_id", "1")], 2, &me),
        ("group.get", vec![("group_id", "999999")], 1, &me),
        ("group.getList", vec![("user_id", "999999")], 1, &me),
        ("group.search", vec![("text", " ")], 1, &me),
        ("network.autocomplete", vec![("query", "<script>")], 1, &me),
        ("network.getList", vec![("user_id", "999999")], 1, &me),
        (
            "post.comments.add",
            vec![("post_id", "999999"), ("content", "x")],
            1,
            &me,
        ),
        (
            "post.comments.add",
            vec![("post_id", "1"), ("content", "")],
            2,
            &me,
        ),
        (
            "post.comments.delete",
            vec![("comment_id", &post_comment)],
            1,
            &alice,
        ),
        (
            "post.comments.edit",
            vec![("comment_id", &post_comment), ("content", "x")],
            1,
            &alice,
        ),
        (
            "post.comments.edit",
            vec![("comment_id", &post_comment), ("content", " ")],
            2,
            &me,
        ),
        ("post.comments.get", vec![("comment_id", "999999")], 1, &me),
        ("post.comments.getList", vec![("post_id", "999999")], 1, &me),
        (
            "post.comments.reply",
            vec![("comment_id", "999999"), ("content", "x")],
            1,
            &me,
        ),
        (
            "post.comments.reply",
            vec![("comment_id", &post_comment), ("content", "")],
            2,
            &me,
        ),
        ("post.get", vec![("post_id", "999999")], 1, &me),
        ("post.getContext", vec![("post_id", "999999")], 1, &me),
        ("post.getFaves", vec![("post_id", "999999")], 1, &me),
        ("post.getList", vec![("user_id", "999999")], 1, &me),
        (
            "post.set",
            vec![("post_id", "1"), ("title", "x")],
            1,
            &alice,
        ),
        ("post.set", vec![("post_id", "1")], 2, &me),
        (
            "post.set",
            vec![("post_id", "1"), ("title", "x"), ("license", "4")],
            3,
            &me,
        ),
        (
            "tags.docs.getList",
            vec![("type", "keyword"), ("id", "999999")],
            1,
            &me,
        ),
        (
            "tags.user.getList",
            vec![("user_id", "999999"), ("type", "keyword")],
            1,
            &me,
        ),
        (
            "tags.user.getPopular",
            vec![("user_id", "999999"), ("type", "keyword")],
            1,
            &me,
        ),
        ("user.get", vec![("user_id", "999999")], 1, &me),
    ];
    for (method, params, expected, who) in &cases {
        assert_eq!(
            code(who, method, params).await,
            *expected,
            "{method} {params:?}"
        );
    }
    // group.docs.add 3 and 4: the small club takes two documents a week from a member, and
    // none from who does not belong to it.
    for n in 0..2 {
        let mine = upload(
            &me,
            photo(&format!("club{n}.jpg")).visibility(Visibility::Public),
        )
        .await;
        call(
            &me,
            "group.docs.add",
            &[("group_id", "3"), ("doc_id", &mine)],
        )
        .await
        .unwrap();
    }
    let third = upload(&me, photo("club2.jpg").visibility(Visibility::Public)).await;
    assert_eq!(
        code(
            &me,
            "group.docs.add",
            &[("group_id", "3"), ("doc_id", &third)]
        )
        .await,
        3
    );
    let bob = client(&emulator, Some(BOB));
    let bobs = upload(&bob, photo("bob.jpg").visibility(Visibility::Public)).await;
    assert_eq!(
        code(
            &bob,
            "group.docs.add",
            &[("group_id", "3"), ("doc_id", &bobs)]
        )
        .await,
        4
    );
    // doc.comments.add 3 and 109 are in the privacy test; the tag limit (doc.tags.add 3,
    // doc.tags.edit 3) in the emulator's unit tests and below.
    let many: String = (0..201)
        .map(|n| format!("k{n}"))
        .collect::<Vec<_>>()
        .join(",");
    assert_eq!(
        code(
            &me,
            "doc.tags.edit",
            &[("doc_id", &doc), ("keywords", &many)]
        )
        .await,
        3
    );
    assert_eq!(
        code(
            &me,
            "doc.tags.add",
            &[("doc_id", &doc), ("keywords", &many)]
        )
        .await,
        3
    );
    // The comment on a document is the author's to edit; the owner of the document may delete.
    assert_eq!(
        code(
            &alice,
            "doc.comments.edit",
            &[("comment_id", &comment), ("content", "x")]
        )
        .await,
        1
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn privacy_and_permissions_hold_from_both_sides() {
    let emulator = family().await;
    let me = client(&emulator, None);
    let [alice, bob, carol, dave] = [ALICE, BOB, CAROL, DAVE].map(|t| client(&emulator, Some(t)));
    let private = upload(&me, photo("p.jpg").visibility(Visibility::Private)).await;
    let friends = upload(&me, photo("f.jpg").visibility(Visibility::Friends)).await;
    let family_only = upload(&me, photo("y.jpg").visibility(Visibility::Family)).await;
    let public = upload(&me, photo("u.jpg").visibility(Visibility::Public)).await;
    let sees = |who: &Client, doc: &str| {
        let (who, doc) = (who.clone(), doc.to_owned());
        async move { call(&who, "doc.get", &[("doc_id", &doc)]).await.is_ok() }
    };
    // (viewer, private, friends, family, public)
    for (name, viewer, expected) in [
        ("owner", &me, [true, true, true, true]),
        ("friend", &alice, [false, true, false, true]),
        ("family", &bob, [false, false, true, true]),
        ("contact", &carol, [false, false, false, true]),
        ("stranger", &dave, [false, false, false, true]),
    ] {
        let seen = [
            sees(viewer, &private).await,
            sees(viewer, &friends).await,
            sees(viewer, &family_only).await,
            sees(viewer, &public).await,
        ];
        assert_eq!(seen, expected, "{name}");
        let listed = call(viewer, "doc.getList", &[("user_id", "1")])
            .await
            .unwrap();
        let total: usize = text(&listed, &["docs", "total"]).parse().unwrap();
        assert_eq!(
            total,
            expected.iter().filter(|s| **s).count(),
            "{name} lists"
        );
    }
    // An unsigned-in caller sees the public one only.
    let credentials = emulator.credentials();
    let anonymous = Client::builder()
        .endpoint(emulator.base_url())
        .credentials(credentials.api_key.clone(), credentials.secret.clone())
        .retry(ipernity::RetryPolicy::none())
        .build()
        .unwrap();
    assert_eq!(
        code(&anonymous, "doc.get", &[("doc_id", &private)]).await,
        1
    );
    assert!(
        call(&anonymous, "doc.get", &[("doc_id", &public)])
            .await
            .is_ok()
    );

    // Comments: friends and family only; the contact may not; the blocked member is refused.
    call(
        &me,
        "doc.setPerms",
        &[
            ("doc_id", &public),
            ("perm_comment", "3"),
            ("perm_tag", "4"),
            ("perm_tagme", "0"),
        ],
    )
    .await
    .unwrap();
    assert!(
        call(
            &alice,
            "doc.comments.add",
            &[("doc_id", &public), ("content", "nice")]
        )
        .await
        .is_ok()
    );
    assert!(
        call(
            &bob,
            "doc.comments.add",
            &[("doc_id", &public), ("content", "nice")]
        )
        .await
        .is_ok()
    );
    assert_eq!(
        code(
            &carol,
            "doc.comments.add",
            &[("doc_id", &public), ("content", "nice")]
        )
        .await,
        3
    );
    assert_eq!(
        code(
            &dave,
            "doc.comments.add",
            &[("doc_id", &public), ("content", "nice")]
        )
        .await,
        109
    );
    assert_eq!(
        code(&dave, "faves.docs.add", &[("doc_id", &public)]).await,
        109
    );
    assert!(
        call(&carol, "faves.docs.add", &[("doc_id", &public)])
            .await
            .is_ok()
    );
    // Tags: contacts may tag, nobody but the owner may tag themselves.
    assert!(
        call(
            &carol,
            "doc.tags.add",
            &[("doc_id", &public), ("keywords", "from-carol")]
        )
        .await
        .is_ok()
    );
    assert_eq!(
        code(
            &carol,
            "doc.tags.add",
            &[("doc_id", &public), ("members", "4")]
        )
        .await,
        1
    );
    assert_eq!(
        code(
            &dave,
            "doc.tags.add",
            &[("doc_id", &public), ("keywords", "x")]
        )
        .await,
        109
    );
    // What each side sees of it: the owner's getPerms, the visitor's can and you.
    let seen = call(&carol, "doc.get", &[("doc_id", &public)])
        .await
        .unwrap();
    assert_eq!(text(&seen, &["doc", "can", "comment"]), "0");
    assert_eq!(text(&seen, &["doc", "can", "tag"]), "1");
    assert_eq!(text(&seen, &["doc", "you", "isfave"]), "1");
    // Carol's second visit: the first was the visibility check above.
    assert_eq!(text(&seen, &["doc", "you", "visits"]), "2");
    let faves = call(&me, "doc.getFaves", &[("doc_id", &public)])
        .await
        .unwrap();
    assert_eq!(text(&faves, &["faves", "total"]), "1");
    let visitors = call(&me, "doc.getVisitors", &[("doc_id", &public)])
        .await
        .unwrap();
    assert!(
        text(&visitors, &["visits", "total"])
            .parse::<u32>()
            .unwrap()
            >= 3
    );
    assert_eq!(
        code(&carol, "doc.getVisitors", &[("doc_id", &public)]).await,
        1,
        "the owner's to see"
    );
    // A private group is its members' only; a moderated one holds documents for a moderator.
    let moderated = call(
        &alice,
        "group.docs.add",
        &[
            ("group_id", "1"),
            (
                "doc_id",
                &upload(&alice, photo("m.jpg").visibility(Visibility::Public)).await,
            ),
        ],
    )
    .await
    .unwrap();
    assert_eq!(text(&moderated, &["group", "pending"]), "1");
    // The network from both sides: user 1 lists alice as a friend, alice lists user 1 back.
    let network = call(&me, "network.getList", &[("relation", "2")])
        .await
        .unwrap();
    assert_eq!(text(&network, &["network", "total"]), "1");
    let alice_seen = call(&me, "user.get", &[("user_id", "2")]).await.unwrap();
    assert_eq!(text(&alice_seen, &["user", "relation", "isfriend"]), "1");
    assert_eq!(text(&alice_seen, &["user", "relation", "revfriend"]), "1");
    let blocked = call(&me, "network.getList", &[("relation", "8")])
        .await
        .unwrap();
    assert_eq!(text(&blocked, &["network", "total"]), "1");
    emulator.shutdown().await;
}

#[tokio::test]
async fn media_downloads_stream_resize_take_ranges_and_keep_private_files_private() {
    let emulator = family().await;
    let me = client(&emulator, None);
    let dave = client(&emulator, Some(DAVE));
    let bytes = sample_jpeg(1200, 900, Some("2011-11-14 11:56:49"), None);
    let doc = upload(
        &me,
        UploadFile::from_bytes("big.jpg", bytes.clone()).visibility(Visibility::Public),
    )
    .await;
    let medias = call(&me, "doc.getMedias", &[("doc_id", &doc)])
        .await
        .unwrap();
    let original = text(&medias, &["original", "url"]);
    assert!(
        original.starts_with(&format!("http://{}/", emulator.addr())),
        "{original}"
    );
    let http = reqwest::Client::new();
    let whole = http.get(&original).send().await.unwrap();
    assert_eq!(whole.status(), 200);
    assert_eq!(
        whole.bytes().await.unwrap().as_ref(),
        bytes.as_slice(),
        "byte for byte"
    );
    let part = http
        .get(&original)
        .header("Range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.headers()["content-range"].to_str().unwrap(),
        format!("bytes 10-19/{}", bytes.len())
    );
    assert_eq!(part.bytes().await.unwrap().as_ref(), &bytes[10..20]);
    let beyond = http
        .get(&original)
        .header("Range", format!("bytes={}-", bytes.len()))
        .send()
        .await
        .unwrap();
    assert_eq!(beyond.status(), 416);
    // Thumbnails are resized for real: the sizes the answer states.
    for thumb in medias.get("thumbs").unwrap().list("thumb") {
        let url = thumb.get("url").unwrap().to_text().unwrap().into_owned();
        let (w, h): (u32, u32) = (
            text(thumb, &["w"]).parse().unwrap(),
            text(thumb, &["h"]).parse().unwrap(),
        );
        let served = http.get(&url).send().await.unwrap().bytes().await.unwrap();
        let picture = image::load_from_memory(&served).unwrap();
        assert_eq!((picture.width(), picture.height()), (w, h), "{url}");
    }
    let label_500 = medias
        .get("thumbs")
        .unwrap()
        .list("thumb")
        .iter()
        .find(|t| text(t, &["label"]) == "500")
        .map(|t| (text(t, &["w"]), text(t, &["h"])))
        .unwrap();
    assert_eq!(label_500, ("500".to_owned(), "375".to_owned()));
    // A private document: a stranger gets no URL, and a guessed one is not served.
    call(&me, "doc.setPerms", &[("doc_id", &doc), ("share", "0")])
        .await
        .unwrap();
    assert_eq!(code(&dave, "doc.getMedias", &[("doc_id", &doc)]).await, 1);
    let guessed = original.replace(
        &original[original.find("/media/").unwrap() + 7..]
            .split('.')
            .nth(1)
            .unwrap()
            .to_owned(),
        "0123456789abcdef0123456789abcdef",
    );
    assert_eq!(http.get(&guessed).send().await.unwrap().status(), 404);
    // A public document shows its original to others only when they may download it.
    emulator.shutdown().await;
}

#[tokio::test]
async fn uploads_take_exif_dates_and_places_unless_told_and_refuse_what_the_page_refuses() {
    let emulator = family().await;
    let me = client(&emulator, None);
    let from_exif = upload(&me, photo("e.jpg")).await;
    let got = call(&me, "doc.get", &[("doc_id", &from_exif), ("extra", "geo")])
        .await
        .unwrap();
    assert_eq!(
        text(&got, &["doc", "dates", "created"]),
        "2011-11-14 11:56:49"
    );
    assert_eq!(
        text(&got, &["doc", "geo", "lat"])
            .parse::<f64>()
            .unwrap()
            .round(),
        44.0
    );
    assert_eq!(text(&got, &["doc", "media"]), "photo");
    assert_eq!(
        (
            text(&got, &["doc", "original", "w"]),
            text(&got, &["doc", "original", "h"])
        ),
        ("640".to_owned(), "480".to_owned())
    );
    let exif = call(&me, "doc.getExif", &[("doc_id", &from_exif)])
        .await
        .unwrap();
    assert_eq!(
        text(&exif, &["exif", "DateTimeOriginal"]),
        "2011-11-14 11:56:49"
    );
    assert_eq!(text(&exif, &["exif", "GPSLatitudeRef"]), "N");
    let overridden = upload(
        &me,
        photo("o.jpg")
            .created_at(ipernity::upload::CreatedAt::Text(
                "2020-05-06 07:08:09".into(),
            ))
            .geo(ipernity::upload::Geo::None),
    )
    .await;
    let got = call(&me, "doc.get", &[("doc_id", &overridden), ("extra", "geo")])
        .await
        .unwrap();
    assert_eq!(
        text(&got, &["doc", "dates", "created"]),
        "2020-05-06 07:08:09"
    );
    assert!(
        got.get("doc").unwrap().get("geo").is_none(),
        "-999: no location"
    );
    // Error 3: a video or audio file under 5 KB; nothing is kept.
    let refused = me
        .upload(UploadFile::from_bytes("clip.mp4", vec![7u8; 4000]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&refused), 3);
    // Error 4: the month's allowance (200,000 bytes here), which account.getQuota explains.
    let quota = call(&me, "account.getQuota", &[]).await.unwrap();
    let used: u64 = text(&quota, &["quota", "upload", "used", "bytes"])
        .parse()
        .unwrap();
    let left: u64 = text(&quota, &["quota", "upload", "left", "bytes"])
        .parse()
        .unwrap();
    assert_eq!(used + left, 200_000);
    let too_much = me
        .upload(UploadFile::from_bytes(
            "big.bin",
            vec![1u8; usize::try_from(left).unwrap() + 1],
        ))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&too_much), 4);
    let replaced = me
        .upload(
            UploadFile::from_bytes("big.jpg", vec![1u8; usize::try_from(left).unwrap() + 1])
                .replacing(from_exif.parse().unwrap()),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_code(&replaced),
        3,
        "upload.replace's code for the allowance"
    );
    // upload.replace 5: another kind of media.
    let kind = me
        .upload(
            UploadFile::from_bytes("song.mp3", vec![3u8; 6000])
                .replacing(from_exif.parse().unwrap()),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&kind), 5);
    emulator.shutdown().await;
}

#[tokio::test]
async fn request_quotas_answer_112_and_113_with_retry_after() {
    let emulator = Emulator::builder()
        .rate_limits(Some(3), None)
        .start()
        .await
        .unwrap();
    let credentials = emulator.credentials();
    let url = format!(
        "{}/test.hello/json?api_key={}",
        emulator.base_url(),
        credentials.api_key
    );
    let http = reqwest::Client::new();
    let mut codes = Vec::new();
    for _ in 0..6 {
        let answer = http.get(&url).send().await.unwrap();
        let retry_after = answer
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = answer.text().await.unwrap();
        codes.push((body.contains("\"112\""), retry_after));
    }
    assert!(
        codes
            .iter()
            .any(|(quota, after)| *quota && after.as_deref() == Some("1")),
        "{codes:?}"
    );
    assert!(!codes[0].0);
    emulator.shutdown().await;
    let emulator = Emulator::builder()
        .rate_limits(None, Some(2))
        .start()
        .await
        .unwrap();
    let client = client(&emulator, None);
    let mut refused = 0;
    for _ in 0..5 {
        if let Err(error) = client.call("test.hello").send().await {
            assert_eq!(error_code(&error), 113);
            refused += 1;
        }
    }
    assert!(refused >= 1);
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_seed_is_deterministic_and_rich() {
    let first = Emulator::builder().seed(300).start().await.unwrap();
    let second = Emulator::builder().seed(300).start().await.unwrap();
    let mut lists = Vec::new();
    for emulator in [&first, &second] {
        let me = client(emulator, None);
        let docs = call(
            &me,
            "doc.search",
            &[("user_id", "1"), ("per_page", "100"), ("extra", "md5")],
        )
        .await
        .unwrap();
        let md5s: Vec<String> = docs
            .get("docs")
            .unwrap()
            .list("doc")
            .iter()
            .map(|d| text(d, &["md5"]))
            .collect();
        lists.push(md5s);
        let albums = call(&me, "album.getList", &[]).await.unwrap();
        assert!(text(&albums, &["albums", "total"]).parse::<u32>().unwrap() >= 5);
        let groups = call(&me, "group.getList", &[]).await.unwrap();
        assert!(text(&groups, &["groups", "total"]).parse::<u32>().unwrap() >= 2);
        let network = call(&me, "network.getList", &[]).await.unwrap();
        assert!(
            text(&network, &["network", "total"])
                .parse::<u32>()
                .unwrap()
                >= 4
        );
        let first_doc = text(&docs.get("docs").unwrap().list("doc")[0], &["doc_id"]);
        let exif = call(&me, "doc.getExif", &[("doc_id", &first_doc)])
            .await
            .unwrap();
        assert!(exif.get("exif").unwrap().get("DateTimeOriginal").is_some());
        assert!(!emulator.seeded_members().is_empty());
        let member = &emulator.seeded_members()[0];
        let as_member = client(emulator, Some(member.token.expose()));
        let checked = call(&as_member, "auth.checkToken", &[]).await.unwrap();
        assert_eq!(
            text(&checked, &["auth", "user", "user_id"]),
            member.user_id.to_string()
        );
    }
    assert_eq!(lists[0], lists[1]);
    assert_eq!(
        lists[0]
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        lists[0].len(),
        "every file differs"
    );
    first.shutdown().await;
    second.shutdown().await;
}

#[tokio::test]
async fn albums_folders_and_album_documents_keep_the_order_their_owner_gives() {
    let emulator = family().await;
    let me = client(&emulator, None);
    let mut albums = Vec::new();
    let mut folders = Vec::new();
    for name in ["first", "second", "third"] {
        let album = call(&me, "album.create", &[("title", name)]).await.unwrap();
        albums.push(text(&album, &["album", "album_id"]));
        let folder = call(&me, "folder.create", &[("title", name)])
            .await
            .unwrap();
        folders.push(text(&folder, &["folder", "folder_id"]));
    }
    let order = format!("{},{}", albums[2], albums[0]);
    call(&me, "album.orderList", &[("album_ids", &order)])
        .await
        .unwrap();
    let listed = call(&me, "album.getList", &[]).await.unwrap();
    let ids: Vec<String> = listed
        .get("albums")
        .unwrap()
        .list("album")
        .iter()
        .map(|a| text(a, &["album_id"]))
        .collect();
    assert_eq!(
        ids,
        [albums[2].clone(), albums[0].clone(), albums[1].clone()]
    );
    let order = format!("{},{}", folders[1], folders[2]);
    call(&me, "folder.orderList", &[("folder_ids", &order)])
        .await
        .unwrap();
    let listed = call(&me, "folder.getList", &[]).await.unwrap();
    let ids: Vec<String> = listed
        .get("folders")
        .unwrap()
        .list("folder")
        .iter()
        .map(|f| text(f, &["folder_id"]))
        .collect();
    assert_eq!(
        ids,
        [folders[1].clone(), folders[2].clone(), folders[0].clone()]
    );
    // An album's documents in the order set, its cover among them; a removed one leaves it.
    let a = upload(&me, photo("a.jpg")).await;
    let b = upload(&me, photo("b.jpg")).await;
    let c = upload(&me, photo("c.jpg")).await;
    let list = format!("{c},{a},{b}");
    call(
        &me,
        "album.docs.setList",
        &[
            ("album_id", &albums[0]),
            ("doc_ids", &list),
            ("cover_id", &a),
        ],
    )
    .await
    .unwrap();
    let docs = call(&me, "album.docs.getList", &[("album_id", &albums[0])])
        .await
        .unwrap();
    let ids: Vec<String> = docs
        .get("album")
        .unwrap()
        .get("docs")
        .unwrap()
        .list("doc")
        .iter()
        .map(|d| text(d, &["doc_id"]))
        .collect();
    assert_eq!(ids, [c.clone(), a.clone(), b.clone()]);
    assert_eq!(text(&docs, &["album", "cover", "doc_id"]), a);
    call(
        &me,
        "album.docs.remove",
        &[("album_id", &albums[0]), ("doc_id", &a)],
    )
    .await
    .unwrap();
    let got = call(&me, "album.get", &[("album_id", &albums[0])])
        .await
        .unwrap();
    assert_eq!(
        text(&got, &["album", "cover", "doc_id"]),
        c,
        "the cover moves to the first left"
    );
    assert_eq!(text(&got, &["album", "count", "docs"]), "2");
    // Deleting a document takes it out of every album, group and folder cover.
    call(&me, "doc.delete", &[("doc_id", &c)]).await.unwrap();
    let got = call(&me, "album.docs.getList", &[("album_id", &albums[0])])
        .await
        .unwrap();
    assert_eq!(text(&got, &["album", "docs", "total"]), "1");
    emulator.shutdown().await;
}

#[tokio::test]
async fn the_emulators_own_limits_answer_their_documented_errors() {
    let emulator = family().await;
    let me = client(&emulator, None);
    let doc = upload(&me, photo("limits.jpg")).await;
    // doc.notes.add 5: a photo holds at most 100 notes.
    for n in 0..100 {
        let x = (n % 40).to_string();
        call(
            &me,
            "doc.notes.add",
            &[
                ("doc_id", &doc),
                ("content", "n"),
                ("x", &x),
                ("y", "1"),
                ("w", "5"),
                ("h", "5"),
            ],
        )
        .await
        .unwrap();
    }
    assert_eq!(
        code(
            &me,
            "doc.notes.add",
            &[
                ("doc_id", &doc),
                ("content", "n"),
                ("x", "1"),
                ("y", "1"),
                ("w", "5"),
                ("h", "5")
            ]
        )
        .await,
        5
    );
    // album.create 3: a document in at most 100 albums, then 4: at most 2,048 albums.
    for n in 0..100 {
        call(
            &me,
            "album.create",
            &[("title", &format!("c{n}")), ("cover_id", &doc)],
        )
        .await
        .unwrap();
    }
    assert_eq!(
        code(
            &me,
            "album.create",
            &[("title", "one more"), ("cover_id", &doc)]
        )
        .await,
        3
    );
    let mut last_album = String::new();
    for n in 100..2048 {
        let album = call(&me, "album.create", &[("title", &format!("a{n}"))])
            .await
            .unwrap();
        last_album = text(&album, &["album", "album_id"]);
    }
    assert_eq!(
        code(&me, "album.create", &[("title", "one too many")]).await,
        4
    );
    // folder.albums.add 3: a folder holds at most 1,000 albums.
    let listed = call(&me, "album.getList", &[("per_page", "100")])
        .await
        .unwrap();
    assert_eq!(text(&listed, &["albums", "total"]), "2048");
    let folder = text(
        &call(&me, "folder.create", &[("title", "full")])
            .await
            .unwrap(),
        &["folder", "folder_id"],
    );
    let first: u64 = last_album.parse::<u64>().unwrap() - 2047;
    let ids: Vec<String> = (first..first + 1001).map(|id| id.to_string()).collect();
    let mut owned = Vec::new();
    for id in ids {
        if call(&me, "album.get", &[("album_id", &id)]).await.is_ok() {
            owned.push(id);
        }
        if owned.len() == 1001 {
            break;
        }
    }
    let thousand = owned[..1000].join(",");
    call(
        &me,
        "folder.albums.add",
        &[("folder_id", &folder), ("album_id", &thousand)],
    )
    .await
    .unwrap();
    let more = owned.last().unwrap().clone();
    assert_eq!(
        code(
            &me,
            "folder.albums.add",
            &[("folder_id", &folder), ("album_id", &more)]
        )
        .await,
        3
    );
    // doc.comments.add 4: at most 10,000 comments on a document.
    for n in 0..10_000 {
        call(
            &me,
            "doc.comments.add",
            &[("doc_id", &doc), ("content", &format!("c{n}"))],
        )
        .await
        .unwrap();
    }
    assert_eq!(
        code(
            &me,
            "doc.comments.add",
            &[("doc_id", &doc), ("content", "one more")]
        )
        .await,
        4
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn an_album_takes_at_most_ten_thousand_documents() {
    // A seed gives user 1 enough documents (about 90 % of them).
    let emulator = Emulator::builder().seed(11_500).start().await.unwrap();
    let me = client(&emulator, None);
    let mut ids = Vec::new();
    let mut page = 1;
    while ids.len() < 10_001 {
        let docs = call(
            &me,
            "doc.getList",
            &[
                ("user_id", "1"),
                ("per_page", "100"),
                ("page", &page.to_string()),
            ],
        )
        .await
        .unwrap();
        let items = docs.get("docs").unwrap().list("doc");
        assert!(
            !items.is_empty(),
            "the seed gave user 1 {} documents",
            ids.len()
        );
        ids.extend(items.iter().map(|d| text(d, &["doc_id"])));
        page += 1;
    }
    ids.truncate(10_001);
    let album = text(
        &call(&me, "album.create", &[("title", "huge")])
            .await
            .unwrap(),
        &["album", "album_id"],
    );
    let all = ids.join(",");
    assert_eq!(
        code(
            &me,
            "album.docs.setList",
            &[
                ("album_id", &album),
                ("doc_ids", &all),
                ("cover_id", &ids[0])
            ]
        )
        .await,
        4
    );
    let fits = ids[..10_000].join(",");
    call(
        &me,
        "album.docs.setList",
        &[
            ("album_id", &album),
            ("doc_ids", &fits),
            ("cover_id", &ids[0]),
        ],
    )
    .await
    .unwrap();
    emulator.shutdown().await;
}

#[tokio::test]
async fn searches_filter_on_every_criterion_and_contexts_name_the_neighbours() {
    let emulator = family().await;
    let me = client(&emulator, None);
    let alice = client(&emulator, Some(ALICE));
    let sea = upload(
        &me,
        photo("sea.jpg")
            .title("Blue sea")
            .keywords(["sea", "summer"])
            .visibility(Visibility::Public),
    )
    .await;
    let city = upload(
        &me,
        photo("city.jpg")
            .title("Grey city")
            .keywords(["city"])
            .visibility(Visibility::Public),
    )
    .await;
    let clip = upload(
        &me,
        UploadFile::from_bytes("clip.mp4", vec![5u8; 8000])
            .title("Sea clip")
            .keywords(["sea"])
            .visibility(Visibility::Public),
    )
    .await;
    let hers = upload(
        &alice,
        photo("hers.jpg")
            .title("Her sea")
            .keywords(["sea"])
            .visibility(Visibility::Public),
    )
    .await;
    let ids = |answer: &Value| -> Vec<String> {
        let mut ids: Vec<String> = answer
            .get("docs")
            .unwrap()
            .list("doc")
            .iter()
            .map(|d| text(d, &["doc_id"]))
            .collect();
        ids.sort();
        ids
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let search = |params: Vec<(&'static str, String)>| {
        let me = me.clone();
        async move {
            let borrowed: Vec<(&str, &str)> =
                params.iter().map(|(k, v)| (*k, v.as_str())).collect();
            call(&me, "doc.search", &borrowed).await.unwrap()
        }
    };
    assert_eq!(
        ids(&search(vec![("text", "sea".into())]).await),
        sorted(vec![sea.clone(), clip.clone(), hers.clone()])
    );
    assert_eq!(
        ids(&search(vec![("tags", "sea,summer".into())]).await),
        vec![sea.clone()]
    );
    assert_eq!(
        ids(&search(vec![("text", "sea".into()), ("user_id", "1".into())]).await),
        sorted(vec![sea.clone(), clip.clone()])
    );
    assert_eq!(
        ids(&search(vec![("text", "sea".into()), ("media", "video".into())]).await),
        vec![clip.clone()]
    );
    assert_eq!(
        ids(&search(vec![
            ("created_min", "2011-11-14 00:00:00".into()),
            ("created_max", "2011-11-15 00:00:00".into()),
            ("user_id", "1".into())
        ])
        .await),
        sorted(vec![sea.clone(), city.clone()])
    );
    assert!(ids(&search(vec![("posted_max", "1000".into())]).await).is_empty());
    let near = search(vec![
        ("lat", "43.5".into()),
        ("lng", "7.25".into()),
        ("dist", "1000".into()),
        ("user_id", "1".into()),
    ])
    .await;
    assert_eq!(
        ids(&near),
        sorted(vec![sea.clone(), city.clone()]),
        "the photos carry EXIF places"
    );
    // The context of the middle one of the caller's documents, oldest first.
    let context = call(&me, "doc.getContext", &[("doc_id", &city)])
        .await
        .unwrap();
    let neighbour = |side: &str| text(&context.get(side).unwrap().list("doc")[0], &["doc_id"]);
    assert_eq!(neighbour("prev"), sea);
    assert_eq!(neighbour("next"), clip);
    assert_eq!(text(&context, &["prev", "count"]), "1");
    // Explore: the latest public documents, newest first.
    let recent = call(&me, "explore.docs.getRecent", &[("count", "2")])
        .await
        .unwrap();
    let first = text(&recent.get("docs").unwrap().list("doc")[0], &["doc_id"]);
    assert_eq!(first, hers);
    emulator.shutdown().await;
}

#[tokio::test]
async fn latency_delays_downloads_as_it_delays_answers() {
    let emulator = Emulator::builder()
        .ticket_delay(Duration::from_millis(10))
        .latency(Duration::from_millis(150))
        .start()
        .await
        .unwrap();
    let me = client(&emulator, None);
    let doc = upload(&me, photo("slow.jpg")).await;
    let medias = call(&me, "doc.getMedias", &[("doc_id", &doc)])
        .await
        .unwrap();
    let original = text(&medias, &["original", "url"]);
    let began = std::time::Instant::now();
    let served = reqwest::get(&original).await.unwrap();
    assert_eq!(served.status(), 200);
    assert!(
        began.elapsed() >= Duration::from_millis(150),
        "{:?}",
        began.elapsed()
    );
    emulator.shutdown().await;
}
