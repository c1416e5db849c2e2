//! `ipernity login` and `whoami`: the link, the private token store, the kept token used by later
//! commands, and an unattended login on the embedded emulator.

use super::text;
use crate::support as common;
use common::start_server;
use std::io::Write;
use std::process::Stdio;

/// Runs `ipernity ARGS` with `token_dir` as its token store, answering its authorization step
/// like a user: the link it prints is opened (the emulator approves it), then Enter is pressed.
fn login_like_a_user(args: &[&str], token_dir: &std::path::Path) -> (String, String, Option<i32>) {
    use std::io::BufRead;
    let mut child = common::ipernity_command()
        .args(args)
        .env("IPERNITY_TOKEN_DIR", token_dir)
        .env_remove("BROWSER")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut url = String::new();
    stdout.read_line(&mut url).unwrap();
    let url = url.trim().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    // The command waits for Enter: nothing is fetched before the user confirms.
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "login did not wait for the user"
    );
    let page = http_get(&url);
    assert!(page.contains("authorized"), "{page}");
    child.stdin.take().unwrap().write_all(b"\n").unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        format!("{url}\n{rest}"),
        text(&out.stderr),
        out.status.code(),
    )
}

/// A plain HTTP/1.1 GET on loopback, returning the body.
fn http_get(url: &str) -> String {
    use std::io::Read;
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn login_keeps_a_private_token_that_later_commands_use() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("ipernity-cli-login-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let tokens = dir.join("tokens");
    let (mut server, endpoint, [api_key, secret, _]) = start_server(&[]);
    let target = [
        "--endpoint",
        endpoint.as_str(),
        "--api-key",
        api_key.as_str(),
        "--secret",
        secret.as_str(),
    ];

    // The frob flow, then OAuth, each kept under its own account.
    let (stdout, stderr, status) = login_like_a_user(
        &[
            &[
                "login",
                "--perms",
                "doc=write,network=read",
                "--save-as",
                "frob",
            ][..],
            &target,
        ]
        .concat(),
        &tokens,
    );
    assert_eq!(status, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("logged in as emulated") && stdout.contains("doc=write,network=read"),
        "{stdout}"
    );
    assert!(stderr.contains("press Enter"), "{stderr}");
    let (stdout, stderr, status) = login_like_a_user(
        &[
            &[
                "login",
                "--oauth",
                "--perms",
                "doc=read",
                "--save-as",
                "oauth",
            ][..],
            &target,
        ]
        .concat(),
        &tokens,
    );
    assert_eq!(status, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("/apps/oauth/authorize?oauth_token="),
        "{stdout}"
    );

    let key_dir = tokens.join(&api_key);
    for account in ["frob", "oauth"] {
        let file = key_dir.join(format!("{account}.json"));
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", file.display());
    }

    // Later commands use the kept token: the account chosen, or refused when it is not kept.
    let whoami = |extra: &[&str]| {
        let out = common::ipernity_command()
            .args([&["whoami"][..], &target, extra].concat())
            .env("IPERNITY_TOKEN_DIR", &tokens)
            .env_remove("IPERNITY_TOKEN")
            .env_remove("IPERNITY_ACCOUNT")
            .output()
            .unwrap();
        (text(&out.stdout), text(&out.stderr), out.status.code())
    };
    let (stdout, _, status) = whoami(&["--account", "frob"]);
    assert_eq!(status, Some(0));
    assert!(
        stdout.contains("permissions: doc=write,network=read"),
        "{stdout}"
    );
    assert!(stdout.contains("account: frob"), "{stdout}");
    let (stdout, _, status) = whoami(&["--account", "oauth"]);
    assert_eq!(status, Some(0));
    assert!(
        stdout.contains("permissions: doc=read") && stdout.contains("(OAuth)"),
        "{stdout}"
    );
    let (_, stderr, status) = whoami(&["--account", "nobody"]);
    assert_eq!(status, Some(1));
    assert!(stderr.contains("run `ipernity login`"), "{stderr}");
    // Two accounts and none chosen: said so, and the call goes without a token (106).
    let (_, stderr, status) = whoami(&[]);
    assert_eq!(status, Some(1));
    assert!(
        stderr.contains("several accounts (frob, oauth)"),
        "{stderr}"
    );

    // The kept token's permissions are checked before anything is sent.
    let out = common::ipernity_command()
        .args(
            [
                &["call", "doc.delete", "doc_id=1", "--account", "oauth"][..],
                &target,
            ]
            .concat(),
        )
        .env("IPERNITY_TOKEN_DIR", &tokens)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("needs the doc:delete permission"),
        "{}",
        text(&out.stderr)
    );

    // No secret of the kept tokens shows in anything the commands printed.
    let kept: Vec<serde_json::Value> = ["frob", "oauth"]
        .iter()
        .map(|a| {
            serde_json::from_slice(&std::fs::read(key_dir.join(format!("{a}.json"))).unwrap())
                .unwrap()
        })
        .collect();
    let (stdout, stderr, _) = whoami(&["--account", "oauth"]);
    for record in &kept {
        for field in ["token", "oauth_secret"] {
            if let Some(secret) = record[field].as_str() {
                assert!(
                    !stdout.contains(secret) && !stderr.contains(secret),
                    "{field} leaked"
                );
            }
        }
    }
    server.kill().unwrap();
    server.wait().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn login_runs_unattended_on_the_embedded_emulator() {
    let tokens = std::env::temp_dir().join(format!(
        "ipernity-cli-login-embedded-{}",
        std::process::id()
    ));
    std::fs::remove_dir_all(&tokens).ok();
    for extra in [&[][..], &["--oauth"][..]] {
        let out = common::ipernity_command()
            .args([&["login", "--perms", "doc=delete,profile=read"][..], extra].concat())
            .env("IPERNITY_TOKEN_DIR", &tokens)
            .env_remove("IPERNITY_ENDPOINT")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(stdout.contains("with doc=delete,profile=read"), "{stdout}");
        assert!(text(&out.stderr).contains("authorizing without a browser"));
    }
    let kept = tokens
        .join("ipernity-embedded-emulator")
        .join("emulated.json");
    assert!(kept.exists(), "{}", kept.display());
    std::fs::remove_dir_all(&tokens).unwrap();
}
