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

/// The same calls for both Python peers: (method, parameters), `{doc}`, `{album}`, `{folder}`,
/// `{comment}` filled in as they are made. Every family of the API is among them.
const PYTHON_PEERS: &str = r#"
import hashlib, json, sys, xmlrpc.client
url, key, secret, token, photo = sys.argv[1:6]
calls = [
    ("test.echo", {"echo": "Zoë <&>"}),
    ("test.hello", {}),
    ("api.methods.get", {"method": "doc.get"}),
    ("auth.checkToken", {}),
    ("account.getQuota", {}),
    ("doc.get", {"doc_id": "{doc}", "extra": "tags,geo"}),
    ("doc.set", {"doc_id": "{doc}", "title": "from Python"}),
    ("doc.tags.add", {"doc_id": "{doc}", "keywords": "python,peer"}),
    ("doc.tags.getList", {"doc_id": "{doc}"}),
    ("doc.comments.add", {"doc_id": "{doc}", "content": "from Python"}),
    ("doc.comments.getList", {"doc_id": "{doc}"}),
    ("doc.notes.add", {"doc_id": "{doc}", "content": "note", "x": "1", "y": "1", "w": "5", "h": "5"}),
    ("doc.getMedias", {"doc_id": "{doc}"}),
    ("doc.getExif", {"doc_id": "{doc}"}),
    ("doc.search", {"text": "python"}),
    ("album.create", {"title": "Python album"}),
    ("album.docs.add", {"album_id": "{album}", "doc_id": "{doc}"}),
    ("album.docs.getList", {"album_id": "{album}"}),
    ("folder.create", {"title": "Python folder"}),
    ("folder.albums.add", {"folder_id": "{folder}", "album_id": "{album}"}),
    ("faves.albums.add", {"album_id": "{album}"}),
    ("faves.albums.getList", {}),
    ("group.getList", {}),
    ("group.docs.add", {"group_id": "1", "doc_id": "{doc}"}),
    ("network.getList", {}),
    ("explore.docs.getRecent", {"count": "5"}),
    ("tags.user.getList", {"type": "keyword"}),
    ("post.getList", {}),
    ("post.comments.add", {"post_id": "1", "content": "from Python"}),
    ("user.get", {"user_id": "1"}),
]

def fill(params, made):
    return {k: made.get(v, v) for k, v in params.items()}

def remember(method, answer, made):
    for root, key in (("album", "album_id"), ("folder", "folder_id"), ("comment", "comment_id")):
        if method.endswith(".create") or method.endswith("comments.add"):
            if root in answer and key in answer[root]:
                made["{" + root + "}"] = answer[root][key]

# PyIpernity 0.3.1, over REST and JSON.
from ipernity import IpernityAPI
api = IpernityAPI(key, secret, token=token, url=url + "/")
made = {"{doc}": api.upload_file(photo, title="from PyIpernity")}
print("pyipernity ok upload.file+upload.checkTickets", made["{doc}"])
for method, params in calls:
    answer = api.call(method, **fill(params, made))
    remember(method, answer, made)
    print("pyipernity ok", method)
    print("answer pyipernity", method, json.dumps(answer, sort_keys=True))
print("pyipernity user", api.user_info["user_id"], "docs", sum(1 for _ in api.walk_data("doc.getList", per_page=2)))

# Python's xmlrpc.client, signing each struct itself.
def signed(method, params):
    params = dict(params, api_key=key, auth_token=token)
    text = "".join(k + params[k] for k in sorted(params)) + method + secret
    params["api_sig"] = hashlib.md5(text.encode("utf-8")).hexdigest()
    return params
proxy = xmlrpc.client.ServerProxy(url + "/xmlrpc")
for method, params in calls:
    body = getattr(proxy, method)(signed(method, fill(params, made)))
    assert body.startswith('<api status="ok">'), (method, body)
    print("xmlrpc ok", method)
    print("answer xmlrpc", method, json.dumps(body))
"#;

/// An emulator for the Python peers: a group to join and a post to comment on.
async fn python_peers_emulator() -> ipernity::server::EmulatorHandle {
    Emulator::builder()
        .credentials("peerskey", "peerssecret")
        .token("peerstoken")
        .ticket_delay(std::time::Duration::from_millis(100))
        .group("Python lovers", true, false)
        .post(1, "Snakes", "A post about Python.", true)
        .start()
        .await
        .unwrap()
}

/// Runs both Python peers against `base`; their standard output.
async fn run_python_peers(base: &str, credentials: &ipernity::Credentials, label: &str) -> String {
    let dir = std::env::temp_dir().join(format!(
        "ipernity-python-peers-{}-{label}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let photo = dir.join("peer.jpg");
    std::fs::write(
        &photo,
        ipernity::server::sample_jpeg(200, 150, Some("2012-01-02 03:04:05"), None),
    )
    .unwrap();
    let args: Vec<String> = vec![
        "-c".into(),
        PYTHON_PEERS.into(),
        base.to_owned(),
        credentials.api_key.clone(),
        credentials.secret.expose().to_owned(),
        credentials.token.clone().unwrap().expose().to_owned(),
        photo.display().to_string(),
    ];
    let out = tokio::task::spawn_blocking(move || {
        run(
            "python3",
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        )
    })
    .await
    .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyipernity_and_xmlrpc_client_call_every_family_of_the_emulator() {
    let emulator = python_peers_emulator().await;
    let out = run_python_peers(&emulator.base_url(), &emulator.credentials(), "direct").await;
    let methods = |peer: &str| {
        out.lines()
            .filter_map(|line| line.strip_prefix(&format!("{peer} ok ")))
            .map(|method| method.split(' ').next().unwrap().to_owned())
            .collect::<std::collections::BTreeSet<_>>()
    };
    let families = |methods: &std::collections::BTreeSet<String>| {
        methods
            .iter()
            .map(|m| m.split('.').next().unwrap().to_owned())
            .collect::<std::collections::BTreeSet<_>>()
    };
    for peer in ["pyipernity", "xmlrpc"] {
        let called = methods(peer);
        assert!(called.len() >= 20, "{peer}: {called:?}\n{out}");
        assert!(
            families(&called).len() >= 12,
            "{peer}: {:?}",
            families(&called)
        );
    }
    assert!(out.contains("pyipernity user 1 docs 1"), "{out}");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyipernity_and_xmlrpc_client_get_through_the_bridge_what_they_get_directly() {
    let direct = python_peers_emulator().await;
    let behind = python_peers_emulator().await;
    let bridge = ipernity::bridge::Bridge::builder(behind.base_url())
        .start()
        .await
        .unwrap();
    let credentials = direct.credentials();
    let expected = run_python_peers(&direct.base_url(), &credentials, "direct").await;
    let got = run_python_peers(&bridge.base_url(), &credentials, "bridged").await;
    let origins = [
        format!("http://{}", direct.addr()),
        format!("http://{}", behind.addr()),
    ];
    let answers = |out: &str| {
        out.lines()
            .filter(|line| line.starts_with("answer "))
            .map(|line| crate::bridge::normalized(line.as_bytes(), &origins))
            .collect::<Vec<_>>()
    };
    let (expected, got) = (answers(&expected), answers(&got));
    assert!(expected.len() >= 40, "{expected:?}");
    assert_eq!(got.len(), expected.len());
    for (got, expected) in got.iter().zip(&expected) {
        assert_eq!(got, expected);
    }
    bridge.shutdown().await;
    direct.shutdown().await;
    behind.shutdown().await;
}
