//! The bulk uploader never silently uploads twice or skips: a damaged journal is an error, a
//! journal in use is refused, names that are not UTF-8 keep their own entries, link loops,
//! empty files and FIFOs are named and skipped (the run ends non-zero), names cannot forge
//! output lines; and the token store refuses damaged files, directories others can write to,
//! and keeps any account name.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::support as common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ipernity-uploader-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the CLI with a private token directory (no kept token unless a test keeps one).
fn ipernity(args: &[&std::ffi::OsStr], tokens: &Path) -> Output {
    let child = common::ipernity_command()
        .args(args)
        .env_remove("IPERNITY_SECRET")
        .env_remove("IPERNITY_TOKEN")
        .env_remove("IPERNITY_API_KEY")
        .env_remove("IPERNITY_ENDPOINT")
        .env("IPERNITY_TOKEN_DIR", tokens)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()).ok());
    // A run that hangs (a link loop walked forever) fails the test instead of hanging it.
    rx.recv_timeout(std::time::Duration::from_secs(60))
        .expect("the command finished within a minute")
        .unwrap()
}

fn os(text: &str) -> &std::ffi::OsStr {
    std::ffi::OsStr::new(text)
}

struct Server {
    child: std::process::Child,
    args: Vec<String>,
    data: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

fn server(dir: &Path) -> Server {
    let data = dir.join("emulator-data");
    let (child, endpoint, [api_key, secret, token]) =
        common::start_server(&["--data", data.to_str().unwrap()]);
    Server {
        child,
        args: vec![
            "--endpoint".into(),
            endpoint,
            "--api-key".into(),
            api_key,
            "--secret".into(),
            secret,
            "--token".into(),
            token,
        ],
        data,
    }
}

fn upload(server: &Server, tokens: &Path, paths: &[&std::ffi::OsStr], extra: &[&str]) -> Output {
    let mut args: Vec<&std::ffi::OsStr> = vec![os("upload")];
    args.extend_from_slice(paths);
    args.extend(extra.iter().map(|a| os(a)));
    args.extend(server.args.iter().map(|a| os(a)));
    ipernity(&args, tokens)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// How many documents the emulator stored.
fn stored(server: &Server) -> usize {
    std::fs::read_dir(&server.data)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("doc-"))
        .count()
}

#[test]
fn a_damaged_journal_is_an_error_and_nothing_is_uploaded_again() {
    let dir = scratch("journal");
    let server = server(&dir);
    let tokens = dir.join("tokens");
    let photos = dir.join("photos");
    std::fs::create_dir_all(&photos).unwrap();
    for i in 0..5 {
        std::fs::write(photos.join(format!("{i}.jpg")), format!("photo {i}")).unwrap();
    }
    let journal = dir.join("run.jsonl");
    let journal_arg = journal.to_str().unwrap();
    let out = upload(
        &server,
        &tokens,
        &[photos.as_os_str()],
        &["--journal", journal_arg],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(stored(&server), 5);

    // One byte that is not UTF-8 in the middle: an error naming the line, nothing sent.
    let good = std::fs::read(&journal).unwrap();
    let mut damaged = good.clone();
    let second_line = good.iter().position(|&b| b == b'\n').unwrap() + 3;
    damaged[second_line] = 0xff;
    std::fs::write(&journal, &damaged).unwrap();
    let out = upload(
        &server,
        &tokens,
        &[photos.as_os_str()],
        &["--journal", journal_arg],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("line 2 cannot be read"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(stored(&server), 5, "files were uploaded again");

    // A last line cut short by a kill is dropped, the rest kept: nothing is sent again.
    let mut cut = good.clone();
    cut.extend_from_slice(b"{\"path\":\"/half");
    std::fs::write(&journal, &cut).unwrap();
    let out = upload(
        &server,
        &tokens,
        &[photos.as_os_str()],
        &["--journal", journal_arg],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), 5);
    assert_eq!(stored(&server), 5, "files were uploaded again");
    assert!(std::fs::read(&journal).unwrap().ends_with(b"\n"));

    // A journal in use by another run is refused.
    let held = std::fs::OpenOptions::new()
        .append(true)
        .open(&journal)
        .unwrap();
    held.lock().unwrap();
    let out = upload(
        &server,
        &tokens,
        &[photos.as_os_str()],
        &["--journal", journal_arg],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("in use by another run"),
        "{}",
        text(&out.stderr)
    );
    drop(held);
    assert_eq!(stored(&server), 5);
    std::fs::remove_dir_all(&dir).ok();
}

#[cfg(unix)]
#[test]
fn names_that_are_not_utf8_keep_their_own_journal_entries_and_cannot_forge_lines() {
    use std::os::unix::ffi::OsStrExt;
    let dir = scratch("names");
    let server = server(&dir);
    let tokens = dir.join("tokens");
    let photos = dir.join("photos");
    std::fs::create_dir_all(&photos).unwrap();
    let one = photos.join(std::ffi::OsStr::from_bytes(b"p\xff.jpg"));
    let two = photos.join(std::ffi::OsStr::from_bytes(b"p\xfe.jpg"));
    let forged = photos.join("x.jpg doc_id=1\nforged.jpg doc_id=2");
    std::fs::write(&one, b"first").unwrap();
    std::fs::write(&two, b"second").unwrap();
    std::fs::write(&forged, b"third").unwrap();
    let journal = dir.join("run.jsonl");
    let out = upload(
        &server,
        &tokens,
        &[photos.as_os_str()],
        &["--journal", journal.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let first = text(&out.stdout);
    let lines: Vec<&str> = first.lines().collect();
    assert_eq!(lines.len(), 3, "{first}");
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with(photos.to_str().unwrap())),
        "{first}"
    );
    assert!(
        first.contains("p\\xff.jpg doc_id=") && first.contains("p\\xfe.jpg doc_id="),
        "{first}"
    );
    assert!(
        first.contains("x.jpg doc_id=1\\nforged.jpg doc_id=2 doc_id="),
        "{first}"
    );
    assert_eq!(stored(&server), 3);
    // Again: every file reported with its own document, none sent.
    let out = upload(
        &server,
        &tokens,
        &[photos.as_os_str()],
        &["--journal", journal.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut again: Vec<String> = text(&out.stdout).lines().map(str::to_owned).collect();
    let mut before: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    again.sort();
    before.sort();
    assert_eq!(again, before);
    assert_eq!(stored(&server), 3);
    std::fs::remove_dir_all(&dir).ok();
}

#[cfg(unix)]
#[test]
fn link_loops_empty_files_and_fifos_are_named_and_skipped() {
    let dir = scratch("walk");
    let server = server(&dir);
    let tokens = dir.join("tokens");
    let photos = dir.join("photos");
    std::fs::create_dir_all(photos.join("sub")).unwrap();
    std::fs::write(photos.join("a.jpg"), b"a photo").unwrap();
    std::fs::write(photos.join("sub/b.jpg"), b"b photo").unwrap();
    std::os::unix::fs::symlink(".", photos.join("s1")).unwrap();
    std::os::unix::fs::symlink(".", photos.join("s2")).unwrap();
    std::os::unix::fs::symlink("..", photos.join("sub/up")).unwrap();
    std::fs::write(photos.join("empty.jpg"), b"").unwrap();
    let fifo = photos.join("pipe.jpg");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let out = upload(&server, &tokens, &[photos.as_os_str()], &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert_eq!(stored(&server), 2, "each file once");
    assert!(
        stderr.contains("empty.jpg: skipped, an empty file"),
        "{stderr}"
    );
    assert!(
        stderr.contains("pipe.jpg: skipped, not a regular file"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[cfg(unix)]
#[test]
fn the_token_store_refuses_damaged_files_and_open_directories_and_keeps_any_name() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("tokens");
    let tokens = dir.join("tokens");
    // A long account name: kept (the login runs unattended on the embedded emulator).
    let long = "a".repeat(300);
    let out = ipernity(&[os("login"), os("--save-as"), os(&long)], &tokens);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let key_dir = std::fs::read_dir(&tokens)
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    assert_eq!(std::fs::read_dir(&key_dir).unwrap().count(), 1);
    // Two kept accounts for a served emulator, one file damaged: an error naming it, never a
    // command run as the other account.
    let served = server(&dir);
    let api_key = served.args[3].clone();
    let store = ipernity::tokens::FileTokenStore::new(&tokens);
    for account in ["first", "second"] {
        let token = ipernity::auth::Token {
            token: ipernity::Secret::new(served.args[7].clone()),
            permissions: "doc=write".parse().unwrap(),
            user: ipernity::auth::User {
                user_id: 1,
                username: account.into(),
                realname: String::new(),
            },
        };
        let stored = ipernity::tokens::StoredToken {
            account: account.into(),
            token,
            oauth_secret: None,
        };
        ipernity::tokens::TokenStore::save(&store, &api_key, &stored).unwrap();
    }
    let endpoint_only: Vec<&std::ffi::OsStr> = served.args[..6].iter().map(|a| os(a)).collect();
    let whoami = [&[os("whoami")][..], &endpoint_only].concat();
    let out = ipernity(&whoami, &tokens);
    assert_eq!(
        out.status.code(),
        Some(1),
        "two accounts: {}",
        text(&out.stdout)
    );
    let first_file = store.path_of(&api_key, "first");
    std::fs::write(&first_file, b"{ not json").unwrap();
    let out = ipernity(&whoami, &tokens);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("a damaged token file"),
        "{}",
        text(&out.stderr)
    );
    std::fs::remove_file(&first_file).unwrap();
    let out = ipernity(&whoami, &tokens);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // A token directory others may write to is refused, before any login.
    std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o777)).unwrap();
    for command in [
        whoami.as_slice(),
        &[os("login"), os("--save-as"), os("third")][..],
    ] {
        let out = ipernity(command, &tokens);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{command:?}: {}",
            text(&out.stdout)
        );
        assert!(
            text(&out.stderr).contains("writable by others"),
            "{command:?}: {}",
            text(&out.stderr)
        );
    }
    assert!(
        !std::fs::read_dir(&key_dir)
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().contains("third"))
    );
    std::fs::remove_dir_all(&dir).ok();
}
