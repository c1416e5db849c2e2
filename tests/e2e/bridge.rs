//! The protocol bridge in front of the emulator: every answer equal to what the emulator gives
//! the same call directly, errors in the caller's format, uploads streamed through, upstream
//! failures as service errors in time.

use std::time::{Duration, Instant};

use ipernity::bridge::{Bridge, BridgeHandle};
use ipernity::server::{Emulator, EmulatorHandle, Fault, Schedule};
use ipernity::{Call, Credentials, Format, Protocol, RetryPolicy};

const KEY: &str = "bridgekey";
const SECRET: &str = "bridgesecret";
const TOKEN: &str = "bridgetoken";
/// A document of the caller's in `twin()`'s seed.
const SEEDED_DOC: &str = "1111";

/// One of two emulators built alike: the same seed, credentials and settings, so the same
/// calls in the same order give the same answers.
async fn twin() -> EmulatorHandle {
    Emulator::builder()
        .credentials(KEY, SECRET)
        .token(TOKEN)
        .seed(40)
        .ticket_delay(Duration::from_millis(20))
        .start()
        .await
        .unwrap()
}

fn credentials() -> Credentials {
    Credentials::new(KEY, SECRET).with_token(TOKEN)
}

/// Sends `call` (signed unless `sign` is false) over `protocol` asking for `format`; the raw
/// answer and its content type.
async fn raw(
    base: &str,
    protocol: Protocol,
    format: Format,
    call: &Call,
    sign: bool,
) -> (Vec<u8>, String) {
    let call = match sign {
        true => call.clone().signed(&credentials()),
        false => call.clone(),
    };
    let request = protocol
        .transport()
        .encode(base, &call, Some(format))
        .unwrap();
    send(request).await
}

/// One HTTP client for the whole file: building one loads the trust store.
fn http() -> &'static reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(reqwest::Client::new)
}

async fn send(request: ipernity::protocol::HttpRequest) -> (Vec<u8>, String) {
    let client = http();
    let mut builder = match request.method {
        ipernity::protocol::HttpMethod::Get => client.get(&request.url),
        ipernity::protocol::HttpMethod::Post => client.post(&request.url).body(request.body),
    };
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let response = builder.send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    (response.bytes().await.unwrap().to_vec(), content_type)
}

/// An answer with what differs by nature between two emulators taken out: their origins and
/// secrets (in media URLs) and the current time.
pub(crate) fn normalized(body: &[u8], origins: &[String]) -> String {
    let mut text = String::from_utf8_lossy(body).into_owned();
    for origin in origins {
        text = text.replace(origin.as_str(), "ORIGIN");
    }
    // Unix times of this run (the seed's are years back).
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for second in now - 120..=now + 5 {
        text = text.replace(&second.to_string(), "NOW");
    }
    // Media URLs carry a secret of each emulator's: /media/ID.SECRET.LABEL.EXT.
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find("/media/") {
        let (before, after) = rest.split_at(at + "/media/".len());
        out.push_str(before);
        let id_end = after.find('.').unwrap_or(0);
        let secret = after.get(id_end + 1..id_end + 33).unwrap_or_default();
        if secret.len() == 32 && secret.bytes().all(|b| b.is_ascii_hexdigit()) {
            out.push_str(&after[..id_end + 1]);
            out.push_str("SECRET");
            rest = &after[id_end + 33..];
        } else {
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

fn origin(emulator: &EmulatorHandle) -> String {
    format!("http://{}", emulator.addr())
}

/// The calls compared: reads of the seeded account, writes, and every kind of error a call
/// can earn (the method's own, signature, token, permission-free ones).
fn calls() -> Vec<(Call, bool)> {
    let call = |method: &str, params: &[(&str, &str)]| {
        let mut call = Call::new(method);
        for (name, value) in params {
            call = call.param(*name, *value);
        }
        call
    };
    vec![
        (call("test.echo", &[("echo", "Zoë <&> \"x\" ]]>")]), false),
        (call("test.hello", &[]), false),
        // Element text (the documented answer) beside attributes.
        (call("api.methods.get", &[("method", "doc.get")]), false),
        (call("auth.checkToken", &[]), true),
        (
            call(
                "doc.getList",
                &[
                    ("user_id", "1"),
                    ("per_page", "7"),
                    ("extra", "dates,count,original,md5,geo"),
                ],
            ),
            true,
        ),
        (
            call(
                "doc.get",
                &[("doc_id", SEEDED_DOC), ("extra", "tags,notes,geo")],
            ),
            true,
        ),
        (call("doc.getExif", &[("doc_id", SEEDED_DOC)]), true),
        (
            call("doc.comments.getList", &[("doc_id", SEEDED_DOC)]),
            true,
        ),
        (call("album.getList", &[]), true),
        (call("folder.getList", &[]), true),
        (call("group.getList", &[]), true),
        (call("network.getList", &[]), true),
        (
            call("doc.search", &[("text", "sea"), ("per_page", "5")]),
            true,
        ),
        (call("account.getQuota", &[]), true),
        (
            call(
                "doc.set",
                &[("doc_id", SEEDED_DOC), ("title", "Bridged <title>")],
            ),
            true,
        ),
        (
            call(
                "doc.comments.add",
                &[("doc_id", SEEDED_DOC), ("content", "via the bridge")],
            ),
            true,
        ),
        (call("album.create", &[("title", "Bridged album")]), true),
        // The method's own error, and global ones.
        (call("doc.get", &[("doc_id", "999999")]), true),
        (call("doc.get", &[("doc_id", SEEDED_DOC)]), false),
        (call("test.echo", &[]), false),
    ]
}

const PAIRS: [(Protocol, Format); 9] = [
    (Protocol::Rest, Format::Json),
    (Protocol::Rest, Format::Xml),
    (Protocol::Rest, Format::Php),
    (Protocol::Soap, Format::Soap),
    (Protocol::Soap, Format::Json),
    (Protocol::Soap, Format::Php),
    (Protocol::XmlRpc, Format::XmlRpc),
    (Protocol::XmlRpc, Format::Xml),
    (Protocol::XmlRpc, Format::Json),
];

async fn bridge_to(emulator: &EmulatorHandle, protocol: Protocol) -> BridgeHandle {
    Bridge::builder(emulator.base_url())
        .upstream_protocol(protocol)
        .start()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_through_the_bridge_is_the_one_the_emulator_gives_directly() {
    for upstream in Protocol::ALL {
        let direct = twin().await;
        let behind = twin().await;
        let bridge = bridge_to(&behind, upstream).await;
        let origins = [origin(&direct), origin(&behind)];
        for (protocol, format) in PAIRS {
            for (call, sign) in calls() {
                let (expected, expected_type) =
                    raw(&direct.base_url(), protocol, format, &call, sign).await;
                let (got, got_type) = raw(&bridge.base_url(), protocol, format, &call, sign).await;
                assert_eq!(
                    normalized(&got, &origins),
                    normalized(&expected, &origins),
                    "{} over {protocol}/{format}, upstream {upstream}",
                    call.method()
                );
                assert_eq!(got_type, expected_type);
            }
        }
        // Every call went upstream through the bridge (the refusals below do not).
        assert_eq!(
            behind.requests_seen(),
            direct.requests_seen(),
            "upstream {upstream}"
        );
        assert!(behind.requests_seen() >= (PAIRS.len() * calls().len()) as u64);
        // Refusals the bridge makes itself are the service's: envelope, format, method.
        let refusals: [(&str, &[u8]); 5] = [
            ("soap", b"<not an envelope"),
            ("xmlrpc", b"<methodCall><methodName>test.echo"),
            ("test.echo/yaml", b""),
            ("no.such.method/json", b""),
            ("soap/php", b"<?xml version=\"1.0\"?><x/>"),
        ];
        for (path, body) in refusals {
            let request = |base: String| ipernity::protocol::HttpRequest {
                method: ipernity::protocol::HttpMethod::Post,
                url: format!("{base}/{path}"),
                headers: vec![("Content-Type".to_owned(), "text/xml".to_owned())],
                body: body.to_vec(),
            };
            let (expected, _) = send(request(direct.base_url())).await;
            let (got, _) = send(request(bridge.base_url())).await;
            assert_eq!(got, expected, "{path}");
        }
        // The WSDL names the bridge.
        let wsdl = reqwest::get(format!("{}/soap?wsdl", bridge.base_url()))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(wsdl.contains(&format!("location=\"{}/soap\"", bridge.base_url())));
        bridge.shutdown().await;
        direct.shutdown().await;
        behind.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_errors_come_back_as_the_callers_own_faults() {
    let emulator = twin().await;
    let bridge = bridge_to(&emulator, Protocol::Rest).await;
    let bad = Credentials::new(KEY, "not-the-secret").with_token(TOKEN);
    let call = Call::new("auth.checkToken").signed(&bad);
    for (protocol, format, expected) in [
        (
            Protocol::Soap,
            Format::Soap,
            "<faultcode>ipernity.error.105</faultcode>",
        ),
        (
            Protocol::XmlRpc,
            Format::XmlRpc,
            "<name>faultCode</name><value><int>105</int></value>",
        ),
        (Protocol::Rest, Format::Json, "\"code\":\"105\""),
    ] {
        let request = protocol
            .transport()
            .encode(&bridge.base_url(), &call, Some(format))
            .unwrap();
        let (body, _) = send(request).await;
        let text = String::from_utf8_lossy(&body);
        assert!(text.contains(expected), "{protocol}: {text}");
        // And the crate's decoder reads it as the API's error.
        let error = format.decode(&body).unwrap_err();
        assert_eq!(error.code().map(|c| c.as_u32()), Some(105));
    }
    bridge.shutdown().await;
    emulator.shutdown().await;
}

/// The code and message of the error a body answers.
fn error_of(format: Format, body: &[u8]) -> (u32, String) {
    match format.decode(body) {
        Err(ipernity::Error::Api(error)) => (error.code.as_u32(), error.message),
        other => panic!("not an API error: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_that_fails_is_a_service_error_in_time_never_a_hang() {
    let echo = Call::new("test.echo").param("echo", "x");
    // Nobody listens: 503 at once.
    let closed = format!("http://{}/api", crate::support::free_addr());
    let bridge = Bridge::builder(closed.as_str())
        .retry(RetryPolicy::none())
        .start()
        .await
        .unwrap();
    let (body, _) = raw(
        &bridge.base_url(),
        Protocol::Soap,
        Format::Soap,
        &echo,
        true,
    )
    .await;
    let (code, message) = error_of(Format::Soap, &body);
    assert_eq!(code, 503, "{message}");
    assert!(!message.contains(&closed), "{message}");
    bridge.shutdown().await;
    // A silent upstream: 503 once the timeout has passed.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}/api", silent.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            held.push(stream);
        }
    });
    let bridge = Bridge::builder(silent_url.as_str())
        .call_timeout(Duration::from_millis(500))
        .retry(RetryPolicy::none())
        .start()
        .await
        .unwrap();
    let started = Instant::now();
    let (body, _) = raw(
        &bridge.base_url(),
        Protocol::XmlRpc,
        Format::XmlRpc,
        &echo,
        true,
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(error_of(Format::XmlRpc, &body).0, 503);
    bridge.shutdown().await;
    held.abort();
    // An HTML error page upstream: 500 with its status; a gateway error on a read is retried.
    let emulator = twin().await;
    let bridge = Bridge::builder(emulator.base_url())
        .retry(RetryPolicy {
            initial_backoff: Duration::from_millis(10),
            ..RetryPolicy::default()
        })
        .start()
        .await
        .unwrap();
    emulator.inject(Fault::Http(502), Schedule::Next(1));
    let (body, _) = raw(
        &bridge.base_url(),
        Protocol::Soap,
        Format::Soap,
        &echo,
        true,
    )
    .await;
    assert!(
        Format::Soap.decode(&body).is_ok(),
        "{}",
        String::from_utf8_lossy(&body)
    );
    emulator.inject(Fault::Http(500), Schedule::Next(10));
    let (body, _) = raw(
        &bridge.base_url(),
        Protocol::Soap,
        Format::Soap,
        &echo,
        true,
    )
    .await;
    let (code, message) = error_of(Format::Soap, &body);
    assert_eq!(code, 500);
    assert!(message.contains("HTTP 500"), "{message}");
    emulator.clear_faults();
    // A write is not repeated after it left.
    emulator.inject(Fault::CloseConnection, Schedule::Next(1));
    let seen = emulator.requests_seen();
    let album = Call::new("album.create").param("title", "once");
    let (body, _) = raw(
        &bridge.base_url(),
        Protocol::XmlRpc,
        Format::XmlRpc,
        &album,
        true,
    )
    .await;
    assert_eq!(error_of(Format::XmlRpc, &body).0, 503);
    assert_eq!(emulator.requests_seen(), seen + 1);
    bridge.shutdown().await;
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oauth_call_is_refused_where_the_protocol_would_change_what_it_signs() {
    let emulator = twin().await;
    let rest_bridge = bridge_to(&emulator, Protocol::Rest).await;
    let call = Call::new("test.echo")
        .param("echo", "x")
        .param("oauth_consumer_key", KEY)
        .param("oauth_signature", "c2lnbmF0dXJl");
    for (protocol, format) in [
        (Protocol::Soap, Format::Soap),
        (Protocol::XmlRpc, Format::XmlRpc),
    ] {
        let (body, _) = raw(&rest_bridge.base_url(), protocol, format, &call, false).await;
        let (code, message) = error_of(format, &body);
        assert_eq!(code, 105);
        assert!(message.contains("OAuth"), "{message}");
    }
    rest_bridge.shutdown().await;
    // Over the upstream's own protocol it goes through unchanged, header and all: signed for
    // the upstream's URL (what the service checks a signature against), it is accepted there.
    let signed_for = |base: &str, protocol: Protocol| {
        let call = Call::new("test.echo").param("echo", "oauth through");
        let mut request = protocol
            .transport()
            .encode(base, &call, Some(Format::Xml))
            .unwrap();
        ipernity::oauth::OAuthSigner {
            consumer_key: KEY.to_owned(),
            consumer_secret: ipernity::Secret::new(SECRET),
            token: None,
            method: ipernity::oauth::SignatureMethod::HmacSha1,
            placement: ipernity::oauth::Placement::Header,
        }
        .sign(&mut request, &[], &[])
        .unwrap();
        request
    };
    for protocol in Protocol::ALL {
        let bridge = bridge_to(&emulator, protocol).await;
        let mut request = signed_for(&emulator.base_url(), protocol);
        request.url = request
            .url
            .replace(&emulator.base_url(), &bridge.base_url());
        let (body, _) = send(request).await;
        let echoed = Format::Xml.decode(&body).unwrap();
        assert_eq!(
            echoed.get("echo").and_then(ipernity::Value::as_str),
            Some("oauth through"),
            "{protocol}"
        );
        // Signed for the bridge's own URL, the upstream refuses it: the URL is signed.
        let (body, _) = send(signed_for(&bridge.base_url(), protocol)).await;
        assert_eq!(error_of(Format::Xml, &body).0, 105, "{protocol}");
        bridge.shutdown().await;
    }
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_in_every_protocol_reach_the_upstream_whole_and_leave_nothing_behind() {
    let emulator = twin().await;
    let spool = std::env::temp_dir().join(format!("ipernity-bridge-spool-{}", std::process::id()));
    let bridge = Bridge::builder(emulator.base_url())
        .spool_dir(&spool)
        .start()
        .await
        .unwrap();
    // A small file (read with its envelope) and one past the envelope's buffer (extracted to the
    // spool as it arrives).
    let small = ipernity::server::sample_jpeg(40, 30, Some("2020-01-02 03:04:05"), None);
    let mut large = ipernity::server::sample_jpeg(64, 48, None, None);
    large.extend((0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8));
    for protocol in Protocol::ALL {
        for (name, file) in [("small.jpg", &small), ("large.jpg", &large)] {
            let client = ipernity::Client::builder()
                .endpoint(bridge.base_url())
                .credentials(KEY, SECRET)
                .token(TOKEN)
                .protocol(protocol)
                .build()
                .unwrap();
            let uploaded = client
                .upload(
                    ipernity::upload::UploadFile::from_bytes(name, file.clone())
                        .title(format!("{protocol} {name}"))
                        .asynchronous(false),
                )
                .send()
                .await
                .unwrap();
            let doc_id = uploaded.doc_id.unwrap();
            let doc = client
                .call("doc.get")
                .param("doc_id", doc_id)
                .param("extra", "md5")
                .send()
                .await
                .unwrap();
            assert_eq!(
                doc.get("doc").unwrap().get("md5").unwrap().as_str(),
                Some(crate::support::md5_hex(file).as_str()),
                "{protocol} {name}"
            );
            let received = emulator.last_upload().unwrap();
            assert_eq!(received.length, file.len() as u64);
            // The file name travels where the caller's protocol carries one.
            if protocol != Protocol::XmlRpc {
                assert_eq!(received.filename.as_deref(), Some(name), "{protocol}");
            }
            // The caller's signature, unchanged.
            assert!(received.params.get("api_sig").is_some());
        }
    }
    assert_eq!(
        std::fs::read_dir(&spool).unwrap().count(),
        0,
        "spool files left"
    );
    // A caller that goes away mid-upload leaves nothing either.
    {
        use tokio::io::AsyncWriteExt;
        let mut stream = tokio::net::TcpStream::connect(bridge.addr()).await.unwrap();
        let head = format!(
            "POST /api/soap HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n",
            10 * 1024 * 1024
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(b"<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body><call><method>upload.file</method><file>").await.unwrap();
        stream
            .write_all(&vec![b'A'; 2 * 1024 * 1024])
            .await
            .unwrap();
        drop(stream);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::fs::read_dir(&spool).unwrap().count() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        std::fs::read_dir(&spool).unwrap().count(),
        0,
        "spool left by a dropped caller"
    );
    bridge.shutdown().await;
    emulator.shutdown().await;
    std::fs::remove_dir_all(&spool).ok();
}

/// A client of `base` over `protocol`, asking for `format`.
fn client_over(base: &str, protocol: Protocol, format: Format) -> ipernity::Client {
    ipernity::Client::builder()
        .endpoint(base)
        .credentials(KEY, SECRET)
        .token(TOKEN)
        .protocol(protocol)
        .format(format)
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

/// Replays a recording with `ipernity conformance --cases`; its exit success and stdout.
fn replay(dir: &std::path::Path, endpoint: &str) -> (bool, String) {
    let out = crate::support::ipernity_command()
        .args(["conformance", "--cases"])
        .arg(dir)
        .args([
            "--endpoint",
            endpoint,
            "--api-key",
            KEY,
            "--secret",
            SECRET,
            "--token",
            TOKEN,
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (
        out.status.success(),
        stdout + &String::from_utf8_lossy(&out.stderr),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_keeps_no_secret_and_replays_green_against_the_emulator() {
    let recorded_on = twin().await;
    let dir = std::env::temp_dir().join(format!("ipernity-recording-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let bridge = Bridge::builder(recorded_on.base_url())
        .record(&dir)
        .start()
        .await
        .unwrap();
    let base = bridge.base_url();
    // REST: an album made, filled and listed (its new id flows into the next calls).
    let rest = client_over(&base, Protocol::Rest, Format::Json);
    let album = rest
        .call("album.create")
        .param("title", "Recorded")
        .send()
        .await
        .unwrap();
    let album_id = album
        .get("album")
        .unwrap()
        .get("album_id")
        .unwrap()
        .to_text()
        .unwrap()
        .into_owned();
    rest.call("album.docs.add")
        .param("album_id", album_id.as_str())
        .param("doc_id", SEEDED_DOC)
        .send()
        .await
        .unwrap();
    rest.call("album.docs.getList")
        .param("album_id", album_id.as_str())
        .send()
        .await
        .unwrap();
    // SOAP: a read, a write, an error of the method's own.
    let soap = client_over(&base, Protocol::Soap, Format::Soap);
    soap.call("doc.get")
        .param("doc_id", SEEDED_DOC)
        .param("extra", "tags,geo")
        .send()
        .await
        .unwrap();
    soap.call("doc.comments.add")
        .param("doc_id", SEEDED_DOC)
        .param("content", "recorded <comment>")
        .send()
        .await
        .unwrap();
    assert!(
        soap.call("doc.get")
            .param("doc_id", "999999")
            .send()
            .await
            .is_err()
    );
    // XML-RPC: an upload, then its ticket checked (the ticket flows too).
    let xmlrpc = client_over(&base, Protocol::XmlRpc, Format::XmlRpc);
    let uploaded = xmlrpc
        .upload(
            ipernity::upload::UploadFile::from_bytes(
                "recorded.jpg",
                ipernity::server::sample_jpeg(30, 20, Some("2021-05-06 07:08:09"), None),
            )
            .title("recorded upload"),
        )
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    xmlrpc
        .call("upload.checkTickets")
        .param("tickets", uploaded.ticket.unwrap())
        .send()
        .await
        .unwrap();
    // Answers that hold credentials: the token checked, a frob.
    let php = client_over(&base, Protocol::Rest, Format::Php);
    php.call("auth.checkToken").send().await.unwrap();
    php.call("auth.getFrob").send().await.unwrap();
    bridge.shutdown().await;

    // Nothing secret is kept, and every signature is the placeholder secret's.
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let mut names: Vec<String> = files
        .iter()
        .filter_map(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .strip_suffix(".case.json")
        })
        .map(|name| name.split_once('-').unwrap().1.to_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "album.create",
            "album.docs.add",
            "album.docs.getList",
            "auth.checkToken",
            "auth.getFrob",
            "doc.comments.add",
            "doc.get",
            "doc.get",
            "upload.checkTickets",
            "upload.file"
        ]
    );
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        for secret in [KEY, SECRET, TOKEN] {
            assert!(
                memchr::memmem::find(&bytes, secret.as_bytes()).is_none(),
                "{secret} in {}",
                path.display()
            );
        }
        assert!(!path.to_string_lossy().ends_with(".partial"));
        if path.to_string_lossy().ends_with(".request.http") {
            let request = ipernity::protocol::HttpRequest::from_http_text(&bytes).unwrap();
            let incoming = ipernity::protocol::IncomingRequest::from_http(&request, "/api");
            let parsed = Protocol::for_path(incoming.path)
                .transport()
                .parse(&incoming)
                .unwrap();
            if let Some(signature) = parsed.call.params().get("api_sig") {
                assert!(
                    ipernity::sign::verify(
                        parsed.call.method(),
                        parsed.call.params(),
                        &ipernity::Secret::new(ipernity::conformance::RECORDED_SECRET),
                        signature
                    ),
                    "{}",
                    path.display()
                );
            }
        }
    }
    let frob_answer = files
        .iter()
        .find(|p| p.to_string_lossy().ends_with("auth.getFrob.answer.php"))
        .unwrap();
    let frob = String::from_utf8(std::fs::read(frob_answer).unwrap()).unwrap();
    assert!(
        frob.contains(ipernity::conformance::RECORDED_TOKEN),
        "{frob}"
    );
    assert!(Format::Php.decode(frob.as_bytes()).is_ok(), "{frob}");

    // Against a twin of the emulator it was made on: green.
    let replayed_on = twin().await;
    let endpoint = replayed_on.base_url();
    let (ok, out) = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || replay(&dir, &endpoint)
    })
    .await
    .unwrap();
    assert!(ok, "{out}");
    assert!(out.contains("10 passed, 0 failed"), "{out}");
    // Against one that differs: the case and the place are named.
    let changed = twin().await;
    client_over(&changed.base_url(), Protocol::Rest, Format::Json)
        .call("doc.set")
        .param("doc_id", SEEDED_DOC)
        .param("title", "Renamed")
        .send()
        .await
        .unwrap();
    let endpoint = changed.base_url();
    let (ok, out) = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || replay(&dir, &endpoint)
    })
    .await
    .unwrap();
    assert!(!ok, "{out}");
    assert!(out.contains("doc.get: at doc.title: recorded"), "{out}");
    std::fs::remove_dir_all(&dir).ok();
    recorded_on.shutdown().await;
    replayed_on.shutdown().await;
    changed.shutdown().await;
}

/// An HTTP sender that counts the requests it has in flight, and the most it ever had.
#[derive(Debug)]
struct InFlight {
    inner: ipernity::client::ReqwestSender,
    now: std::sync::atomic::AtomicUsize,
    most: std::sync::atomic::AtomicUsize,
}

impl ipernity::client::HttpSender for InFlight {
    fn send(
        &self,
        request: ipernity::protocol::HttpRequest,
        timeout: Duration,
    ) -> ipernity::client::BoxFuture<
        '_,
        Result<ipernity::client::HttpResponse, ipernity::client::SendError>,
    > {
        use std::sync::atomic::Ordering;
        Box::pin(async move {
            let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            let answer = self.inner.send(request, timeout).await;
            self.now.fetch_sub(1, Ordering::SeqCst);
            answer
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_more_calls_go_upstream_at_once_than_the_bridge_allows() {
    let emulator = Emulator::builder()
        .credentials(KEY, SECRET)
        .token(TOKEN)
        .latency(Duration::from_millis(50))
        .start()
        .await
        .unwrap();
    let sender = std::sync::Arc::new(InFlight {
        inner: ipernity::client::ReqwestSender::for_api().unwrap(),
        now: Default::default(),
        most: Default::default(),
    });
    let bridge = Bridge::builder(emulator.base_url())
        .max_in_flight(3)
        .http_sender(sender.clone())
        .start()
        .await
        .unwrap();
    let client = client_over(&bridge.base_url(), Protocol::XmlRpc, Format::XmlRpc);
    let calls: Vec<_> = (0..20)
        .map(|n| {
            let client = client.clone();
            tokio::spawn(async move {
                client
                    .call("test.echo")
                    .param("echo", n.to_string())
                    .send()
                    .await
                    .unwrap()
            })
        })
        .collect();
    for (n, call) in calls.into_iter().enumerate() {
        let echoed = call.await.unwrap();
        assert_eq!(
            echoed.get("echo").and_then(ipernity::Value::as_str),
            Some(n.to_string().as_str())
        );
    }
    // Every call waited for its turn, and the turns were used.
    assert_eq!(sender.most.load(std::sync::atomic::Ordering::SeqCst), 3);
    assert_eq!(emulator.requests_seen(), 20);
    bridge.shutdown().await;
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_with_a_credential_too_short_to_find_for_sure_is_not_recorded() {
    let emulator = Emulator::builder()
        .credentials("k7", "a-long-enough-secret")
        .token("a-long-enough-token")
        .start()
        .await
        .unwrap();
    let dir = std::env::temp_dir().join(format!("ipernity-recording-short-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let bridge = Bridge::builder(emulator.base_url())
        .record(&dir)
        .start()
        .await
        .unwrap();
    let client = ipernity::Client::builder()
        .endpoint(bridge.base_url())
        .credentials("k7", "a-long-enough-secret")
        .token("a-long-enough-token")
        .protocol(Protocol::Soap)
        .build()
        .unwrap();
    // Answered, not recorded: "k7" could be anywhere in the text.
    client.call("auth.checkToken").send().await.unwrap();
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    bridge.shutdown().await;
    emulator.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();
}
