//! The WSDL of the SOAP endpoint: well formed, its schema a valid XSD that the crate's own SOAP
//! requests and the emulator's answers satisfy (checked by xmllint), served by the emulator with
//! its own address, and bound to by real SOAP toolkits (Python zeep, PHP SoapClient).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use ipernity::server::{Emulator, EmulatorHandle};
use ipernity::upload::UploadFile;
use ipernity::{ApiError, Call, Credentials, ErrorCode, Format, Protocol};

const WSDL: &str = include_str!("../../protocols/soap/ipernity.wsdl");
const ENVELOPE_XSD: &str = include_str!("../../protocols/soap/envelope.xsd");

/// A scratch directory holding the envelope schema and, beside it, the WSDL's own schema as
/// `ipernity.xsd` (which the envelope schema imports).
fn schemas(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ipernity-wsdl-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    let start = WSDL.find("<xsd:schema").unwrap();
    let end = WSDL.find("</xsd:schema>").unwrap() + "</xsd:schema>".len();
    std::fs::write(
        dir.join("ipernity.xsd"),
        format!("<?xml version=\"1.0\"?>\n{}", &WSDL[start..end]),
    )
    .unwrap();
    std::fs::write(dir.join("envelope.xsd"), ENVELOPE_XSD).unwrap();
    dir
}

/// xmllint's verdict on `document` against `schema`: Ok, or what it said.
fn validate(dir: &Path, schema: &str, document: &[u8]) -> Result<(), String> {
    let file = dir.join("document.xml");
    std::fs::write(&file, document).unwrap();
    let out = Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .arg(dir.join(schema))
        .arg(&file)
        .output()
        .expect("xmllint (Debian's libxml2-utils) runs");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn the_wsdl_is_well_formed_and_its_schema_is_a_valid_xsd() {
    let dir = schemas("wellformed");
    std::fs::write(dir.join("ipernity.wsdl"), WSDL).unwrap();
    let out = Command::new("xmllint")
        .args(["--noout", "--nonet"])
        .arg(dir.join("ipernity.wsdl"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The schema compiles (a document of another namespace is refused, not the schema).
    let error = validate(&dir, "ipernity.xsd", b"<other/>").unwrap_err();
    assert!(error.contains("No matching global declaration"), "{error}");
    assert!(!error.contains("failed to compile"), "{error}");
    for needle in [
        "<soap12:binding style=\"document\"",
        "<soap12:body use=\"literal\"/>",
        "targetNamespace=\"urn:ipernity\"",
        "elementFormDefault=\"unqualified\"",
    ] {
        assert!(WSDL.contains(needle), "{needle}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_crates_soap_requests_and_the_emulators_answers_fit_the_schema() {
    let dir = schemas("requests");
    let soap = Protocol::Soap.transport();
    let credentials = Credentials::new("6fa87ba500002712bd4eed6020f3bd72", "e9a599f0cf6ce193")
        .with_token("12345-a0b1c2d3e4f5");
    let calls = [
        Call::new("test.echo").param("echo", "hello"),
        Call::new("doc.tags.add")
            .param("doc_id", 1234)
            .param("keywords", "easy")
            .signed(&credentials),
        Call::new("doc.set")
            .param("doc_id", 1)
            .param("title", "Beschreibung für den Test <&> \"quoted\"\r\nline")
            .signed(&credentials),
        Call::new("api.methods.getList"),
    ];
    for call in &calls {
        for format in [None, Some(Format::Json), Some(Format::Php)] {
            let request = soap
                .encode(ipernity::DEFAULT_ENDPOINT, call, format)
                .unwrap();
            validate(&dir, "envelope.xsd", &request.body)
                .unwrap_or_else(|e| panic!("{}: {e}", call.method()));
        }
    }
    // An upload envelope, its file base64 in a <file> element.
    let upload = UploadFile::from_bytes("car.jpg", vec![0xff; 5000])
        .title("Nice car")
        .call()
        .unwrap()
        .signed(&credentials);
    let envelope = soap
        .encode_upload(ipernity::DEFAULT_ENDPOINT, &upload, "car.jpg", None)
        .unwrap();
    validate(
        &dir,
        "envelope.xsd",
        &envelope.with_file(&[0xff; 5000]).body,
    )
    .unwrap();

    // What the emulator answers: a response, and the service's fault.
    let payload = Format::Json
        .decode(br#"{"api":{"status":"ok"},"echo":"hello"}"#)
        .unwrap();
    let rendered = Format::Soap.render(Ok(payload.as_map().unwrap()));
    validate(&dir, "envelope.xsd", &rendered).unwrap();
    let fault = Format::Soap.render(Err(&ApiError::global(ErrorCode::SignatureInvalid)));
    validate(&dir, "envelope.xsd", &fault).unwrap();

    // The schema is not a formality: envelopes the endpoint refuses (121) do not fit it.
    for (wrong, why, endpoint_refuses) in [
        (
            r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><x:ipernityRequest xmlns:x="urn:ipernity"><echo>a</echo></x:ipernityRequest></s:Body></s:Envelope>"#,
            "no method",
            true,
        ),
        (
            r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><x:ipernityRequest xmlns:x="urn:ipernity"><method>test.echo</method><x:echo>a</x:echo></x:ipernityRequest></s:Body></s:Envelope>"#,
            "a namespaced parameter",
            false,
        ),
        (
            r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><x:flickrRequest xmlns:x="urn:ipernity"><method>test.echo</method></x:flickrRequest></s:Body></s:Envelope>"#,
            "another request element",
            true,
        ),
        (
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><x:ipernityRequest xmlns:x="urn:ipernity"><method>test.echo</method></x:ipernityRequest></s:Body></s:Envelope>"#,
            "a SOAP 1.1 envelope",
            true,
        ),
        (
            r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><s:Fault><faultcode>Server</faultcode><faultstring>x</faultstring></s:Fault></s:Body></s:Envelope>"#,
            "a fault without an Ipernity code",
            true,
        ),
    ] {
        assert!(
            validate(&dir, "envelope.xsd", wrong.as_bytes()).is_err(),
            "{why} passed"
        );
        // The endpoint refuses the same envelopes (a namespaced parameter it merely ignores).
        let refused = soap.parse(&ipernity::protocol::IncomingRequest {
            method: ipernity::HttpMethod::Post,
            path: "soap",
            query: "",
            content_type: Some("application/soap+xml"),
            body: wrong.as_bytes(),
        });
        assert_eq!(refused.is_err(), endpoint_refuses, "{why}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

async fn emulator() -> EmulatorHandle {
    Emulator::builder().start().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_serves_the_wsdl_with_its_own_address() {
    let emulator = emulator().await;
    let url = format!("{}/soap?wsdl", emulator.base_url());
    let response = reqwest::get(&url).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/xml")
    );
    let served = response.text().await.unwrap();
    assert!(served.contains(&format!(
        "<soap12:address location=\"{}/soap\"/>",
        emulator.base_url()
    )));
    assert!(!served.contains("api.ipernity.com/api/soap"));
    // Apart from the address, it is the committed document.
    assert_eq!(
        served.replace(
            &format!("{}/soap", emulator.base_url()),
            "https://api.ipernity.com/api/soap"
        ),
        WSDL
    );
    // A Host header that is not a host does not reach the document.
    let with_host = |host: &'static str| {
        let url = url.clone();
        async move {
            reqwest::Client::new()
                .get(&url)
                .header("host", host)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let forged = with_host("evil\"><x").await;
    assert!(!forged.contains("evil"), "{forged}");
    // Nor does any other host: the address is the one the client reached, whatever the Host
    // header claims, and with no Host header at all (HTTP/1.0) too.
    let own = format!(
        "<soap12:address location=\"{}/soap\"/>",
        emulator.base_url()
    );
    let elsewhere = with_host("attacker.example:8443").await;
    assert!(!elsewhere.contains("attacker.example"), "{elsewhere}");
    assert!(elsewhere.contains(&own), "{elsewhere}");
    let bare = {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(emulator.addr()).unwrap();
        stream
            .write_all(b"GET /api/soap?wsdl HTTP/1.0\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    };
    assert!(bare.contains(&own), "{bare}");
    emulator.shutdown().await;
}

/// Runs a toolkit script against a running emulator with its credentials.
async fn run_toolkit(program: &'static str, script: &'static str) -> String {
    let emulator = emulator().await;
    let stdout = run_toolkit_at(
        program,
        script,
        &emulator.base_url(),
        &emulator.credentials(),
    )
    .await;
    emulator.shutdown().await;
    stdout
}

/// Runs a toolkit script against `base` with `credentials`; its standard output.
async fn run_toolkit_at(
    program: &'static str,
    script: &'static str,
    base: &str,
    credentials: &ipernity::Credentials,
) -> String {
    let args = [
        format!(
            "{}/tests/soap_toolkits/{script}",
            env!("CARGO_MANIFEST_DIR")
        ),
        base.to_owned(),
        credentials.api_key.clone(),
        credentials.secret.expose().to_owned(),
        credentials.token.clone().unwrap().expose().to_owned(),
    ];
    let out = tokio::task::spawn_blocking(move || Command::new(program).args(&args).output())
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{program} runs: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{program} {script}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Runs a toolkit script against an emulator directly and against a bridge (over REST) in front
/// of its twin: every raw answer it printed must be the same.
async fn through_the_bridge(program: &'static str, script: &'static str) -> String {
    let twin = || async {
        Emulator::builder()
            .credentials("toolkitkey", "toolkitsecret")
            .token("toolkittoken")
            .start()
            .await
            .unwrap()
    };
    let direct = twin().await;
    let behind = twin().await;
    let bridge = ipernity::bridge::Bridge::builder(behind.base_url())
        .start()
        .await
        .unwrap();
    let credentials = direct.credentials();
    let expected = run_toolkit_at(program, script, &direct.base_url(), &credentials).await;
    let got = run_toolkit_at(program, script, &bridge.base_url(), &credentials).await;
    let answers = |out: &str| {
        out.lines()
            .filter(|line| line.starts_with("answer "))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert!(answers(&expected).len() >= 3, "{expected}");
    assert_eq!(answers(&got), answers(&expected));
    assert!(behind.requests_seen() >= 3);
    bridge.shutdown().await;
    direct.shutdown().await;
    behind.shutdown().await;
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_zeep_gets_through_the_bridge_what_it_gets_from_the_emulator() {
    let stdout = through_the_bridge("python3", "zeep_client.py").await;
    assert!(stdout.contains("fault ipernity.error.105"), "{stdout}");
    assert!(stdout.contains("/api/soap"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn php_soapclient_gets_through_the_bridge_what_it_gets_from_the_emulator() {
    let stdout = through_the_bridge("php", "php_soapclient.php").await;
    assert!(
        stdout.contains("auth.checkToken ok: doc=delete"),
        "{stdout}"
    );
    assert!(stdout.contains("fault ipernity.error.105"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_zeep_binds_to_the_wsdl_and_calls_the_emulator() {
    let stdout = run_toolkit("python3", "zeep_client.py").await;
    for line in [
        "test.echo ok",
        "auth.checkToken ok",
        "fault ipernity.error.105",
    ] {
        assert!(stdout.contains(line), "{line} missing: {stdout}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn php_soapclient_binds_to_the_wsdl_and_calls_the_emulator() {
    let stdout = run_toolkit("php", "php_soapclient.php").await;
    for line in [
        "bound: string call(ipernityRequest $parameters)",
        "test.echo ok",
        "auth.checkToken ok: doc=delete",
        "fault ipernity.error.105",
    ] {
        assert!(stdout.contains(line), "{line} missing: {stdout}");
    }
}
