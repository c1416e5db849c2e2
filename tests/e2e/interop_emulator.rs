//! Real third-party peers against the running emulator: Python's `xmlrpc.client` calls
//! `/api/xmlrpc` with a signed struct; PHP's own `unserialize()` reads what `/php` sends.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::process::Command;

use ipernity::server::Emulator;

fn run(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("{program} is needed for the interop tests (.ci/run installs it): {e}")
        });
    assert!(
        output.status.success(),
        "{program}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

const PYTHON_CLIENT: &str = r#"
import hashlib, sys, xmlrpc.client
url, key, secret, token = sys.argv[1:5]
def signed(method, params):
    params = dict(params, api_key=key, auth_token=token)
    text = "".join(k + params[k] for k in sorted(params)) + method + secret
    params["api_sig"] = hashlib.md5(text.encode("utf-8")).hexdigest()
    return params
proxy = xmlrpc.client.ServerProxy(url + "/xmlrpc")
print(proxy.test.echo(signed("test.echo", {"echo": "Zoë <&>"})))
try:
    bad = signed("auth.checkToken", {})
    bad["api_sig"] = "0" * 32
    getattr(proxy, "auth.checkToken")(bad)
except xmlrpc.client.Fault as fault:
    print("fault", fault.faultCode, fault.faultString)
print(getattr(proxy, "auth.checkToken")(signed("auth.checkToken", {})))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_xmlrpc_client_calls_the_emulator() {
    let emulator = Emulator::builder().start().await.unwrap();
    let credentials = emulator.credentials();
    let base = emulator.base_url();
    let token = credentials.token.clone().unwrap();
    let args: Vec<String> = [
        "-c",
        PYTHON_CLIENT,
        &base,
        &credentials.api_key,
        credentials.secret.expose(),
        token.expose(),
    ]
    .map(str::to_owned)
    .to_vec();
    let out = tokio::task::spawn_blocking(move || {
        run(
            "python3",
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        )
    })
    .await
    .unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        r#"<api status="ok"><echo>Zoë &lt;&amp;&gt;</echo></api>"#
    );
    assert_eq!(lines[1], "fault 105 Signature is invalid");
    // Scalars inside objects are attributes (`protocols/formats.md`).
    assert!(
        lines[2].starts_with(r#"<api status="ok"><auth token=""#),
        "{}",
        lines[2]
    );
    assert!(
        lines[2].contains(r#"<permissions doc="delete""#),
        "{}",
        lines[2]
    );
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn php_unserialize_reads_the_emulators_php() {
    let emulator = Emulator::builder().start().await.unwrap();
    let credentials = emulator.credentials();
    let call = ipernity::Call::new("auth.checkToken").signed(&credentials);
    let request = ipernity::Protocol::Rest
        .transport()
        .encode(&emulator.base_url(), &call, Some(ipernity::Format::Php))
        .unwrap();
    let script = format!(
        "$v = unserialize(file_get_contents('{}')); echo $v['api']['status'], ' ', $v['auth']['permissions']['doc'], ' ', $v['auth']['user']['username'];",
        request.url
    );
    let out = tokio::task::spawn_blocking(move || run("php", &["-r", &script]))
        .await
        .unwrap();
    assert_eq!(out, "ok delete emulated");
    let unknown = format!(
        "{}/doc.get/php?api_key={}&doc_id=1",
        emulator.base_url(),
        credentials.api_key
    );
    let script = format!(
        "$v = unserialize(file_get_contents('{unknown}')); echo $v['api']['status'], ' ', $v['api']['code'], ' ', $v['api']['message'];"
    );
    let out = tokio::task::spawn_blocking(move || run("php", &["-r", &script]))
        .await
        .unwrap();
    assert_eq!(out, "error 1 Document not found");
    emulator.shutdown().await;
}
