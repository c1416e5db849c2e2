//! Every decoder and request parser is linear in its input: doubling one dimension of a document
//! (attributes on one element, members of a map, items of a list, keys of a PHP array, members
//! of an XML-RPC struct, parameters of a form, parts of a multipart body) at most doubles the
//! work. Each case times n and 2n in the same run (the fastest of several tries, so a busy
//! machine slows both alike) and holds the ratio under 3; a quadratic path gives 4.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::time::{Duration, Instant};

use ipernity::protocol::IncomingRequest;
use ipernity::{Format, HttpMethod, Protocol};

const TRIES: usize = 7;
const MAX_RATIO: f64 = 3.0;

/// The fastest of [`TRIES`] runs of `work` on `input`.
fn fastest(input: &[u8], work: &dyn Fn(&[u8])) -> Duration {
    (0..TRIES)
        .map(|_| {
            let started = Instant::now();
            work(input);
            started.elapsed()
        })
        .min()
        .unwrap()
}

/// One measurement at a time: the cases of this file would otherwise share the cores.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Times `work` on `make(n)` and `make(2n)` and checks the ratio. The sizes stay small enough
/// (a few MB) that both fit the caches alike: beyond them, a linear pass slows per byte too.
fn doubles_linearly(what: &str, n: usize, make: impl Fn(usize) -> Vec<u8>, work: &dyn Fn(&[u8])) {
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let small = make(n);
    let large = make(2 * n);
    // Warm-up: page in the code and the allocator's arenas.
    work(&small);
    let mut ratio = 0.0;
    // A second measurement only when the first looks bad: noise rarely strikes twice.
    for _ in 0..2 {
        let t1 = fastest(&small, work);
        let t2 = fastest(&large, work);
        ratio = t2.as_secs_f64() / t1.as_secs_f64().max(1e-9);
        eprintln!("{what}: n={n} {t1:?}, 2n {t2:?}, ratio {ratio:.2}");
        if ratio < MAX_RATIO {
            return;
        }
    }
    panic!("{what}: doubling the input multiplied the time by {ratio:.2}");
}

fn decode(format: Format) -> impl Fn(&[u8]) {
    move |body: &[u8]| {
        // Errors are fine (a size limit, say): the time to reach them is what counts.
        let _ = std::hint::black_box(format.decode(body));
    }
}

#[test]
fn xml_attributes_members_and_items() {
    doubles_linearly(
        "xml attributes on one element",
        20_000,
        |n| {
            let attributes: String = (0..n).map(|i| format!(" a{i}=\"{i}\"")).collect();
            format!("<api status=\"ok\"><doc{attributes}/></api>").into_bytes()
        },
        &decode(Format::Xml),
    );
    doubles_linearly(
        "xml attributes sharing local names under prefixes",
        20_000,
        |n| {
            let attributes: String = (0..n).map(|i| format!(" p{i}:id=\"{i}\"")).collect();
            format!("<api status=\"ok\"><doc{attributes}/></api>").into_bytes()
        },
        &decode(Format::Xml),
    );
    doubles_linearly(
        "xml members of one element",
        20_000,
        |n| {
            let members: String = (0..n).map(|i| format!("<m{i}>{i}</m{i}>")).collect();
            format!("<api status=\"ok\"><doc>{members}</doc></api>").into_bytes()
        },
        &decode(Format::Xml),
    );
    doubles_linearly(
        "xml items of one list",
        20_000,
        |n| {
            let items: String = (0..n).map(|i| format!("<doc id=\"{i}\"/>")).collect();
            format!("<api status=\"ok\"><docs>{items}</docs></api>").into_bytes()
        },
        &decode(Format::Xml),
    );
}

#[test]
fn json_members_and_items() {
    doubles_linearly(
        "json members of one object",
        20_000,
        |n| {
            let members: Vec<String> = (0..n).map(|i| format!("\"m{i}\":{i}")).collect();
            format!(
                "{{\"api\":{{\"status\":\"ok\"}},\"doc\":{{{}}}}}",
                members.join(",")
            )
            .into_bytes()
        },
        &decode(Format::Json),
    );
    doubles_linearly(
        "json items of one list",
        20_000,
        |n| {
            let items: Vec<String> = (0..n).map(|i| format!("{{\"id\":{i}}}")).collect();
            format!(
                "{{\"api\":{{\"status\":\"ok\"}},\"docs\":[{}]}}",
                items.join(",")
            )
            .into_bytes()
        },
        &decode(Format::Json),
    );
}

#[test]
fn php_keys() {
    doubles_linearly(
        "php keys of one array",
        20_000,
        |n| {
            let mut doc = format!("a:{n}:{{");
            for i in 0..n {
                let key = format!("k{i}");
                doc.push_str(&format!("s:{}:\"{key}\";i:{i};", key.len()));
            }
            doc.push('}');
            format!("a:2:{{s:3:\"api\";a:1:{{s:6:\"status\";s:2:\"ok\";}}s:3:\"doc\";{doc}}}")
                .into_bytes()
        },
        &decode(Format::Php),
    );
}

#[test]
fn xmlrpc_struct_members_and_soap_attributes() {
    doubles_linearly(
        "xml-rpc struct members",
        20_000,
        |n| {
            let members: String = (0..n)
                .map(|i| {
                    format!("<member><name>m{i}</name><value><string>{i}</string></value></member>")
                })
                .collect();
            format!("<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>{members}</struct></value></param></params></methodResponse>").into_bytes()
        },
        &decode(Format::XmlRpc),
    );
    doubles_linearly(
        "soap attributes on one element",
        20_000,
        |n| {
            let attributes: String = (0..n).map(|i| format!(" a{i}=\"{i}\"")).collect();
            format!("<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body><x:ipernityResponse xmlns:x=\"urn:ipernity\">&lt;api status=\"ok\"&gt;&lt;doc{}/&gt;&lt;/api&gt;</x:ipernityResponse></s:Body></s:Envelope>", attributes.replace('"', "&quot;")).into_bytes()
        },
        &decode(Format::Soap),
    );
}

fn parse(protocol: Protocol, method: HttpMethod, content_type: &'static str) -> impl Fn(&[u8]) {
    move |body: &[u8]| {
        let incoming = IncomingRequest {
            method,
            path: match protocol {
                Protocol::Rest => "test.echo",
                Protocol::Soap => "soap",
                Protocol::XmlRpc => "xmlrpc",
            },
            query: "",
            content_type: Some(content_type),
            body,
        };
        let _ = std::hint::black_box(protocol.transport().parse(&incoming));
    }
}

#[test]
fn request_parsers_parameters_and_parts() {
    doubles_linearly(
        "form parameters",
        20_000,
        |n| {
            (0..n)
                .map(|i| format!("p{i}={i}&"))
                .collect::<String>()
                .into_bytes()
        },
        &parse(
            Protocol::Rest,
            HttpMethod::Post,
            "application/x-www-form-urlencoded",
        ),
    );
    doubles_linearly(
        "soap request parameters",
        20_000,
        |n| {
            let params: String = (0..n).map(|i| format!("<p{i}>{i}</p{i}>")).collect();
            format!("<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body><x:ipernityRequest xmlns:x=\"urn:ipernity\"><method>test.echo</method>{params}</x:ipernityRequest></s:Body></s:Envelope>").into_bytes()
        },
        &parse(Protocol::Soap, HttpMethod::Post, "application/soap+xml"),
    );
    doubles_linearly(
        "xml-rpc request struct members",
        20_000,
        |n| {
            let members: String = (0..n)
                .map(|i| {
                    format!("<member><name>p{i}</name><value><string>{i}</string></value></member>")
                })
                .collect();
            format!("<?xml version=\"1.0\"?><methodCall><methodName>test.echo</methodName><params><param><value><struct>{members}</struct></value></param></params></methodCall>").into_bytes()
        },
        &parse(Protocol::XmlRpc, HttpMethod::Post, "text/xml"),
    );
    // Multipart bodies hold at most 256 parts and 1 MiB of fields: the parts double from 120
    // to 240, each of 4 KB, all in one chunk (where draining each part from the front of the
    // buffer was quadratic).
    doubles_linearly(
        "multipart parts",
        120,
        |n| {
            let value = "v".repeat(4000);
            let mut body = String::new();
            for i in 0..n {
                body.push_str(&format!(
                    "--B\r\nContent-Disposition: form-data; name=\"p{i}\"\r\n\r\n{value}\r\n"
                ));
            }
            body.push_str("--B--\r\n");
            body.into_bytes()
        },
        &parse(
            Protocol::Rest,
            HttpMethod::Post,
            "multipart/form-data; boundary=B",
        ),
    );
}
