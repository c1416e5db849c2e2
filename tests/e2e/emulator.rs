//! End to end on loopback: the client against the emulator, over every protocol with every format
//! its endpoint answers in, including the error answers.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::time::Duration;

use base64::Engine;
use ipernity::client::{HttpSender, ReqwestSender};
use ipernity::methods::{Level, Target};
use ipernity::server::{Emulator, EmulatorHandle};
use ipernity::{
    Call, Client, Credentials, Error, ErrorCode, Format, HttpMethod, HttpRequest, Protocol,
    RetryPolicy, Value,
};

use crate::support::{api_code, client_for, emulator};

fn text<'a>(value: &'a Value, path: &[&str]) -> &'a str {
    let mut current = value;
    for key in path {
        current = current
            .get(key)
            .unwrap_or_else(|| panic!("no {key} in {value:?}"));
    }
    current
        .as_str()
        .unwrap_or_else(|| panic!("{path:?} is not text in {value:?}"))
}

/// Sends an encoded request as is and decodes the answer in `format`.
async fn send_raw(request: HttpRequest, format: Format) -> Result<Value, Error> {
    let sender = ReqwestSender::new(reqwest::Client::new());
    let response = sender.send(request, Duration::from_secs(10)).await.unwrap();
    assert_eq!(
        response.status, 200,
        "API errors are answered with HTTP 200"
    );
    format.decode(&response.body)
}

/// Every combination of protocol and response format the endpoints offer.
fn matrix() -> Vec<(Protocol, Format)> {
    Protocol::ALL
        .into_iter()
        .flat_map(|protocol| {
            protocol
                .transport()
                .formats()
                .iter()
                .map(move |format| (protocol, *format))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_method_over_every_protocol_and_format() {
    let emulator = emulator().await;
    for (protocol, format) in matrix() {
        let client = client_for(&emulator, protocol, format, true);
        let context = format!("{protocol}/{format}");

        let echo = client
            .call("test.echo")
            .param("echo", "Zoë <&> ]]> \"q\"")
            .send()
            .await
            .unwrap();
        assert_eq!(text(&echo, &["echo"]), "Zoë <&> ]]> \"q\"", "{context}");
        let hello = client.call("test.hello").send().await.unwrap();
        assert_eq!(text(&hello, &["hello"]), "hello world!", "{context}");
        assert_eq!(
            api_code(client.call("test.echo").send().await),
            1,
            "{context}"
        );

        let methods = client.call("api.methods.getList").send().await.unwrap();
        assert_eq!(
            methods.get("methods").unwrap().list("method").len(),
            102,
            "{context}"
        );
        let method = client
            .call("api.methods.get")
            .param("method", "doc.delete")
            .send()
            .await
            .unwrap();
        assert_eq!(
            text(&method, &["method", "permissions", "doc"]),
            "delete",
            "{context}"
        );
        // Its parameters and errors come from the catalog.
        let method = &method["method"];
        let param = &method["parameters"].list("param")[0];
        assert_eq!(text(param, &["name"]), "doc_id", "{context}");
        assert_eq!(text(param, &["required"]), "1", "{context}");
        assert!(!text(param, &["_value"]).is_empty(), "{context}");
        let info = ipernity::methods::lookup("doc.delete").unwrap();
        assert_eq!(
            method["errors"].list("error").len(),
            info.errors.len(),
            "{context}"
        );

        let quota = client.call("account.getQuota").send().await.unwrap();
        assert_eq!(text(&quota, &["quota", "user_id"]), "1", "{context}");
        let checked = client.call("auth.checkToken").send().await.unwrap();
        assert_eq!(
            text(&checked, &["auth", "permissions", "doc"]),
            "delete",
            "{context}"
        );

        let album = client
            .call("album.create")
            .param("title", format!("Album {context}"))
            .send()
            .await
            .unwrap();
        let album_id = text(&album, &["album", "album_id"]).to_owned();
        let got = client
            .call("album.get")
            .param("album_id", &album_id)
            .send()
            .await
            .unwrap();
        assert_eq!(text(&got, &["album", "title"]), format!("Album {context}"));
        let albums = client.call("album.getList").send().await.unwrap();
        assert!(
            albums
                .get("albums")
                .unwrap()
                .list("album")
                .iter()
                .any(|a| a.get("album_id").and_then(Value::as_str) == Some(&album_id))
        );
        assert_eq!(
            api_code(client.call("album.get").param("album_id", 1).send().await),
            1,
            "{context}"
        );
    }
    emulator.shutdown().await;
}

/// Signs an `upload.file` call and carries the file the way each protocol does (`protocols/README.md`, uploads).
fn upload_request(
    emulator: &EmulatorHandle,
    protocol: Protocol,
    params: &[(&str, &str)],
    file: &[u8],
) -> HttpRequest {
    let mut call = Call::new("upload.file");
    for (name, value) in params {
        call = call.param(*name, *value);
    }
    let call = call.signed(&emulator.credentials());
    let base64 = base64::engine::general_purpose::STANDARD.encode(file);
    match protocol {
        Protocol::Rest => {
            let boundary = "ipernity-test-boundary";
            let mut body = Vec::new();
            for (name, value) in call.params().iter() {
                body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes());
            }
            body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"../photo.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").as_bytes());
            body.extend_from_slice(file);
            body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
            HttpRequest {
                method: HttpMethod::Post,
                url: format!("{}/upload.file/json", emulator.base_url()),
                headers: vec![(
                    "Content-Type".into(),
                    format!("multipart/form-data; boundary={boundary}"),
                )],
                body,
            }
        }
        Protocol::Soap => {
            let mut request = protocol
                .transport()
                .encode(&emulator.base_url(), &call, Some(Format::Json))
                .unwrap();
            let body = String::from_utf8(request.body).unwrap().replace(
                "</x:ipernityRequest>",
                &format!("<file xsi:type=\"xsd:base64Binary\" filename=\"photo.jpg\">{base64}</file></x:ipernityRequest>"),
            );
            request.body = body.into_bytes();
            request
        }
        Protocol::XmlRpc => {
            let mut request = protocol
                .transport()
                .encode(&emulator.base_url(), &call, Some(Format::Json))
                .unwrap();
            let body = String::from_utf8(request.body).unwrap().replace(
                "</struct>",
                &format!("<member><name>file</name><value><base64>{base64}</base64></value></member></struct>"),
            );
            request.body = body.into_bytes();
            request
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_from_upload_to_delete_on_every_protocol_and_format() {
    let emulator = emulator().await;
    for (protocol, format) in matrix() {
        let client = client_for(&emulator, protocol, format, true);
        let title = format!("Red car over {protocol} in {format}");
        let request = upload_request(
            &emulator,
            protocol,
            &[
                ("title", &title),
                ("keywords", "car, red"),
                ("is_public", "1"),
            ],
            b"\xff\xd8\xff photo bytes",
        );
        let uploaded = send_raw(request, Format::Json).await.unwrap();
        let ticket = text(&uploaded, &["ticket"]).to_owned();

        // The ticket counts down, then reports the document.
        let pending = client
            .call("upload.checkTickets")
            .param("tickets", &ticket)
            .send()
            .await
            .unwrap();
        assert_eq!(text(&pending, &["tickets", "left"]), "1");
        assert!(text(&pending, &["tickets", "eta"]).parse::<u64>().unwrap() <= 1);
        tokio::time::sleep(Duration::from_millis(350)).await;
        let done = client
            .call("upload.checkTickets")
            .param("tickets", format!("{ticket},999-999"))
            .send()
            .await
            .unwrap();
        let tickets = done.get("tickets").unwrap();
        assert_eq!(text(tickets, &["done"]), "1");
        assert_eq!(text(tickets, &["invalid"]), "1");
        let doc_id = text(&tickets.list("ticket")[0], &["doc_id"]).to_owned();

        let doc = client
            .call("doc.get")
            .param("doc_id", &doc_id)
            .send()
            .await
            .unwrap();
        assert_eq!(text(&doc, &["doc", "title"]), title);
        client
            .call("doc.set")
            .param("doc_id", &doc_id)
            .param("title", "Renamed")
            .send()
            .await
            .unwrap();
        client
            .call("doc.tags.add")
            .param("doc_id", &doc_id)
            .param("keywords", "vintage")
            .send()
            .await
            .unwrap();
        let tags = client
            .call("doc.tags.getList")
            .param("doc_id", &doc_id)
            .send()
            .await
            .unwrap();
        let tag_names: Vec<&str> = tags
            .get("tags")
            .unwrap()
            .list("tag")
            .iter()
            .filter_map(|t| t.get("tag").and_then(Value::as_str))
            .collect();
        assert_eq!(tag_names, ["car", "red", "vintage"]);
        let found = client
            .call("doc.search")
            .param("text", "vintage")
            .send()
            .await
            .unwrap();
        assert_eq!(found.get("docs").unwrap().list("doc").len(), 1);
        let mine = client
            .call("doc.getList")
            .param("user_id", 1)
            .send()
            .await
            .unwrap();
        assert!(
            mine.get("docs")
                .unwrap()
                .list("doc")
                .iter()
                .any(|d| d.get("doc_id").and_then(Value::as_str) == Some(&doc_id))
        );

        let album = client
            .call("album.create")
            .param("title", "Cars")
            .send()
            .await
            .unwrap();
        let album_id = text(&album, &["album", "album_id"]).to_owned();
        client
            .call("album.docs.add")
            .param("album_id", &album_id)
            .param("doc_id", &doc_id)
            .send()
            .await
            .unwrap();
        let in_album = client
            .call("album.docs.getList")
            .param("album_id", &album_id)
            .send()
            .await
            .unwrap();
        assert_eq!(
            text(&in_album["album"]["docs"].list("doc")[0], &["title"]),
            "Renamed"
        );

        client
            .call("doc.delete")
            .param("doc_id", &doc_id)
            .send()
            .await
            .unwrap();
        assert_eq!(
            api_code(client.call("doc.get").param("doc_id", &doc_id).send().await),
            1
        );
    }
    emulator.shutdown().await;
}

#[tokio::test]
async fn synchronous_uploads_wait_for_the_document_and_bad_files_are_refused() {
    let emulator = Emulator::builder()
        .ticket_delay(Duration::from_millis(50))
        .max_file_size(1000)
        .start()
        .await
        .unwrap();
    let uploaded = send_raw(
        upload_request(&emulator, Protocol::Rest, &[("async", "0")], b"bytes"),
        Format::Json,
    )
    .await
    .unwrap();
    assert!(text(&uploaded, &["ticket"]).contains('-'));
    assert!(text(&uploaded, &["doc_id"]).parse::<u64>().is_ok());
    assert_eq!(
        api_code(
            send_raw(
                upload_request(&emulator, Protocol::Rest, &[], b""),
                Format::Json
            )
            .await
        ),
        1
    );
    assert_eq!(
        api_code(
            send_raw(
                upload_request(&emulator, Protocol::Soap, &[], &[0u8; 1001]),
                Format::Json
            )
            .await
        ),
        2
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn the_desktop_authorization_flow_runs_unattended() {
    let emulator = emulator().await;
    for protocol in Protocol::ALL {
        let client = client_for(&emulator, protocol, Format::Xml, false);
        let frob = client.call("auth.getFrob").send().await.unwrap();
        let frob = text(&frob, &["auth", "frob"]).to_owned();
        assert_eq!(
            api_code(
                client
                    .call("auth.getToken")
                    .param("frob", &frob)
                    .send()
                    .await
            ),
            2,
            "not authorized yet"
        );

        let credentials = emulator.credentials();
        let link: ipernity::Params = [
            ("api_key", credentials.api_key.as_str()),
            ("frob", frob.as_str()),
            ("perm_doc", "write"),
        ]
        .into_iter()
        .collect();
        let signature = ipernity::sign::auth_link_sig(&link, &credentials.secret);
        let url = format!(
            "http://{}/apps/authorize?api_key={}&frob={frob}&perm_doc=write&api_sig={signature}",
            emulator.addr(),
            credentials.api_key
        );
        let page = reqwest::get(&url).await.unwrap();
        assert_eq!(page.status(), 200, "{}", page.text().await.unwrap());

        let token = client
            .call("auth.getToken")
            .param("frob", &frob)
            .send()
            .await
            .unwrap();
        assert_eq!(text(&token, &["auth", "permissions", "doc"]), "write");
        assert_eq!(text(&token, &["auth", "user", "username"]), "emulated");
        let new_token = text(&token, &["auth", "token"]).to_owned();
        assert_eq!(
            api_code(
                client
                    .call("auth.getToken")
                    .param("frob", &frob)
                    .send()
                    .await
            ),
            2,
            "a frob is single-use"
        );
        assert_eq!(
            api_code(client.call("auth.getToken").unchecked().send().await),
            1,
            "frob missing"
        );

        let with_token = Client::builder()
            .endpoint(emulator.base_url())
            .credentials(credentials.api_key.clone(), credentials.secret.clone())
            .token(new_token)
            .protocol(protocol)
            .build()
            .unwrap();
        let checked = with_token.call("auth.checkToken").send().await.unwrap();
        assert_eq!(text(&checked, &["auth", "permissions", "doc"]), "write");
        // doc:write does not allow deleting.
        assert_eq!(
            api_code(
                with_token
                    .call("doc.delete")
                    .param("doc_id", 1)
                    .send()
                    .await
            ),
            110
        );
    }
    emulator.shutdown().await;
}

#[tokio::test]
async fn every_check_answers_its_error_in_every_format() {
    let limited: ipernity::server::Grants = [(Target::Doc, Level::Read)].into_iter().collect();
    let emulator = Emulator::builder().grants(limited).start().await.unwrap();
    let credentials = emulator.credentials();
    let base = emulator.base_url();
    for (protocol, format) in matrix() {
        let transport = protocol.transport();
        let context = format!("{protocol}/{format}");
        let encode = |call: &Call| transport.encode(&base, call, Some(format)).unwrap();

        // 100, 101: no key, unknown key.
        assert_eq!(
            api_code(send_raw(encode(&Call::new("test.hello")), format).await),
            100,
            "{context}"
        );
        let unknown_key = Call::new("test.hello").signed(&Credentials::new("nope", "x"));
        assert_eq!(
            api_code(send_raw(encode(&unknown_key), format).await),
            101,
            "{context}"
        );
        // 104, 105: a method that must be signed, unsigned and badly signed.
        let unsigned = Call::new("auth.getFrob").param("api_key", &credentials.api_key);
        assert_eq!(
            api_code(send_raw(encode(&unsigned), format).await),
            104,
            "{context}"
        );
        let badly_signed = Call::new("auth.getFrob").signed(&Credentials::new(
            credentials.api_key.clone(),
            "wrong-secret",
        ));
        assert_eq!(
            api_code(send_raw(encode(&badly_signed), format).await),
            105,
            "{context}"
        );
        // 106, 107: a token method without a token, with a wrong one.
        let no_token = Call::new("auth.checkToken").signed(&Credentials::new(
            credentials.api_key.clone(),
            credentials.secret.clone(),
        ));
        assert_eq!(
            api_code(send_raw(encode(&no_token), format).await),
            106,
            "{context}"
        );
        let wrong_token = Call::new("auth.checkToken").signed(
            &Credentials::new(credentials.api_key.clone(), credentials.secret.clone())
                .with_token("0-bad"),
        );
        assert_eq!(
            api_code(send_raw(encode(&wrong_token), format).await),
            107,
            "{context}"
        );
        // 110: the token holds doc:read only.
        let delete = Call::new("doc.delete")
            .param("doc_id", 1)
            .signed(&credentials);
        assert_eq!(
            api_code(send_raw(encode(&delete), format).await),
            110,
            "{context}"
        );
        // A method's own error, past every check: group.search without text is its error 1.
        let no_text = Call::new("group.search")
            .param("query", "x")
            .signed(&credentials);
        assert_eq!(
            api_code(send_raw(encode(&no_text), format).await),
            1,
            "{context}"
        );
    }

    // 120: a write over REST GET.
    let mut get_delete = Protocol::Rest
        .transport()
        .encode(&base, &Call::new("doc.delete").signed(&credentials), None)
        .unwrap();
    get_delete.method = HttpMethod::Get;
    get_delete.url = format!(
        "{}?{}",
        get_delete.url,
        String::from_utf8(std::mem::take(&mut get_delete.body)).unwrap()
    );
    assert_eq!(api_code(send_raw(get_delete, Format::Json).await), 120);

    // 121, 122 in each format the endpoints offer; 102 in the endpoint's default format.
    let post = |path: &str, body: &str| HttpRequest {
        method: HttpMethod::Post,
        url: format!("{base}/{path}"),
        headers: vec![("Content-Type".into(), "text/xml".into())],
        body: body.as_bytes().to_vec(),
    };
    for format in [Format::Soap, Format::Json, Format::Xml, Format::Php] {
        let path = if format == Format::Soap {
            "soap".to_owned()
        } else {
            format!("soap/{format}")
        };
        assert_eq!(
            api_code(send_raw(post(&path, "<html>not soap</html>"), format).await),
            121,
            "{format}"
        );
    }
    for format in [Format::XmlRpc, Format::Json, Format::Xml, Format::Php] {
        let path = if format == Format::XmlRpc {
            "xmlrpc".to_owned()
        } else {
            format!("xmlrpc/{format}")
        };
        assert_eq!(
            api_code(send_raw(post(&path, "<methodResponse/>"), format).await),
            122,
            "{format}"
        );
    }
    assert_eq!(
        api_code(send_raw(post("test.echo/yaml", ""), Format::Json).await),
        102
    );
    assert_eq!(
        api_code(send_raw(post("soap/html", ""), Format::Soap).await),
        102
    );
    assert_eq!(
        api_code(send_raw(post("xmlrpc/csv", ""), Format::XmlRpc).await),
        102
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn uploaded_files_land_in_the_data_directory_under_the_emulators_names() {
    let dir = std::env::temp_dir().join(format!("ipernity-test-data-{}", std::process::id()));
    let emulator = Emulator::builder()
        .data_dir(&dir)
        .ticket_delay(Duration::ZERO)
        .start()
        .await
        .unwrap();
    let uploaded = send_raw(
        upload_request(
            &emulator,
            Protocol::XmlRpc,
            &[("async", "0")],
            b"exact bytes \x00\xff",
        ),
        Format::Json,
    )
    .await
    .unwrap();
    let doc_id = text(&uploaded, &["doc_id"]).to_owned();
    let stored = std::fs::read(dir.join(format!("doc-{doc_id}.bin"))).unwrap();
    assert_eq!(stored, b"exact bytes \x00\xff");
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut names = names;
    names.sort();
    assert_eq!(
        names,
        [format!("doc-{doc_id}.bin"), "emulator.redb".to_owned()]
    );
    emulator.shutdown().await;
    assert!(dir.exists(), "a given data directory is kept");
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(ErrorCode::from_u32(1), ErrorCode::Method(1));
}

fn retrying_client(emulator: &EmulatorHandle) -> Client {
    let credentials = emulator.credentials();
    Client::builder()
        .endpoint(emulator.base_url())
        .credentials(credentials.api_key.clone(), credentials.secret.clone())
        .token(credentials.token.clone().unwrap())
        .retry(RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            max_elapsed: Duration::from_secs(10),
        })
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_read_succeeds_after_two_injected_503s() {
    use ipernity::server::{Fault, Schedule};
    let emulator = emulator().await;
    let client = retrying_client(&emulator);
    emulator.inject(Fault::Http(503), Schedule::Next(2));
    let before = emulator.requests_seen();
    let hello = client.call("test.hello").send().await.unwrap();
    assert_eq!(text(&hello, &["hello"]), "hello world!");
    assert_eq!(emulator.requests_seen() - before, 3);
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_write_facing_a_dropped_connection_is_not_repeated() {
    use ipernity::server::{Fault, Schedule};
    let emulator = emulator().await;
    let client = retrying_client(&emulator);
    emulator.inject(Fault::CloseConnection, Schedule::Next(1));
    let before = emulator.requests_seen();
    let error = client
        .call("album.create")
        .param("title", "once")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Connection {
                may_have_been_sent: true,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        emulator.requests_seen() - before,
        1,
        "the write was not sent again"
    );
    // The same fault on a read is retried.
    emulator.inject(Fault::CloseConnection, Schedule::Next(1));
    assert!(client.call("test.hello").send().await.is_ok());
    emulator.shutdown().await;
}

#[tokio::test]
async fn rate_limit_answers_back_off() {
    use ipernity::server::{Fault, Schedule};
    let emulator = emulator().await;
    let client = retrying_client(&emulator);
    emulator.inject(Fault::Api(113), Schedule::Next(2));
    let started = std::time::Instant::now();
    client.call("test.hello").send().await.unwrap();
    // Two backoffs: at least 50 ms then 100 ms (half of 100 ms and 200 ms, plus jitter).
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "{:?}",
        started.elapsed()
    );
    // Every third request fails; writes see the error, reads retry through it.
    emulator.inject(Fault::Api(503), Schedule::Every(3));
    for _ in 0..6 {
        client.call("test.hello").send().await.unwrap();
    }
    emulator.clear_faults();
    assert_eq!(
        api_code(client.call("album.get").param("album_id", 5).send().await),
        1
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_restarted_emulator_keeps_everything_it_confirmed() {
    let dir = std::env::temp_dir().join(format!("ipernity-test-restart-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let first = Emulator::builder()
        .data_dir(&dir)
        .ticket_delay(Duration::from_millis(20))
        .start()
        .await
        .unwrap();
    let credentials = first.credentials();
    let client = client_for(&first, Protocol::Rest, Format::Json, true);
    let uploaded = send_raw(
        upload_request(
            &first,
            Protocol::Rest,
            &[("async", "0"), ("title", "kept")],
            b"bytes",
        ),
        Format::Json,
    )
    .await
    .unwrap();
    let doc_id = text(&uploaded, &["doc_id"]).to_owned();
    let pending = send_raw(
        upload_request(&first, Protocol::Rest, &[("title", "pending")], b"more"),
        Format::Json,
    )
    .await
    .unwrap();
    let pending_ticket = text(&pending, &["ticket"]).to_owned();
    let album = client
        .call("album.create")
        .param("title", "kept album")
        .send()
        .await
        .unwrap();
    let album_id = text(&album, &["album", "album_id"]).to_owned();
    client
        .call("album.docs.add")
        .param("album_id", &album_id)
        .param("doc_id", &doc_id)
        .send()
        .await
        .unwrap();
    first.shutdown().await;

    // A new emulator on the same directory with fresh credentials: the old ones still work.
    let second = Emulator::builder().data_dir(&dir).start().await.unwrap();
    let old = Client::builder()
        .endpoint(second.base_url())
        .credentials(credentials.api_key.clone(), credentials.secret.clone())
        .token(credentials.token.clone().unwrap())
        .build()
        .unwrap();
    let doc = old
        .call("doc.get")
        .param("doc_id", &doc_id)
        .send()
        .await
        .unwrap();
    assert_eq!(text(&doc, &["doc", "title"]), "kept");
    let in_album = old
        .call("album.docs.getList")
        .param("album_id", &album_id)
        .send()
        .await
        .unwrap();
    assert_eq!(in_album["album"]["docs"].list("doc").len(), 1);
    tokio::time::sleep(Duration::from_millis(30)).await;
    let tickets = old
        .call("upload.checkTickets")
        .param("tickets", &pending_ticket)
        .send()
        .await
        .unwrap();
    assert_eq!(
        text(&tickets, &["tickets", "done"]),
        "1",
        "the ticket's deadline survived the restart"
    );
    let again = send_raw(
        upload_request(&second, Protocol::Rest, &[("async", "0")], b"new"),
        Format::Json,
    )
    .await
    .unwrap();
    assert!(
        text(&again, &["doc_id"]).parse::<u64>().unwrap() > doc_id.parse::<u64>().unwrap(),
        "ids never repeat"
    );
    second.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Builders own a clone of the client: their futures are `'static + Send`, so they can be
/// spawned, and the client can be dropped while they run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_and_uploads_can_be_spawned() {
    let emulator = emulator().await;
    let client = client_for(&emulator, Protocol::Rest, Format::Json, true);
    let echoes: Vec<tokio::task::JoinHandle<Result<Value, Error>>> = (0..4)
        .map(|n| tokio::spawn(client.call("test.echo").param("echo", n).send()))
        .collect();
    let upload = tokio::spawn(
        client
            .upload(
                ipernity::upload::UploadFile::from_bytes("s.jpg", b"\xff\xd8 spawned".to_vec())
                    .asynchronous(false),
            )
            .send(),
    );
    drop(client);
    for (n, echo) in echoes.into_iter().enumerate() {
        let echo = echo.await.unwrap().unwrap();
        assert_eq!(text(&echo, &["echo"]), n.to_string());
    }
    assert!(upload.await.unwrap().unwrap().doc_id.is_some());
    emulator.shutdown().await;
}

/// An API error names the method it answers (method codes mean different things per method).
#[tokio::test]
async fn an_api_error_names_the_method_it_answers() {
    let emulator = emulator().await;
    for protocol in Protocol::ALL {
        let client = client_for(
            &emulator,
            protocol,
            protocol.transport().default_format(),
            true,
        );
        let error = client
            .call("doc.get")
            .param("doc_id", 999_999)
            .send()
            .await
            .unwrap_err();
        let api = error.api_error().unwrap();
        assert_eq!(api.method, Some("doc.get"), "{protocol}");
        assert!(
            error.to_string().ends_with("(answering doc.get)"),
            "{error}"
        );
        let upload = client
            .upload(
                ipernity::upload::UploadFile::from_bytes("r.jpg", b"\xff\xd8".to_vec())
                    .replacing(999_999),
            )
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            upload.api_error().unwrap().method,
            Some("upload.replace"),
            "{protocol}"
        );
    }
    emulator.shutdown().await;
}
