//! Interop with real third-party peers: PHP's own `unserialize()` reads what the php renderer
//! writes; Python's `xmlrpc.client` reads the XML-RPC responses, faults and requests the crate
//! writes; Python's ElementTree reads its XML and SOAP. (`.ci/run` installs php-cli.)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::Write;
use std::process::{Command, Stdio};

use ipernity::{ApiError, Call, Credentials, ErrorCode, Format, Map, Protocol, Value};

/// Runs `program` with `args`, feeding `input`, and returns its standard output.
fn run(program: &str, args: &[&str], input: &[u8]) -> String {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("{program} is needed for the interop tests (.ci/run installs it): {e}")
        });
    child.stdin.take().unwrap().write_all(input).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{program}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn payloads() -> Vec<Map> {
    let documents: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/responses/documents.json"
        ))
        .unwrap(),
    )
    .unwrap();
    documents
        .as_object()
        .unwrap()
        .iter()
        .filter(|(name, doc)| !name.starts_with("variant/") && doc["api"]["status"] == "ok")
        .map(
            |(_, doc)| match serde_json::from_value::<Value>(doc.clone()).unwrap() {
                Value::Map(mut map) => {
                    map.remove("api");
                    map
                }
                _ => unreachable!(),
            },
        )
        .collect()
}

#[test]
fn php_unserialize_reads_the_php_renderer() {
    for payload in payloads() {
        let body = Format::Php.render(Ok(&payload));
        let json = run(
            "php",
            &[
                "-r",
                "echo json_encode(unserialize(stream_get_contents(STDIN)), JSON_THROW_ON_ERROR);",
            ],
            &body,
        );
        let from_php: serde_json::Value = serde_json::from_str(&json).unwrap();
        let from_us: serde_json::Value =
            serde_json::from_slice(&Format::Json.render(Ok(&payload))).unwrap();
        assert_eq!(from_php, from_us);
    }
    let error = ApiError::new(ErrorCode::SignatureInvalid, "Signature is invalid");
    let json = run(
        "php",
        &[
            "-r",
            "echo json_encode(unserialize(stream_get_contents(STDIN)));",
        ],
        &Format::Php.render(Err(&error)),
    );
    assert_eq!(
        json,
        r#"{"api":{"status":"error","code":"105","message":"Signature is invalid"}}"#
    );
}

#[test]
fn php_serialize_matches_the_renderer_byte_for_byte() {
    for payload in payloads() {
        let json = Format::Json.render(Ok(&payload));
        let php = run(
            "php",
            &[
                "-r",
                "echo serialize(json_decode(stream_get_contents(STDIN), true));",
            ],
            &json,
        );
        assert_eq!(php.as_bytes(), Format::Php.render(Ok(&payload)).as_slice());
    }
}

const PYTHON_XMLRPC: &str = r#"
import sys, json, xmlrpc.client
kind, body = sys.argv[1], sys.stdin.buffer.read()
if kind == "response":
    try:
        params, _ = xmlrpc.client.loads(body)
        print(json.dumps({"string": params[0]}))
    except xmlrpc.client.Fault as fault:
        print(json.dumps({"code": fault.faultCode, "message": fault.faultString}))
else:
    params, method = xmlrpc.client.loads(body)
    print(json.dumps({"method": method, "params": params}))
"#;

#[test]
fn python_xmlrpc_client_reads_responses_faults_and_requests() {
    for payload in payloads() {
        let out = run(
            "python3",
            &["-c", PYTHON_XMLRPC, "response"],
            &Format::XmlRpc.render(Ok(&payload)),
        );
        let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
        // The string is the XML-format document, which decodes to the same payload.
        let document = parsed["string"].as_str().unwrap();
        assert_eq!(
            Format::Xml.decode(document.as_bytes()).unwrap(),
            Format::Xml
                .decode(&Format::Xml.render(Ok(&payload)))
                .unwrap()
        );
    }
    let error = ApiError::new(
        ErrorCode::InvalidXmlRpcEnvelope,
        "Invalid XML-RPC envelope <&>",
    );
    let out = run(
        "python3",
        &["-c", PYTHON_XMLRPC, "response"],
        &Format::XmlRpc.render(Err(&error)),
    );
    assert_eq!(
        out.trim(),
        r#"{"code": 122, "message": "Invalid XML-RPC envelope <&>"}"#
    );

    let credentials = Credentials::new("key", "secret").with_token("token");
    let call = Call::new("doc.set")
        .param("doc_id", 7)
        .param("title", "Zoë <&> ]]> \"'")
        .signed(&credentials);
    let request = Protocol::XmlRpc
        .transport()
        .encode("http://localhost/api", &call, None)
        .unwrap();
    let out = run("python3", &["-c", PYTHON_XMLRPC, "request"], &request.body);
    let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(parsed["method"], "doc.set");
    let struct_ = parsed["params"][0].as_object().unwrap();
    assert_eq!(struct_.len(), call.params().len());
    for (name, value) in call.params().iter() {
        assert_eq!(struct_[name], value, "{name}");
    }
}

const PYTHON_ETREE: &str = r#"
import sys, json, xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.buffer.read())
def walk(e):
    return {"tag": e.tag, "attrib": e.attrib, "text": e.text, "children": [walk(c) for c in e]}
print(json.dumps(walk(root)))
"#;

#[test]
fn python_elementtree_reads_the_xml_and_soap_renderers_and_the_soap_encoder() {
    for payload in payloads() {
        let xml: serde_json::Value = serde_json::from_str(&run(
            "python3",
            &["-c", PYTHON_ETREE],
            &Format::Xml.render(Ok(&payload)),
        ))
        .unwrap();
        assert_eq!(xml["tag"], "api");
        assert_eq!(xml["attrib"]["status"], "ok");
        let soap: serde_json::Value = serde_json::from_str(&run(
            "python3",
            &["-c", PYTHON_ETREE],
            &Format::Soap.render(Ok(&payload)),
        ))
        .unwrap();
        assert_eq!(
            soap["tag"],
            "{http://www.w3.org/2003/05/soap-envelope}Envelope"
        );
        let response = &soap["children"][0]["children"][0];
        assert_eq!(response["tag"], "{urn:ipernity}ipernityResponse");
        // The escaped text is the XML document.
        let inner = response["text"].as_str().unwrap();
        assert_eq!(
            Format::Xml.decode(inner.as_bytes()).unwrap(),
            Format::Xml
                .decode(&Format::Xml.render(Ok(&payload)))
                .unwrap()
        );
    }
    let call = Call::new("test.echo")
        .param("echo", "a\r\nb <&> ]]>")
        .signed(&Credentials::new("key", "secret"));
    let request = Protocol::Soap
        .transport()
        .encode("http://localhost/api", &call, None)
        .unwrap();
    let soap: serde_json::Value =
        serde_json::from_str(&run("python3", &["-c", PYTHON_ETREE], &request.body)).unwrap();
    let children = soap["children"][0]["children"][0]["children"]
        .as_array()
        .unwrap();
    assert_eq!(children[0]["tag"], "method");
    assert_eq!(children[0]["text"], "test.echo");
    let echo = children.iter().find(|c| c["tag"] == "echo").unwrap();
    assert_eq!(echo["text"], "a\r\nb <&> ]]>");
}
