//! Decode throughput of each response format on one large docs list, against baselines measured
//! in the same run: serde_json into `serde_json::Value` (json), PHP's own `unserialize()` (php),
//! Python's `xmlrpc.client.loads` (xml-rpc) and Python's `xml.etree.ElementTree` (xml).
//!
//! Run: `cargo bench --bench decode` (needs `php` and `python3` on the PATH for the baselines).
//! Set `IPERNITY_BENCH_MB` to change the body size (default 24), and `IPERNITY_BENCH_FORMATS` (for
//! instance `php,xmlrpc`) to measure only some formats, as when profiling one decoder; with
//! `IPERNITY_BENCH_KEEP` set, the bodies written for the baselines are kept for other tools. With
//! `GLIBC_TUNABLES=glibc.malloc.trim_threshold=4294967295` glibc keeps freed memory for reuse, as
//! PHP's allocator does between calls (benches/run.sh runs the bench both ways).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use std::hint::black_box;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use ipernity::{Format, Map, Text, Value};

const RUNS: usize = 7;

fn docs_payload(target_bytes: usize) -> Map {
    let mut docs = Vec::new();
    let mut size = 0;
    let mut id = 1_000_000u64;
    while size < target_bytes {
        id += 1;
        let doc: Map = [
            ("doc_id", Value::from(id.to_string())),
            ("media", "photo".into()),
            (
                "title",
                format!("Photo #{id} – Zoë & \"friends\" <at> the lake").into(),
            ),
            ("license", "9".into()),
            ("rotation", "0".into()),
            (
                "owner",
                [
                    ("user_id", Value::from("5")),
                    ("username", "Superman".into()),
                    ("alias", "superman".into()),
                ]
                .into_iter()
                .collect::<Value>(),
            ),
            (
                "dates",
                [
                    ("created", Value::from("2008-12-01 10:00:00")),
                    ("posted_at", "1228086000".into()),
                ]
                .into_iter()
                .collect::<Value>(),
            ),
            (
                "visibility",
                [
                    ("share", Value::from("4")),
                    ("is_public", "1".into()),
                    ("is_family", "0".into()),
                    ("is_friend", "0".into()),
                ]
                .into_iter()
                .collect::<Value>(),
            ),
            (
                "count",
                [
                    ("visits", Value::from((id % 977).to_string())),
                    ("faves", "3".into()),
                    ("comments", "1".into()),
                ]
                .into_iter()
                .collect::<Value>(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (Text::from(k), v))
        .collect();
        size += 330;
        docs.push(Value::Map(doc));
    }
    let total = docs.len().to_string();
    let list: Map = [
        ("page".into(), Value::from("1")),
        ("pages".into(), "1".into()),
        ("perpage".into(), total.clone().into()),
        ("total".into(), total.into()),
        ("doc".into(), Value::List(docs)),
    ]
    .into_iter()
    .collect();
    [("docs".into(), Value::Map(list))].into_iter().collect()
}

/// The fastest of `RUNS` runs. Freeing the result is not timed, as in the PHP and Python
/// baselines (which time the call and free the value afterwards).
fn best<T>(mut work: impl FnMut() -> T) -> Duration {
    (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            let value = black_box(work());
            let elapsed = start.elapsed();
            drop(value);
            elapsed
        })
        .min()
        .unwrap()
}

fn mb_per_s(bytes: usize, time: Duration) -> f64 {
    bytes as f64 / 1e6 / time.as_secs_f64()
}

/// Runs a baseline script that prints the best of its runs in seconds.
fn external(program: &str, args: &[&str]) -> Option<Duration> {
    let output = Command::new(program).args(args).output().ok()?;
    if !output.status.success() {
        eprintln!(
            "{program} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        return None;
    }
    let seconds: f64 = String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs_f64(seconds))
}

struct Row {
    format: &'static str,
    bytes: usize,
    ours: Duration,
    baseline: Option<(&'static str, Duration)>,
    target: &'static str,
}

fn main() {
    let target_mb: usize = std::env::var("IPERNITY_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    let payload = docs_payload(target_mb * 1_000_000);
    let dir = std::env::temp_dir().join(format!("ipernity-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut rows = Vec::new();
    let formats = std::env::var("IPERNITY_BENCH_FORMATS").ok();
    let wanted = |name: &str| {
        formats
            .as_deref()
            .is_none_or(|list| list.split(',').any(|f| f.trim() == name))
    };
    let docs = payload
        .get("docs")
        .map(|d| d.list("doc").len())
        .unwrap_or(0);
    println!("docs list of {docs} documents; best of {RUNS} runs each");
    // glibc hands freed memory back to the kernel, so each run page-faults its tree afresh; PHP's
    // allocator keeps its pages. benches/run.sh runs this bench both ways.
    match std::env::var("GLIBC_TUNABLES") {
        Ok(tunables) if tunables.contains("trim_threshold") => {
            println!("heap: freed memory kept for reuse ({tunables})")
        }
        _ => println!("heap: glibc's default (freed memory trimmed back to the kernel)"),
    }

    let body = |format: Format| {
        let body = format.render(Ok(&payload));
        assert!(
            format.decode(&body).is_ok(),
            "{format} body does not decode"
        );
        body
    };

    if wanted("json") {
        let json = body(Format::Json);
        let ours = best(|| Format::Json.decode(&json).unwrap());
        let baseline = best(|| serde_json::from_slice::<serde_json::Value>(&json).unwrap());
        rows.push(Row {
            format: "json",
            bytes: json.len(),
            ours,
            baseline: Some(("serde_json::Value", baseline)),
            target: "<= 1.25x the baseline's time",
        });
    }
    if wanted("php") {
        let php = body(Format::Php);
        let php_path = dir.join("docs.ser");
        std::fs::write(&php_path, &php).unwrap();
        let ours = best(|| Format::Php.decode(&php).unwrap());
        let script = format!(
            "$s = file_get_contents('{}'); $best = INF; for ($i = 0; $i < {RUNS}; $i++) {{ $t = hrtime(true); $v = unserialize($s); $best = min($best, hrtime(true) - $t); unset($v); }} echo $best / 1e9;",
            php_path.display()
        );
        let baseline = external("php", &["-d", "memory_limit=-1", "-r", &script]);
        rows.push(Row {
            format: "php",
            bytes: php.len(),
            ours,
            baseline: baseline.map(|b| ("PHP unserialize()", b)),
            target: "<= 1x the baseline's time",
        });
        // What writing the tree alone costs: a deep copy of the decoded value, no parsing.
        let decoded = Format::Php.decode(&php).unwrap();
        let copy = best(|| decoded.clone());
        drop(decoded);
        rows.push(Row {
            format: "php",
            bytes: php.len(),
            ours: copy,
            baseline: baseline.map(|b| ("(floor: a copy of the decoded tree, vs unserialize)", b)),
            target: "(floor)",
        });
        // What the tokenizer alone costs: a floor for any decoder built on it.
        let tokens = best(|| php_tokens(&php));
        rows.push(Row {
            format: "php",
            bytes: php.len(),
            ours: tokens,
            baseline: baseline.map(|b| ("(floor: phpserz tokens only, vs unserialize)", b)),
            target: "(floor)",
        });
    }
    if wanted("xmlrpc") {
        let xmlrpc = body(Format::XmlRpc);
        let xmlrpc_path = dir.join("docs.xmlrpc.xml");
        std::fs::write(&xmlrpc_path, &xmlrpc).unwrap();
        let ours = best(|| Format::XmlRpc.decode(&xmlrpc).unwrap());
        let loads = python(
            &xmlrpc_path,
            "import xmlrpc.client as x\ndef work(b): return x.loads(b)",
        );
        rows.push(Row {
            format: "xmlrpc",
            bytes: xmlrpc.len(),
            ours,
            baseline: loads.map(|b| ("Python xmlrpc.client.loads", b)),
            target: "<= 0.2x the baseline's time",
        });
        let loads_and_tree = python(
            &xmlrpc_path,
            "import xmlrpc.client as x, xml.etree.ElementTree as ET\ndef work(b): return ET.fromstring(x.loads(b)[0][0])",
        );
        rows.push(Row {
            format: "xmlrpc",
            bytes: xmlrpc.len(),
            ours,
            baseline: loads_and_tree.map(|b| ("Python loads + ElementTree of the document", b)),
            target: "(same work as ours)",
        });
        // What quick-xml alone costs on the document inside: a floor for any decoder built on it.
        let document = quick_xml::escape::unescape(
            std::str::from_utf8(&xmlrpc)
                .unwrap()
                .split_once("<string>")
                .unwrap()
                .1
                .split_once("</string>")
                .unwrap()
                .0,
        )
        .unwrap()
        .into_owned();
        let events = best(|| xml_events(&document));
        rows.push(Row {
            format: "xmlrpc",
            bytes: xmlrpc.len(),
            ours: events,
            baseline: loads.map(|b| {
                (
                    "(floor: quick-xml events + attributes of the document, vs loads)",
                    b,
                )
            }),
            target: "(floor)",
        });
    }
    if wanted("xml") {
        let xml = body(Format::Xml);
        let xml_path = dir.join("docs.xml");
        std::fs::write(&xml_path, &xml).unwrap();
        let ours = best(|| Format::Xml.decode(&xml).unwrap());
        let tree = python(
            &xml_path,
            "import xml.etree.ElementTree as ET\ndef work(b): return ET.fromstring(b)",
        );
        rows.push(Row {
            format: "xml",
            bytes: xml.len(),
            ours,
            baseline: tree.map(|b| ("Python ElementTree.fromstring", b)),
            target: "(reference)",
        });
    }
    if wanted("soap") {
        let soap = body(Format::Soap);
        let ours = best(|| Format::Soap.decode(&soap).unwrap());
        rows.push(Row {
            format: "soap",
            bytes: soap.len(),
            ours,
            baseline: None,
            target: "",
        });
    }

    println!();
    println!(
        "| format | body | ours | ours MB/s | baseline | baseline time | time ratio (ours / baseline) | target |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for row in rows {
        let (name, time) = row
            .baseline
            .map_or(("-".to_owned(), "-".to_owned()), |(n, t)| {
                (n.to_owned(), format!("{:.1} ms", t.as_secs_f64() * 1e3))
            });
        let ratio = row.baseline.map_or("-".to_owned(), |(_, t)| {
            format!("{:.2}", row.ours.as_secs_f64() / t.as_secs_f64())
        });
        println!(
            "| {} | {:.1} MB | {:.1} ms | {:.0} | {} | {} | {} | {} |",
            row.format,
            row.bytes as f64 / 1e6,
            row.ours.as_secs_f64() * 1e3,
            mb_per_s(row.bytes, row.ours),
            name,
            time,
            ratio,
            row.target
        );
    }
    if std::env::var_os("IPERNITY_BENCH_KEEP").is_some() {
        println!("bodies kept in {}", dir.display());
    } else {
        std::fs::remove_dir_all(&dir).ok();
    }
}

/// Reads every token of a serialization, building nothing.
fn php_tokens(body: &[u8]) -> usize {
    let mut parser = phpserz::PhpParser::new(body);
    let mut count = 0;
    while let Ok(Some(token)) = parser.next_token() {
        count += usize::from(matches!(token, phpserz::PhpToken::String(_)));
    }
    count
}

/// Reads every event of a document and every attribute value (normalized), building nothing.
fn xml_events(document: &str) -> usize {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(document);
    let mut count = 0;
    loop {
        match reader.read_event().unwrap() {
            Event::Start(start) | Event::Empty(start) => {
                for attribute in start.attributes().with_checks(false) {
                    let value = attribute
                        .unwrap()
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .unwrap();
                    count += value.len();
                }
            }
            Event::Eof => return count,
            _ => {}
        }
    }
}

fn python(path: &Path, setup: &str) -> Option<Duration> {
    let script = format!(
        "{setup}\nimport time\nb = open({path:?}, 'rb').read()\nbest = float('inf')\nfor _ in range({RUNS}):\n    t = time.perf_counter(); v = work(b); best = min(best, time.perf_counter() - t); del v\nprint(best)\n",
        path = path.display().to_string()
    );
    external("python3", &["-c", &script])
}
