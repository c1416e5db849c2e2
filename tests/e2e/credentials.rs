//! The emulator's credentials are real credentials: what it issues cannot be guessed, a token is
//! never accepted without a signature, the provisioned token holds what the start said (not
//! what an earlier start kept), and empty credentials are refused.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use ipernity::methods::{Level, Target};
use ipernity::server::{Emulator, EmulatorHandle, Grants};
use ipernity::{Client, Format, RetryPolicy, Value};

fn client(emulator: &EmulatorHandle, token: Option<&str>) -> Client {
    let credentials = emulator.credentials();
    let mut builder = Client::builder()
        .endpoint(emulator.base_url())
        .credentials(credentials.api_key.clone(), credentials.secret.clone())
        .retry(RetryPolicy::none());
    if let Some(token) = token {
        builder = builder.token(token);
    }
    builder.build().unwrap()
}

use crate::support::api_code;

fn text(value: &Value, path: &[&str]) -> String {
    let mut current = value;
    for key in path {
        current = current
            .get(key)
            .unwrap_or_else(|| panic!("no {key} in {value:?}"));
    }
    current.to_text().unwrap().into_owned()
}

/// A token through the desktop flow: frob, approval on the authorization page, token.
async fn issue_token(emulator: &EmulatorHandle, app: &Client) -> (String, String) {
    let credentials = emulator.credentials();
    let frob = app.auth().get_frob().await.unwrap();
    let link: ipernity::Params = [
        ("api_key", credentials.api_key.as_str()),
        ("frob", frob.as_str()),
        ("perm_doc", "read"),
    ]
    .into_iter()
    .collect();
    let signature = ipernity::sign::auth_link_sig(&link, &credentials.secret);
    let url = format!(
        "http://{}/apps/authorize?api_key={}&frob={frob}&perm_doc=read&api_sig={signature}",
        emulator.addr(),
        credentials.api_key
    );
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 200);
    let token = app.auth().get_token(&frob).await.unwrap();
    (frob, token.token.expose().to_owned())
}

/// 32 lowercase hex digits and nothing else: 128 bits, no counter, no clock.
fn looks_random(value: &str) -> bool {
    value.len() == 32
        && value
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[tokio::test]
async fn tokens_frobs_and_secrets_come_from_the_random_source() {
    let emulator = Emulator::builder().start().await.unwrap();
    let credentials = emulator.credentials();
    assert!(
        looks_random(credentials.secret.expose()),
        "the default secret"
    );
    assert!(
        looks_random(credentials.token.as_ref().unwrap().expose()),
        "the default token"
    );
    let app = client(&emulator, None);
    let mut seen = std::collections::HashSet::new();
    for _ in 0..3 {
        let (frob, token) = issue_token(&emulator, &app).await;
        assert!(looks_random(&frob), "frob {frob}");
        assert!(looks_random(&token), "token {token}");
        assert!(seen.insert(frob) && seen.insert(token));
    }
    // OAuth: request token, its secret, access token and its secret.
    let request = app.oauth().request_token(None).await.unwrap();
    assert!(
        looks_random(&request.token),
        "request token {}",
        request.token
    );
    assert!(
        looks_random(request.secret.expose()),
        "request token secret"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_token_without_a_signature_is_refused_on_every_method() {
    let emulator = Emulator::builder().start().await.unwrap();
    let credentials = emulator.credentials();
    let token = credentials.token.clone().unwrap();
    let signed = client(&emulator, Some(token.expose()));
    let uploaded = signed
        .upload(
            ipernity::upload::UploadFile::from_bytes("a.jpg", b"\xff\xd8 private".to_vec())
                .asynchronous(false),
        )
        .send()
        .await
        .unwrap();
    let doc_id = uploaded.doc_id.unwrap();
    let http = reqwest::Client::new();
    for (method, extra) in [
        ("doc.get", format!("&doc_id={doc_id}")),
        ("doc.getList", String::new()),
        ("test.hello", String::new()),
        ("auth.checkToken", String::new()),
    ] {
        let url = format!(
            "{}/{method}/json?api_key={}&auth_token={}{extra}",
            emulator.base_url(),
            credentials.api_key,
            token.expose()
        );
        let body = http.get(&url).send().await.unwrap().bytes().await.unwrap();
        assert_eq!(
            api_code(Format::Json.decode(&body)),
            104,
            "{method} with a token and no api_sig"
        );
    }
    // Signed, the same read works.
    let doc = signed
        .call("doc.get")
        .param("doc_id", doc_id)
        .send()
        .await
        .unwrap();
    assert_eq!(text(&doc, &["doc", "doc_id"]), doc_id.to_string());
    emulator.shutdown().await;
}

#[tokio::test]
async fn the_provisioned_token_holds_what_this_start_grants() {
    let dir = std::env::temp_dir().join(format!("ipernity-test-perms-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let full = Emulator::builder()
        .data_dir(&dir)
        .api_key("perms-key")
        .secret("perms-secret")
        .token("perms-token")
        .start()
        .await
        .unwrap();
    let deleted = client(&full, Some("perms-token"))
        .call("doc.delete")
        .param("doc_id", 1)
        .send()
        .await;
    // Allowed (the document does not exist: a method error, not 110).
    assert_ne!(api_code(deleted), 110);
    full.shutdown().await;

    let read_only: Grants = [(Target::Doc, Level::Read)].into_iter().collect();
    let limited = Emulator::builder()
        .data_dir(&dir)
        .api_key("perms-key")
        .secret("perms-secret")
        .token("perms-token")
        .grants(read_only)
        .start()
        .await
        .unwrap();
    let client = client(&limited, Some("perms-token"));
    let checked = client.auth().check_token().await.unwrap();
    assert_eq!(checked.permissions.to_string(), "doc=read");
    let refused = client.call("doc.delete").param("doc_id", 1).send().await;
    assert_eq!(api_code(refused), 110, "the restart's --perms rule");
    limited.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn empty_credentials_are_refused() {
    for builder in [
        Emulator::builder().api_key(""),
        Emulator::builder().secret(""),
        Emulator::builder().token(""),
        Emulator::builder().token("  "),
    ] {
        let error = builder.start().await.unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
        assert!(error.to_string().contains("is empty"), "{error}");
    }
}
