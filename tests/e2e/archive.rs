//! Backup, verify and restore end to end: a seeded account backed up, restored into a second
//! emulator and backed up again (every settable field equal, albums and folders in order);
//! incremental runs (what changed, what was deleted, `mirror`); the index rebuilt from the
//! sidecars; damage found by `verify`; runs killed with SIGKILL and started again, into a
//! directory and into a real S3-compatible server (moto) when the test set-up installed it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ipernity::archive::{Archive, BackupReport};
use ipernity::client::{
    BoxFuture, HttpResponse, HttpSender, ReqwestSender, SendError, StreamedResponse,
};
use ipernity::server::{Emulator, EmulatorHandle};
use ipernity::{Client, Format, HttpRequest, Protocol};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ipernity-archive-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Counts the API calls and the downloads a client makes.
#[derive(Debug)]
struct Counting {
    inner: ReqwestSender,
    calls: AtomicU64,
    downloads: AtomicU64,
}

impl HttpSender for Counting {
    fn send(
        &self,
        request: HttpRequest,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<HttpResponse, SendError>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.send(request, timeout)
    }

    fn send_stream(
        &self,
        head: HttpRequest,
        length: u64,
        body: ipernity::client::BodyStream,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<HttpResponse, SendError>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.send_stream(head, length, body, timeout)
    }

    fn get_streamed(
        &self,
        url: String,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<StreamedResponse, SendError>> {
        self.downloads.fetch_add(1, Ordering::SeqCst);
        self.inner.get_streamed(url, timeout)
    }
}

fn client(emulator: &EmulatorHandle, counting: Option<Arc<Counting>>) -> Client {
    let credentials = emulator.credentials();
    let mut builder = Client::builder()
        .endpoint(emulator.base_url())
        .credentials(credentials.api_key.clone(), credentials.secret.clone())
        .token(credentials.token.clone().unwrap())
        .protocol(Protocol::Rest)
        .format(Format::Json);
    if let Some(counting) = counting {
        builder = builder.sender(counting);
    }
    builder.build().unwrap()
}

fn counting() -> Arc<Counting> {
    Arc::new(Counting {
        inner: ReqwestSender::for_api().unwrap(),
        calls: AtomicU64::new(0),
        downloads: AtomicU64::new(0),
    })
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn s(value: &serde_json::Value, path: &[&str]) -> String {
    let mut at = value;
    for step in path {
        at = &at[*step];
    }
    match at {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn list<'a>(value: &'a serde_json::Value, path: &[&str]) -> Vec<&'a serde_json::Value> {
    let mut at = value;
    for step in path {
        at = &at[*step];
    }
    match at {
        serde_json::Value::Array(items) => items.iter().collect(),
        serde_json::Value::Null => Vec::new(),
        one => vec![one],
    }
}

/// What a client can set on a document, as its sidecar records it, with member ids as given.
fn settable(sidecar: &serde_json::Value) -> BTreeMap<&'static str, String> {
    let doc = &sidecar["doc"];
    let owner = s(doc, &["owner", "user_id"]);
    let mut tags: Vec<String> = list(doc, &["tags", "tag"])
        .iter()
        .map(|t| {
            format!(
                "{}:{}{}",
                s(t, &["type"]),
                s(t, &["keyword"]),
                s(t, &["member_id"])
            )
        })
        .collect();
    tags.sort();
    let mut notes: Vec<String> = list(doc, &["notes", "note"])
        .iter()
        .filter(|n| s(n, &["user_id"]) == owner)
        .map(|n| {
            format!(
                "{} {} {} {} {}",
                s(n, &["x"]),
                s(n, &["y"]),
                s(n, &["w"]),
                s(n, &["h"]),
                s(n, &["_value"])
            )
        })
        .collect();
    notes.sort();
    let comments: Vec<String> = list(sidecar, &["comments"])
        .iter()
        .filter(|c| s(c, &["user_id"]) == owner && s(c, &["parent_id"]).is_empty())
        .map(|c| s(c, &["content"]))
        .collect();
    let geo = if doc["geo"].is_object() {
        let lat: f64 = s(doc, &["geo", "lat"]).parse().unwrap();
        let lng: f64 = s(doc, &["geo", "lng"]).parse().unwrap();
        format!("{lat:.5},{lng:.5}")
    } else {
        String::new()
    };
    BTreeMap::from([
        ("md5", s(sidecar, &["backup", "md5"])),
        ("media", s(doc, &["media"])),
        ("title", s(doc, &["title"])),
        ("description", s(doc, &["description"])),
        ("license", s(doc, &["license"])),
        ("safety", s(doc, &["safety"])),
        ("share", s(doc, &["visibility", "share"])),
        ("permissions", doc["permissions"].to_string()),
        ("created", s(doc, &["dates", "created"])),
        ("geo", geo),
        ("tags", tags.join("|")),
        ("notes", notes.join("|")),
        ("comments", comments.join("|")),
    ])
}

/// Checks that the `kind`s (albums, folders) of archive `second` are those of `first` under their
/// new ids: in the account's order, with the same title and description, holding the same
/// `members` (documents, albums) in the same order. Returns how many there are.
fn same_containers(
    first: &Path,
    second: &Path,
    kind: &str,
    members: &str,
    ids: &BTreeMap<u64, u64>,
    member_ids: &BTreeMap<u64, u64>,
) -> usize {
    let plural = format!("{kind}s");
    let order = |dir: &Path| -> Vec<u64> {
        list(&read_json(&dir.join("account.json")), &[&plural])
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect()
    };
    let before = order(first);
    assert_eq!(
        before.iter().map(|c| ids[c]).collect::<Vec<_>>(),
        order(second),
        "{kind} order"
    );
    for (old, new) in ids {
        let was = read_json(&first.join(format!("{plural}/{old}.json")));
        let is = read_json(&second.join(format!("{plural}/{new}.json")));
        for field in ["title", "description"] {
            assert_eq!(
                s(&was, &[kind, field]),
                s(&is, &[kind, field]),
                "{kind} {old}"
            );
        }
        assert!(!s(&was, &[kind, "description"]).is_empty(), "{kind} {old}");
        let held = |sidecar: &serde_json::Value| -> Vec<u64> {
            list(sidecar, &[members])
                .iter()
                .map(|m| m.as_u64().unwrap())
                .collect()
        };
        let was_members: Vec<u64> = held(&was).iter().map(|m| member_ids[m]).collect();
        assert_eq!(was_members, held(&is), "{kind} {old}");
    }
    before.len()
}

async fn backup(client: &Client, dir: &Path) -> BackupReport {
    let archive = Archive::open(dir.to_str().unwrap()).unwrap();
    client.backup(&archive).jobs(8).run().await.unwrap()
}

/// Documents of the archive at `dir`, by id.
fn sidecars(dir: &Path) -> BTreeMap<u64, serde_json::Value> {
    std::fs::read_dir(dir.join("docs"))
        .unwrap()
        .filter_map(|entry| {
            let name = entry.unwrap().file_name().into_string().unwrap();
            let id = name.strip_suffix(".json")?.parse().ok()?;
            Some((id, read_json(&dir.join("docs").join(&name))))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_account_goes_out_and_comes_back() {
    let source = Emulator::builder().seed(1000).start().await.unwrap();
    // The target knows the same members (ids 2, 3, …), so member tags can be put back.
    let mut target = Emulator::builder().ticket_delay(Duration::from_millis(1));
    for (index, member) in source.seeded_members().iter().enumerate() {
        assert_eq!(member.user_id, index as u64 + 2);
        target = target.member(
            &member.username,
            format!("target-token-{index:04}-0123456789"),
        );
    }
    let target = target.start().await.unwrap();
    let first = temp_dir("first");
    let second = temp_dir("second");

    // What the seed made this second could change again within it, unseen by `last_update_at`:
    // a backup in the same second looks at it again next time. A second later, nothing does.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let calls = counting();
    let source_client = client(&source, Some(Arc::clone(&calls)));
    let report = backup(&source_client, &first).await;
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert!(report.documents >= 800, "{report:?}");
    assert_eq!(report.fetched, report.documents);
    assert_eq!(report.originals, report.documents);
    assert_eq!(calls.downloads.load(Ordering::SeqCst), report.documents);

    // Nothing changed: one list call per 100 documents (and albums), one per folder, three
    // about the account, no download.
    calls.calls.store(0, Ordering::SeqCst);
    calls.downloads.store(0, Ordering::SeqCst);
    let again = backup(&source_client, &first).await;
    assert_eq!(
        (again.fetched, again.unchanged),
        (0, report.documents),
        "{again:?}"
    );
    let expected =
        report.documents.div_ceil(100) + report.albums.div_ceil(100) + 1 + report.folders + 3;
    assert_eq!(calls.calls.load(Ordering::SeqCst), expected, "{again:?}");
    assert_eq!(calls.downloads.load(Ordering::SeqCst), 0);

    let archive = Archive::open(first.to_str().unwrap()).unwrap();
    let verified = archive.verify(8).await.unwrap();
    assert!(verified.problems.is_empty(), "{:?}", verified.problems);
    assert_eq!(verified.documents, report.documents);

    let journal = first.with_extension("journal");
    std::fs::remove_file(&journal).ok();
    let restored = client(&target, None)
        .restore(&archive)
        .journal(&journal)
        .jobs(8)
        .run()
        .await
        .unwrap();
    assert!(restored.failed.is_empty(), "{:?}", restored.failed);
    assert_eq!(restored.uploaded, report.documents);
    for field in &restored.survival.fields {
        assert_eq!(field.carried, field.had, "{}", restored.survival);
        assert!(
            field.had > 0 || field.field == "own comments",
            "the seed has no {}: {}",
            field.field,
            restored.survival
        );
    }
    let lost: BTreeMap<&str, u64> = restored
        .survival
        .lost
        .iter()
        .map(|f| (f.field, f.had))
        .collect();
    for field in ["posted date", "others' comments", "faves", "visits"] {
        assert!(lost[field] > 0, "{}", restored.survival);
    }

    // A second run of the same restore changes nothing.
    let again = client(&target, None)
        .restore(&archive)
        .journal(&journal)
        .run()
        .await
        .unwrap();
    assert_eq!((again.uploaded, again.already), (0, report.documents));
    assert_eq!(again.album_ids, restored.album_ids);

    let back = backup(&client(&target, None), &second).await;
    assert!(back.failed.is_empty());
    assert_eq!(back.documents, report.documents);
    let before = sidecars(&first);
    let after = sidecars(&second);
    for (old, new) in &restored.doc_ids {
        let was = settable(&before[old]);
        let is = settable(&after[new]);
        assert_eq!(was, is, "document {old} restored as {new}");
        // The originals themselves, byte for byte.
        let ext = s(&before[old], &["backup", "ext"]);
        assert_eq!(
            std::fs::read(first.join(format!("docs/{old}.{ext}"))).unwrap(),
            std::fs::read(second.join(format!("docs/{new}.{ext}"))).unwrap()
        );
    }

    // Albums and folders: the same order, the same titles and descriptions, the same members
    // in the same order; albums the same cover and permissions.
    let albums = same_containers(
        &first,
        &second,
        "album",
        "docs",
        &restored.album_ids,
        &restored.doc_ids,
    );
    assert!(albums >= 10);
    for (old, new) in &restored.album_ids {
        let was = read_json(&first.join(format!("albums/{old}.json")));
        let is = read_json(&second.join(format!("albums/{new}.json")));
        assert_eq!(
            was["album"]["permissions"], is["album"]["permissions"],
            "album {old}"
        );
        let cover_was: u64 = s(&was, &["album", "cover", "doc_id"]).parse().unwrap();
        assert_eq!(
            restored.doc_ids[&cover_was].to_string(),
            s(&is, &["album", "cover", "doc_id"])
        );
    }
    let folders = same_containers(
        &first,
        &second,
        "folder",
        "albums",
        &restored.folder_ids,
        &restored.album_ids,
    );
    assert!(folders >= 1);
    // The sidecar carries what the layout promises.
    let rich = before
        .values()
        .find(|d| {
            !list(d, &["comments"]).is_empty()
                && d["exif"].is_object()
                && !list(d, &["albums"]).is_empty()
        })
        .expect("a document with comments, EXIF and an album");
    assert!(
        rich["doc"]["md5"].is_string()
            && rich["doc"]["tags"].is_object()
            && rich["doc"]["notes"].is_object()
    );
    assert!(
        list(rich, &["groups"])
            .iter()
            .all(|g| g["group_id"].is_string())
    );
    std::fs::remove_dir_all(&first).ok();
    std::fs::remove_dir_all(&second).ok();
    std::fs::remove_file(&journal).ok();
}

async fn call(client: &Client, method: &str, params: &[(&str, &str)]) -> ipernity::Value {
    let mut call = client.call(method);
    for (name, value) in params {
        call = call.param(*name, *value);
    }
    call.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_takes_only_what_changed() {
    use ipernity::upload::UploadFile;
    let source = Emulator::builder()
        .seed(60)
        .ticket_delay(Duration::from_millis(1))
        .start()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let me = client(&source, None);
    let dir = temp_dir("incremental");
    let first = backup(&me, &dir).await;
    assert!(first.documents > 20);
    let ids: Vec<u64> = sidecars(&dir).keys().copied().collect();
    let (edited, deleted, replaced) = (ids[0], ids[1], ids[2]);

    // One edit, one deletion, one replaced file, one new document; then a second later (so that
    // the service's second-precise dates tell them apart from the first run).
    call(
        &me,
        "doc.set",
        &[("doc_id", &edited.to_string()), ("title", "renamed")],
    )
    .await;
    call(&me, "doc.delete", &[("doc_id", &deleted.to_string())]).await;
    let picture = ipernity::server::sample_jpeg(32, 24, Some("2020:01:02 03:04:05"), None);
    me.upload(UploadFile::from_bytes("new.jpg", picture.clone()).replacing(replaced))
        .send()
        .await
        .unwrap();
    let mut other = picture.clone();
    other.extend_from_slice(b"another file");
    let added = me
        .upload(UploadFile::from_bytes("added.jpg", other).asynchronous(false))
        .send()
        .await
        .unwrap()
        .doc_id
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let second = backup(&me, &dir).await;
    assert_eq!(second.fetched, 3, "{second:?}");
    assert_eq!(second.originals, 2, "the replaced and the new: {second:?}");
    assert_eq!(second.deleted, vec![deleted]);
    assert_eq!(second.removed, 0);
    let now = sidecars(&dir);
    assert_eq!(s(&now[&edited], &["doc", "title"]), "renamed");
    assert!(now.contains_key(&added));
    assert!(now.contains_key(&deleted), "kept without --mirror");
    let account = read_json(&dir.join("account.json"));
    assert!(
        account["deleted"][deleted.to_string()].is_u64(),
        "{account}"
    );
    assert_eq!(
        std::fs::read(dir.join(format!("docs/{replaced}.jpg"))).unwrap(),
        picture,
        "the replaced original is the new file"
    );

    // The index is a cache: without it the sidecars are read and nothing is fetched; a
    // damaged one is a loud error, never a fresh start.
    std::fs::remove_file(dir.join("index.json")).unwrap();
    let rebuilt = backup(&me, &dir).await;
    assert_eq!(rebuilt.fetched, 0, "{rebuilt:?}");
    std::fs::write(dir.join("index.json"), b"{\"version\": 1, \"docs\": [").unwrap();
    let archive = Archive::open(dir.to_str().unwrap()).unwrap();
    let refused = me.backup(&archive).run().await.unwrap_err();
    assert!(
        refused.to_string().contains("index.json is corrupt"),
        "{refused}"
    );
    std::fs::remove_file(dir.join("index.json")).unwrap();
    let account = std::fs::read(dir.join("account.json")).unwrap();
    std::fs::write(dir.join("account.json"), &account[..account.len() / 2]).unwrap();
    let refused = me.backup(&archive).run().await.unwrap_err();
    assert!(
        refused.to_string().contains("account.json is corrupt"),
        "{refused}"
    );
    std::fs::write(dir.join("account.json"), &account).unwrap();

    // A sidecar that does not parse is fetched again; so is a lost original.
    std::fs::write(dir.join(format!("docs/{edited}.json")), b"{\"doc\":").unwrap();
    std::fs::remove_file(dir.join(format!("docs/{added}.jpg"))).unwrap();
    let repaired = backup(&me, &dir).await;
    assert_eq!(
        (repaired.fetched, repaired.originals),
        (2, 1),
        "{repaired:?}"
    );

    // Damage found by verify: a flipped byte, a missing original.
    let victim = ids[3];
    let path = dir.join(format!("docs/{victim}.jpg"));
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&path, bytes).unwrap();
    std::fs::remove_file(dir.join(format!("docs/{}.jpg", ids[4]))).unwrap();
    let checked = archive.verify(4).await.unwrap();
    let problems: Vec<String> = checked.problems.iter().map(ToString::to_string).collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0].starts_with(&format!("corrupt docs/{victim}.jpg"))
            || problems[1].starts_with(&format!("corrupt docs/{victim}.jpg")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with(&format!("missing docs/{}.jpg", ids[4]))),
        "{problems:?}"
    );
    // The CLI says the same and exits 1.
    let out = crate::support::ipernity_command()
        .args(["backup", "--verify", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("corrupt docs/{victim}.jpg")));

    // A backup re-fetches the missing original; the corrupt one (the list's md5 did not
    // change, and a run does not re-read every original) is repaired the way the README says:
    // remove what verify names, run backup again.
    let again = backup(&me, &dir).await;
    assert_eq!(again.originals, 1, "the missing original: {again:?}");
    std::fs::remove_file(&path).unwrap();
    let repaired = backup(&me, &dir).await;
    assert_eq!(repaired.originals, 1, "the corrupt original: {repaired:?}");
    assert!(archive.verify(4).await.unwrap().problems.is_empty());

    // --mirror removes what the service deleted.
    let mirrored = me.backup(&archive).mirror(true).run().await.unwrap();
    assert_eq!(mirrored.removed, 1);
    assert!(!dir.join(format!("docs/{deleted}.json")).exists());
    assert!(!dir.join(format!("docs/{deleted}.jpg")).exists());
    std::fs::remove_dir_all(&dir).ok();
}

/// `ipernity ARGS` against `endpoint` with the credentials `serve` printed.
fn command(endpoint: &str, credentials: &[String; 3], args: &[&str]) -> std::process::Command {
    let mut command = crate::support::ipernity_command();
    command
        .args(args)
        .env("IPERNITY_ENDPOINT", endpoint)
        .env("IPERNITY_API_KEY", &credentials[0])
        .env("IPERNITY_SECRET", &credentials[1])
        .env("IPERNITY_TOKEN", &credentials[2]);
    command
}

/// Runs `command` and kills it (SIGKILL) once `marker` began `lines` of its standard error.
fn killed_after(mut command: std::process::Command, marker: &str, lines: usize) {
    use std::io::BufRead;
    let mut child = command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut seen = 0;
    let mut all = Vec::new();
    for line in stderr.lines() {
        let line = line.unwrap();
        if line.starts_with(marker) {
            seen += 1;
        }
        all.push(line);
        if seen >= lines {
            break;
        }
    }
    assert!(seen >= lines, "the run ended before it was killed: {all:?}");
    child.kill().unwrap();
    child.wait().unwrap();
}

/// The numbers of the backup's summary line, by the word after each.
fn summary(stdout: &[u8]) -> BTreeMap<String, u64> {
    let text = String::from_utf8_lossy(stdout);
    let line = text
        .lines()
        .last()
        .unwrap_or_default()
        .replace(['(', ')', ',', ';'], " ");
    let words: Vec<&str> = line.split_whitespace().collect();
    words
        .windows(2)
        .filter_map(|w| Some((w[1].to_owned(), w[0].parse().ok()?)))
        .collect()
}

/// A document's md5 on the service, by id.
async fn service_md5s(endpoint: &str, credentials: &[String; 3]) -> BTreeMap<u64, String> {
    use futures_util::TryStreamExt;
    let client = Client::builder()
        .endpoint(endpoint)
        .credentials(credentials[0].clone(), credentials[1].clone())
        .token(credentials[2].clone())
        .build()
        .unwrap();
    let items: Vec<ipernity::Value> = client
        .call("doc.getList")
        .param("user_id", 1)
        .param("extra", "md5")
        .items()
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    items
        .iter()
        .map(|d| {
            (
                d.get("doc_id").unwrap().as_u64().unwrap(),
                d.get("md5").unwrap().to_text().unwrap().into_owned(),
            )
        })
        .collect()
}

/// Kills a backup into `dest` midway, checks that nothing incomplete is under a final name
/// (`stored` lists the originals and sidecars there), resumes it, and checks that it fetched
/// only what was missing and that the archive verifies.
async fn kill_and_resume(
    dest: &str,
    env: &[(&str, String)],
    stored: impl AsyncFn() -> (BTreeMap<u64, Vec<u8>>, usize),
) {
    let (mut server, endpoint, credentials) =
        crate::support::start_server(&["--seed", "200", "--latency", "5"]);
    let with_env = |args: &[&str]| {
        let mut command = command(&endpoint, &credentials, args);
        for (name, value) in env {
            command.env(name, value);
        }
        command
    };
    killed_after(with_env(&["backup", dest, "--jobs", "3"]), "saved ", 40);
    let md5s = service_md5s(&endpoint, &credentials).await;
    let (originals, sidecars) = stored().await;
    assert!(
        originals.len() >= 40 && originals.len() < md5s.len(),
        "{} originals",
        originals.len()
    );
    for (id, bytes) in &originals {
        use md5::Digest;
        let digest: String = md5::Md5::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            &digest, &md5s[id],
            "document {id} is under its final name incomplete"
        );
    }
    let resumed = with_env(&["backup", dest, "--jobs", "3"]).output().unwrap();
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    let numbers = summary(&resumed.stdout);
    assert_eq!(numbers["documents:"], md5s.len() as u64);
    assert_eq!(
        numbers["originals"],
        (md5s.len() - originals.len()) as u64,
        "{numbers:?}"
    );
    assert_eq!(
        numbers["recovered"],
        (originals.len() - sidecars) as u64,
        "{numbers:?}"
    );
    assert_eq!(numbers["unchanged"], sidecars as u64, "{numbers:?}");
    let verified = with_env(&["backup", "--verify", dest]).output().unwrap();
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stdout)
    );
    server.kill().ok();
    server.wait().ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_killed_midway_into_a_directory_goes_on() {
    let dir = temp_dir("killed");
    let docs = dir.join("docs");
    kill_and_resume(dir.to_str().unwrap(), &[], async || {
        let mut originals = BTreeMap::new();
        let mut sidecars = 0;
        for entry in std::fs::read_dir(&docs).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if let Some(id) = name.strip_suffix(".jpg") {
                originals.insert(
                    id.parse().unwrap(),
                    std::fs::read(docs.join(&name)).unwrap(),
                );
            } else if name.ends_with(".json") {
                sidecars += 1;
            }
        }
        (originals, sidecars)
    })
    .await;
    // The staging files of the killed run are gone.
    let staged = std::fs::read_dir(&docs)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains('#')
        })
        .count();
    assert_eq!(staged, 0);
    std::fs::remove_dir_all(&dir).ok();
}

/// A real S3-compatible server, moto's (`moto_server`, installed by `scripts/test.sh` from
/// PyPI), on a free port, with a bucket `archive`.
async fn moto() -> (std::process::Child, String) {
    let addr = crate::support::free_addr();
    let (host, port) = addr.split_once(':').unwrap();
    let mut child = std::process::Command::new("moto_server")
        .args(["-H", host, "-p", port])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("moto_server, the S3-compatible server of the tests (scripts/test.sh installs it: pip install 'moto[s3,server]')");
    let endpoint = format!("http://{addr}");
    let http = reqwest::Client::new();
    let mut made = None;
    for _ in 0..100 {
        if let Ok(answer) = http.put(format!("{endpoint}/archive")).send().await {
            made = Some(answer.status());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if made.is_none_or(|status| !status.is_success()) {
        child.kill().ok();
        child.wait().ok();
        panic!("moto_server on {addr} did not make the bucket: {made:?}");
    }
    (child, endpoint)
}

/// The bucket `archive` of the moto server at `endpoint`, as the test reads it.
fn bucket(endpoint: &str) -> Arc<dyn object_store::ObjectStore> {
    Arc::new(
        object_store::aws::AmazonS3Builder::new()
            .with_endpoint(endpoint)
            .with_allow_http(true)
            .with_bucket_name("archive")
            .with_access_key_id("test-key")
            .with_secret_access_key("test-secret")
            .with_region("us-east-1")
            .build()
            .unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_killed_midway_into_an_s3_bucket_goes_on() {
    let (mut moto, endpoint) = moto().await;
    let env = [
        ("AWS_ENDPOINT", endpoint.clone()),
        ("AWS_ALLOW_HTTP", "true".to_owned()),
        ("AWS_ACCESS_KEY_ID", "test-key".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test-secret".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
    ];
    // What the bucket lists: only complete objects, by S3's own rules.
    let bucket: Arc<dyn object_store::ObjectStore> = bucket(&endpoint);
    kill_and_resume("s3://archive/alice", &env, async || {
        use futures_util::TryStreamExt;
        use object_store::ObjectStoreExt;
        let prefix = object_store::path::Path::from("alice/docs");
        let listed: Vec<object_store::ObjectMeta> =
            bucket.list(Some(&prefix)).try_collect().await.unwrap();
        let mut originals = BTreeMap::new();
        let mut sidecars = 0;
        for meta in listed {
            let name = meta.location.filename().unwrap().to_owned();
            if let Some(id) = name.strip_suffix(".jpg") {
                let bytes = bucket
                    .get(&meta.location)
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap();
                originals.insert(id.parse().unwrap(), bytes.to_vec());
            } else if name.ends_with(".json") {
                sidecars += 1;
            }
        }
        (originals, sidecars)
    })
    .await;
    moto.kill().ok();
    moto.wait().ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_original_goes_to_s3_in_parts() {
    use ipernity::upload::UploadFile;
    let (mut moto, endpoint) = moto().await;
    let bucket: Arc<dyn object_store::ObjectStore> = bucket(&endpoint);
    let source = Emulator::builder()
        .ticket_delay(Duration::from_millis(1))
        .start()
        .await
        .unwrap();
    let me = client(&source, None);
    // 20 MiB in three parts of 8 MiB; bytes that differ along the way.
    let large: Vec<u8> = (0..20 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let doc_id = me
        .upload(UploadFile::from_bytes("large.bin", large.clone()).asynchronous(false))
        .send()
        .await
        .unwrap()
        .doc_id
        .unwrap();
    let archive = Archive::in_store(Arc::clone(&bucket), "large").unwrap();
    let report = me.backup(&archive).run().await.unwrap();
    assert_eq!(
        (report.originals, report.bytes),
        (1, large.len() as u64),
        "{report:?}"
    );
    use object_store::ObjectStoreExt;
    let stored = bucket
        .get(&object_store::path::Path::from(format!(
            "large/docs/{doc_id}.bin"
        )))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(
        stored == large,
        "the original in the bucket is the uploaded file"
    );
    let verified = archive.verify(2).await.unwrap();
    assert!(verified.problems.is_empty(), "{:?}", verified.problems);
    // And back from the bucket into another account, streamed from the store into the upload.
    let target = Emulator::builder()
        .ticket_delay(Duration::from_millis(1))
        .start()
        .await
        .unwrap();
    let journal = temp_dir("s3-restore").join("restore.journal");
    let restored = client(&target, None)
        .restore(&archive)
        .journal(&journal)
        .run()
        .await
        .unwrap();
    assert!(restored.failed.is_empty(), "{:?}", restored.failed);
    let new_id = restored.doc_ids[&doc_id];
    let back = call(
        &client(&target, None),
        "doc.get",
        &[("doc_id", &new_id.to_string()), ("extra", "md5")],
    )
    .await;
    use md5::Digest;
    let digest: String = md5::Md5::digest(&large)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        back.get("doc")
            .unwrap()
            .get("md5")
            .unwrap()
            .to_text()
            .unwrap(),
        digest
    );
    std::fs::remove_dir_all(journal.parent().unwrap()).ok();
    moto.kill().ok();
    moto.wait().ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_killed_midway_goes_on_without_doubles() {
    let dir = temp_dir("restore-killed");
    let source = Emulator::builder().seed(120).start().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let report = backup(&client(&source, None), &dir).await;
    let (mut server, endpoint, credentials) =
        crate::support::start_server(&["--ticket-delay", "5", "--latency", "5"]);
    let journal = dir.with_extension("journal");
    let restore = |journal: &Path| {
        command(
            &endpoint,
            &credentials,
            &[
                "restore",
                dir.to_str().unwrap(),
                "--jobs",
                "3",
                "--journal",
                journal.to_str().unwrap(),
            ],
        )
    };
    killed_after(restore(&journal), "restored ", 25);
    let finished = restore(&journal).output().unwrap();
    let stdout = String::from_utf8_lossy(&finished.stdout);
    // Member tags name members the target does not have: those documents report a failure
    // to tag, nothing else.
    assert!(
        finished.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&finished.stderr)
    );
    let numbers = summary(stdout.lines().next().unwrap().as_bytes());
    assert_eq!(numbers["documents:"], report.documents);
    assert!(numbers["already"] >= 25, "{stdout}");
    let target_md5s = service_md5s(&endpoint, &credentials).await;
    assert_eq!(
        target_md5s.len() as u64,
        report.documents,
        "no document uploaded twice"
    );
    let distinct: std::collections::BTreeSet<&String> = target_md5s.values().collect();
    assert_eq!(distinct.len(), target_md5s.len());
    let albums = command(
        &endpoint,
        &credentials,
        &["call", "album.getList", "empty=1"],
    )
    .output()
    .unwrap();
    let albums: serde_json::Value = serde_json::from_slice(&albums.stdout).unwrap();
    assert_eq!(
        s(&albums, &["albums", "total"]),
        report.albums.to_string(),
        "no album made twice"
    );
    server.kill().ok();
    server.wait().ok();
    std::fs::remove_dir_all(&dir).ok();
    std::fs::remove_file(&journal).ok();
}

#[tokio::test]
async fn two_runs_never_write_one_directory_at_once() {
    let source = Emulator::builder().seed(20).start().await.unwrap();
    let dir = temp_dir("locked");
    let archive = Archive::open(dir.to_str().unwrap()).unwrap();
    let me = client(&source, None);
    me.backup(&archive).run().await.unwrap();
    // Another process's run holds the lock: this one is refused before it writes anything.
    let held = std::fs::File::open(dir.join(".ipernity.lock")).unwrap();
    held.try_lock().unwrap();
    let error = me.backup(&archive).run().await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("another run is writing this archive"),
        "{error}"
    );
    drop(held);
    me.backup(&archive).run().await.unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_skips_what_the_archive_lost_and_a_backup_slows_down_on_quotas() {
    // The service answers 113 beyond 40 calls a second: the backup slows down and completes.
    let source = Emulator::builder()
        .seed(40)
        .rate_limits(Some(40), None)
        .start()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let dir = temp_dir("lost");
    let report = backup(&client(&source, None), &dir).await;
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert!(report.documents > 30);
    // An album deleted on the service after a backup: the next backup (no --mirror) keeps its
    // file but not its place in the account; a restore does not bring it back.
    let account = read_json(&dir.join("account.json"));
    let gone = list(&account, &["albums"])[0].as_u64().unwrap();
    call(
        &client(&source, None),
        "album.delete",
        &[("album_id", &gone.to_string())],
    )
    .await;
    let again = backup(&client(&source, None), &dir).await;
    assert!(again.failed.is_empty(), "{:?}", again.failed);
    assert!(dir.join(format!("albums/{gone}.json")).exists());
    let lost = *sidecars(&dir).keys().next().unwrap();
    std::fs::remove_file(dir.join(format!("docs/{lost}.jpg"))).unwrap();
    let target = Emulator::builder()
        .ticket_delay(Duration::from_millis(1))
        .start()
        .await
        .unwrap();
    let journal = dir.with_extension("journal");
    let archive = Archive::open(dir.to_str().unwrap()).unwrap();
    let restored = client(&target, None)
        .restore(&archive)
        .journal(&journal)
        .run()
        .await
        .unwrap();
    assert_eq!(restored.failed.len(), 1, "{:?}", restored.failed);
    assert_eq!(restored.failed[0].0, lost);
    assert!(
        restored.failed[0].1.contains("missing from the archive"),
        "{:?}",
        restored.failed
    );
    assert_eq!(restored.uploaded, report.documents - 1);
    assert!(!restored.album_ids.contains_key(&gone));
    assert_eq!(restored.album_ids.len() as u64, report.albums - 1);
    std::fs::remove_dir_all(&dir).ok();
    std::fs::remove_file(&journal).ok();
}
