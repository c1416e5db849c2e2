//! Authorization end to end against the emulator: the desktop and web frob flows, OAuth 1.0a on
//! every transport and placement, every OAuth error code, the permission pre-flight, and secrets
//! kept out of `Debug`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::time::Duration;

use ipernity::auth::Permissions;
use ipernity::client::HttpResponse;
use ipernity::client::test_util::CapturingSender;
use ipernity::methods::{Level, Permission, Target};
use ipernity::oauth::{OAuthSigner, OAuthToken, Placement, SignatureMethod};
use ipernity::server::{Emulator, EmulatorHandle};
use ipernity::upload::UploadFile;
use ipernity::{Client, Error, ErrorCode, Format, HttpMethod, HttpRequest, Protocol, RetryPolicy};

fn ok_response() -> HttpResponse {
    HttpResponse {
        status: 200,
        headers: Vec::new(),
        body: br#"{"api":{"status":"ok"}}"#.to_vec(),
    }
}

/// A client with the emulator's application credentials and no token.
fn app_client(emulator: &EmulatorHandle, protocol: Protocol) -> Client {
    let credentials = emulator.credentials();
    Client::builder()
        .endpoint(emulator.base_url())
        .credentials(credentials.api_key.clone(), credentials.secret.clone())
        .protocol(protocol)
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

/// What a browser does with a link: follows it, and says where it was sent next.
async fn open(url: &str) -> (u16, Option<String>, String) {
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = browser.get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    (status, location, response.text().await.unwrap())
}

use crate::support::error_code as api_code;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desktop_flow_on_every_transport() {
    let emulator = Emulator::builder().start().await.unwrap();
    let perms: Permissions = "doc=write,network=read,profile=read".parse().unwrap();
    for protocol in Protocol::ALL {
        let client = app_client(&emulator, protocol);
        let auth = client.auth();
        let frob = auth.get_frob().await.unwrap();
        // Not authorized yet: error 2.
        assert_eq!(api_code(&auth.get_token(&frob).await.unwrap_err()), 2);
        let (status, _, page) = open(&auth.desktop_authorize_url(&frob, &perms)).await;
        assert_eq!(status, 200, "{page}");
        let token = auth.get_token(&frob).await.unwrap();
        assert_eq!(token.permissions, perms, "{protocol}");
        assert_eq!(token.user.username, "emulated");
        // Single use.
        assert_eq!(api_code(&auth.get_token(&frob).await.unwrap_err()), 2);

        // The token works, and the client knows what it allows.
        let user = Client::builder()
            .endpoint(emulator.base_url())
            .credentials(
                emulator.credentials().api_key.clone(),
                emulator.credentials().secret.clone(),
            )
            .protocol(protocol)
            .user_token(&token)
            .build()
            .unwrap();
        let checked = user.auth().check_token().await.unwrap();
        assert_eq!(checked, token, "{protocol}");
        user.call("doc.getList")
            .param("user_id", 1)
            .send()
            .await
            .unwrap();
        let before = emulator.requests_seen();
        let error = user
            .call("doc.delete")
            .param("doc_id", 1)
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(
                &error,
                Error::PermissionMissing { method, needed }
                    if method == "doc.delete" && *needed == Permission::new(Target::Doc, Level::Delete)
            ),
            "{error:?}"
        );
        assert!(error.to_string().contains("doc:delete"), "{error}");
        let error = user
            .upload(UploadFile::from_bytes("a.jpg", vec![1]))
            .send()
            .await;
        assert!(error.is_ok(), "doc=write allows uploads: {error:?}");
        let posts = user
            .call("post.getVisitors")
            .param("post_id", 1)
            .send()
            .await;
        assert!(
            matches!(posts, Err(Error::PermissionMissing { needed, .. }) if needed == Permission::new(Target::Post, Level::Read)),
            "{posts:?}"
        );
        assert_eq!(
            emulator.requests_seen(),
            before + 1,
            "only the upload was sent"
        );
    }
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frobs_are_checked_missing_invalid_and_expired() {
    let emulator = Emulator::builder()
        .auth_lifetime(Duration::from_millis(300))
        .start()
        .await
        .unwrap();
    let client = app_client(&emulator, Protocol::Rest);
    // Error 1: no frob at all.
    let error = client
        .call("auth.getToken")
        .unchecked()
        .send()
        .await
        .unwrap_err();
    assert_eq!(api_code(&error), 1);
    // Error 2: a frob the service never gave.
    let error = client.auth().get_token("1-nothing").await.unwrap_err();
    assert_eq!(api_code(&error), 2);
    // Expired before the user came back.
    let frob = client.auth().get_frob().await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (status, _, page) = open(
        &client
            .auth()
            .desktop_authorize_url(&frob, &"doc=read".parse().unwrap()),
    )
    .await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("expired"), "{page}");
    assert_eq!(
        api_code(&client.auth().get_token(&frob).await.unwrap_err()),
        2
    );
    // A link signed with another secret is refused.
    let forged = Client::builder()
        .endpoint(emulator.base_url())
        .credentials(emulator.credentials().api_key.clone(), "not-the-secret")
        .build()
        .unwrap();
    let (status, _, _) = open(&forged.auth().authorize_url(&Permissions::new())).await;
    assert_eq!(status, 403);
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_flow_lands_on_the_callback_with_a_frob() {
    let emulator = Emulator::builder()
        .callback("https://app.example/ipernity?session=7")
        .start()
        .await
        .unwrap();
    for protocol in Protocol::ALL {
        let client = app_client(&emulator, protocol);
        let url = client.auth().authorize_url(&"blog=write".parse().unwrap());
        assert!(url.starts_with(&format!(
            "{}/apps/authorize?api_key=",
            emulator.base_url().trim_end_matches("/api")
        )));
        let (status, location, _) = open(&url).await;
        assert_eq!(status, 302);
        let location = location.unwrap();
        let frob = location
            .strip_prefix("https://app.example/ipernity?session=7&frob=")
            .unwrap_or_else(|| panic!("{location}"));
        let token = client.auth().get_token(frob).await.unwrap();
        assert_eq!(token.permissions.to_string(), "blog=write");
    }
    emulator.shutdown().await;

    // Without a configured callback the emulator's own page shows the frob.
    let emulator = Emulator::builder().start().await.unwrap();
    let client = app_client(&emulator, Protocol::Rest);
    let (_, location, _) = open(&client.auth().authorize_url(&Permissions::new())).await;
    let origin = emulator.base_url().trim_end_matches("/api").to_owned();
    let (status, _, page) = open(&format!("{origin}{}", location.unwrap())).await;
    assert_eq!(status, 200);
    let frob = page.strip_prefix("frob=").unwrap();
    assert!(client.auth().get_token(frob).await.is_ok());
    emulator.shutdown().await;
}

/// Goes through the OAuth flow and returns the access token.
async fn oauth_access(emulator: &EmulatorHandle, perms: &str) -> OAuthToken {
    let client = app_client(emulator, Protocol::Rest);
    let flow = client.oauth();
    let request = flow.request_token(None).await.unwrap();
    // Not authorized yet.
    let early = flow.access_token(&request).await.unwrap_err();
    assert_eq!(api_code(&early), 107, "{early:?}");
    let permissions: Permissions = perms.parse().unwrap();
    let url = flow.authorize_url(&request, &permissions);
    let suffix: String = permissions
        .params()
        .map(|(name, level)| format!("&{name}={level}"))
        .collect();
    assert!(url.ends_with(&suffix), "{url}");
    let (status, _, page) = open(&url).await;
    assert_eq!(status, 200, "{page}");
    let access = flow.access_token(&request).await.unwrap();
    // A request token is exchanged once.
    assert_eq!(
        api_code(&flow.access_token(&request).await.unwrap_err()),
        107
    );
    access
}

fn oauth_client(
    emulator: &EmulatorHandle,
    token: &OAuthToken,
    protocol: Protocol,
    placement: Placement,
    method: SignatureMethod,
) -> Client {
    let credentials = emulator.credentials();
    Client::builder()
        .endpoint(emulator.base_url())
        .credentials(credentials.api_key.clone(), credentials.secret.clone())
        .protocol(protocol)
        .oauth_token(token.clone())
        .oauth_placement(placement)
        .oauth_signature_method(method)
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_calls_and_uploads_on_every_transport_and_placement() {
    let emulator = Emulator::builder()
        .ticket_delay(Duration::ZERO)
        .start()
        .await
        .unwrap();
    let access = oauth_access(&emulator, "doc=delete,network=read").await;
    for protocol in Protocol::ALL {
        for placement in [Placement::Header, Placement::Query, Placement::Body] {
            for method in [SignatureMethod::HmacSha1, SignatureMethod::Plaintext] {
                let client = oauth_client(&emulator, &access, protocol, placement, method);
                let what = format!("{protocol} {placement:?} {method:?}");
                if method == SignatureMethod::Plaintext {
                    // The emulator is plain HTTP: PLAINTEXT would carry the secrets in the
                    // clear, and is refused as its message says.
                    let error = client.auth().check_token().await.unwrap_err();
                    assert_eq!(api_code(&error), 135, "{what}");
                    assert!(
                        error.to_string().contains("PLAINTEXT needs HTTPS"),
                        "{what}: {error}"
                    );
                    let before = emulator.last_upload().map(|u| u.length);
                    let refused = client
                        .upload(UploadFile::from_bytes("p.jpg", vec![5; 3001]).asynchronous(false))
                        .send()
                        .await
                        .unwrap_err();
                    assert_eq!(api_code(&refused), 135, "{what}");
                    assert_eq!(emulator.last_upload().map(|u| u.length), before, "{what}");
                    continue;
                }
                let token = client.auth().check_token().await.unwrap();
                assert_eq!(
                    token.permissions.to_string(),
                    "doc=delete,network=read",
                    "{what}"
                );
                let echo = client
                    .call("test.echo")
                    .param("echo", "é & <ok>")
                    .send()
                    .await
                    .unwrap();
                assert_eq!(
                    echo.get("echo").unwrap().as_str(),
                    Some("é & <ok>"),
                    "{what}"
                );
                let uploaded = client
                    .upload(
                        UploadFile::from_bytes("o.jpg", vec![5; 3000])
                            .title("signed by oauth")
                            .asynchronous(false),
                    )
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
                let received = emulator.last_upload().unwrap();
                assert_eq!(received.params.get("title"), Some("signed by oauth"));
                for absent in ["api_key", "api_sig", "auth_token"] {
                    assert!(received.params.get(absent).is_none(), "{what}: {absent}");
                }
                client
                    .call("doc.delete")
                    .param("doc_id", uploaded.doc_id.unwrap())
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
            }
        }
    }
    // An OAuth access token is not an auth_token, and an auth_token does not sign OAuth.
    let credentials = emulator.credentials();
    let misuse = Client::builder()
        .endpoint(emulator.base_url())
        .credentials(credentials.api_key.clone(), credentials.secret.clone())
        .token(access.token.clone())
        .build()
        .unwrap();
    assert_eq!(
        api_code(
            &misuse
                .call("doc.getList")
                .param("user_id", 1)
                .send()
                .await
                .unwrap_err()
        ),
        107
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn oauth_calls_carry_no_api_key_signature_or_token() {
    let sender = std::sync::Arc::new(CapturingSender::new(ok_response()));
    let client = Client::builder()
        .endpoint("https://api.ipernity.com/api")
        .credentials("consumer", "consumer-secret")
        .oauth_token(OAuthToken::new("access", "access-secret"))
        .sender(sender.clone())
        .build()
        .unwrap();
    client.call("doc.get").param("doc_id", 1).send().await.ok();
    let sent = sender.requests();
    let request = sent.last().unwrap();
    let text = String::from_utf8_lossy(&request.to_http_text()).into_owned();
    for absent in [
        "api_key",
        "api_sig",
        "?auth_token",
        "&auth_token",
        "consumer-secret",
        "access-secret",
    ] {
        assert!(!text.contains(absent), "{absent} in {text}");
    }
    assert!(
        text.contains("Authorization: OAuth oauth_consumer_key=\"consumer\""),
        "{text}"
    );
    assert!(text.contains("oauth_token=\"access\""), "{text}");
    assert!(!format!("{client:?}").contains("access-secret"));
}

/// A request to `test.echo` signed as the emulator's application, optionally tampered with.
fn signed_echo(
    emulator: &EmulatorHandle,
    extra: &[(&str, &str)],
    nonce: &str,
    timestamp: &str,
) -> HttpRequest {
    let credentials = emulator.credentials();
    let mut request = HttpRequest {
        method: HttpMethod::Get,
        url: format!("{}/test.echo/json?echo=x", emulator.base_url()),
        headers: Vec::new(),
        body: Vec::new(),
    };
    let extra: Vec<(String, String)> = extra
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    OAuthSigner {
        consumer_key: credentials.api_key.clone(),
        consumer_secret: credentials.secret.clone(),
        token: None,
        method: SignatureMethod::HmacSha1,
        placement: Placement::Header,
    }
    .sign_with(&mut request, &extra, &[], nonce, timestamp)
    .unwrap();
    request
}

async fn send(request: HttpRequest) -> Result<ipernity::Value, Error> {
    let http = reqwest::Client::new();
    let mut builder = http.get(&request.url);
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let body = builder.send().await.unwrap().bytes().await.unwrap();
    Format::Json.decode(&body)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_oauth_error_code_is_provoked() {
    let emulator = Emulator::builder().start().await.unwrap();
    let ts = now().to_string();

    // A correctly signed request passes, and its replay is refused (133).
    let good = signed_echo(&emulator, &[], "nonce-1", &ts);
    assert!(send(good.clone()).await.is_ok());
    let replay = send(good).await.unwrap_err();
    assert_eq!(api_code(&replay), 133, "{replay}");
    assert_eq!(
        replay.api_error().unwrap().code,
        ErrorCode::OAuthNonceInvalid
    );

    // 130: a version other than 1.0.
    let error = send(signed_echo(
        &emulator,
        &[("oauth_version", "2.0")],
        "n2",
        &ts,
    ))
    .await
    .unwrap_err();
    assert_eq!(api_code(&error), 130);

    // 131: parameters missing, each named.
    let mut bare = signed_echo(&emulator, &[], "n3", &ts);
    bare.headers = vec![(
        "Authorization".into(),
        format!(
            "OAuth oauth_consumer_key=\"{}\"",
            emulator.credentials().api_key
        ),
    )];
    let error = send(bare).await.unwrap_err();
    assert_eq!(api_code(&error), 131);
    let message = &error.api_error().unwrap().message;
    for name in [
        "oauth_signature_method",
        "oauth_signature",
        "oauth_timestamp",
        "oauth_nonce",
    ] {
        assert!(message.contains(name), "{message}");
    }

    // 132: a clock twenty minutes off.
    let skewed = (now() - 1200).to_string();
    let error = send(signed_echo(&emulator, &[], "n4", &skewed))
        .await
        .unwrap_err();
    assert_eq!(api_code(&error), 132);

    // 134: a timestamp that is not one.
    let error = send(signed_echo(&emulator, &[], "n5", "yesterday"))
        .await
        .unwrap_err();
    assert_eq!(api_code(&error), 134);

    // 135: a signature method the service does not take.
    let mut rsa = signed_echo(&emulator, &[], "n6", &ts);
    let header = &mut rsa.headers[0].1;
    *header = header.replace("HMAC-SHA1", "RSA-SHA1");
    let error = send(rsa).await.unwrap_err();
    assert_eq!(api_code(&error), 135);

    // 105: a signature that does not match; 101: an unknown consumer.
    let mut forged = signed_echo(&emulator, &[], "n7", &ts);
    forged.url.push_str("&extra=1");
    assert_eq!(api_code(&send(forged).await.unwrap_err()), 105);
    let mut stranger = signed_echo(&emulator, &[], "n8", &ts);
    let header = &mut stranger.headers[0].1;
    *header = header.replace(&emulator.credentials().api_key, "someone-else");
    assert_eq!(api_code(&send(stranger).await.unwrap_err()), 101);

    // The token exchange answers OAuth errors as typed API errors too.
    let credentials = emulator.credentials();
    let wrong_secret = Client::builder()
        .endpoint(emulator.base_url())
        .credentials(credentials.api_key.clone(), "wrong")
        .build()
        .unwrap();
    let error = wrong_secret.oauth().request_token(None).await.unwrap_err();
    assert_eq!(api_code(&error), 105);
    emulator.shutdown().await;
}

#[tokio::test]
async fn plaintext_is_refused_to_a_remote_http_endpoint() {
    let client = Client::builder()
        .endpoint("http://api.ipernity.com/api")
        .credentials("k", "s")
        .oauth_token(OAuthToken::new("t", "ts"))
        .oauth_signature_method(SignatureMethod::Plaintext)
        .sender(std::sync::Arc::new(CapturingSender::new(ok_response())))
        .build()
        .unwrap();
    let error = client
        .call("test.echo")
        .param("echo", "x")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::InvalidParam { param, .. } if param == "oauth_signature_method"),
        "{error:?}"
    );
}

/// Everything the crate logs, as text.
#[derive(Default, Clone)]
struct CapturedLog(std::sync::Arc<std::sync::Mutex<String>>);

impl tracing::field::Visit for CapturedLog {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let mut text = self.0.lock().unwrap();
        text.push_str(&format!("{}={value:?} ", field.name()));
    }
}

impl tracing::Subscriber for CapturedLog {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        span.record(&mut self.clone());
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        values.record(&mut self.clone());
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        event.record(&mut self.clone());
        self.0.lock().unwrap().push('\n');
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[tokio::test(flavor = "current_thread")]
async fn secrets_stay_out_of_logs_errors_and_debug() {
    use ipernity::client::test_util::{ReplaySender, Reply};
    let unavailable = || HttpResponse {
        status: 503,
        headers: Vec::new(),
        body: b"<html>busy</html>".to_vec(),
    };
    let log = CapturedLog::default();
    let _guard = tracing::subscriber::set_default(log.clone());
    for oauth in [false, true] {
        let sender = std::sync::Arc::new(ReplaySender::new([
            Reply::from(unavailable()),
            Reply::from(unavailable()),
            Reply::from(unavailable()),
            Reply::from(unavailable()),
        ]));
        let mut builder = Client::builder()
            .credentials("app-key", "APP-SECRET-1")
            .retry(RetryPolicy {
                max_retries: 2,
                initial_backoff: Duration::from_millis(1),
                max_backoff: Duration::from_millis(2),
                max_elapsed: Duration::from_secs(5),
            })
            .sender(sender);
        builder = if oauth {
            builder.oauth_token(OAuthToken::new("ACCESS-TOKEN-2", "TOKEN-SECRET-3"))
        } else {
            builder.token("AUTH-TOKEN-4")
        };
        let debug_builder = format!("{builder:?}");
        let client = builder.build().unwrap();
        let error = client
            .call("doc.get")
            .param("doc_id", 1)
            .send()
            .await
            .unwrap_err();
        let shown = format!(
            "{debug_builder}\n{client:?}\n{error}\n{error:?}\n{}",
            log.0.lock().unwrap()
        );
        assert!(
            shown.contains("retrying"),
            "the retries were logged: {shown}"
        );
        for secret in ["APP-SECRET-1", "TOKEN-SECRET-3", "AUTH-TOKEN-4"] {
            assert!(!shown.contains(secret), "{secret} shown in: {shown}");
        }
    }
}

/// A captured OAuth request does not replay after a restart: the nonces inside the clock window
/// are kept with the rest of the state.
#[tokio::test]
async fn a_captured_oauth_request_does_not_replay_after_a_restart() {
    let dir = std::env::temp_dir().join(format!("ipernity-test-nonces-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let first = Emulator::builder().data_dir(&dir).start().await.unwrap();
    let credentials = first.credentials();
    let captured = signed_echo(&first, &[], "captured-nonce", &now().to_string());
    assert!(send(captured.clone()).await.is_ok());
    let addr = first.addr();
    first.shutdown().await;

    let second = Emulator::builder()
        .addr(addr)
        .data_dir(&dir)
        .api_key(credentials.api_key.clone())
        .secret(credentials.secret.clone())
        .start()
        .await
        .unwrap();
    let replay = send(captured).await.unwrap_err();
    assert_eq!(api_code(&replay), 133, "{replay}");
    // A fresh nonce still passes.
    let fresh = signed_echo(&second, &[], "fresh-nonce", &now().to_string());
    assert!(send(fresh).await.is_ok());
    second.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The authorization flows hold a clone of the client: each step can be spawned as a task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_authorization_step_can_be_spawned() {
    let emulator = Emulator::builder().start().await.unwrap();
    let app = app_client(&emulator, Protocol::Rest);
    let perms: Permissions = "doc=read".parse().unwrap();
    let frob = tokio::spawn(app.auth().get_frob()).await.unwrap().unwrap();
    let (status, _, _) = open(&app.auth().desktop_authorize_url(&frob, &perms)).await;
    assert_eq!(status, 200);
    let token = tokio::spawn(app.auth().get_token(&frob))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(token.permissions, perms);

    let request = tokio::spawn(app.oauth().request_token(None))
        .await
        .unwrap()
        .unwrap();
    let (status, _, _) = open(&app.oauth().authorize_url(&request, &perms)).await;
    assert_eq!(status, 200);
    let access = tokio::spawn(app.oauth().access_token(&request))
        .await
        .unwrap()
        .unwrap();
    assert!(!access.token.is_empty());
    emulator.shutdown().await;
}
