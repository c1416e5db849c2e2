//! `ipernity login` (the desktop frob flow, or OAuth with `--oauth`) and `ipernity whoami`.
//!
//! Login prints the link to open (and opens a browser when one is available), waits for the
//! user to press Enter, fetches the token and keeps it in the token store, where later commands
//! find it. Against the embedded emulator nobody needs to open anything: the link is followed
//! by the command itself.

use crate::error::CliError;
use std::process::ExitCode;

use ipernity::auth::{Permissions, Token};
use ipernity::oauth::OAuthToken;
use ipernity::tokens::{FileTokenStore, StoredToken, TokenStore};
use ipernity::{Client, Secret};

use super::connection::Connection;

/// The arguments of `ipernity login`.
#[derive(Debug, clap::Args)]
pub(crate) struct LoginArgs {
    /// The permissions to ask for, as TARGET=LEVEL,… (targets doc, blog, post, network, profile;
    /// levels read, write, delete).
    #[arg(long, default_value = "doc=write")]
    perms: Permissions,
    /// Use OAuth 1.0a instead of the frob flow.
    #[arg(long)]
    oauth: bool,
    /// The name to keep the token under (default: the user name).
    #[arg(long)]
    save_as: Option<String>,
    /// Print the link only; do not try to open a browser.
    #[arg(long)]
    no_browser: bool,
}

/// Runs the flow and keeps the token.
pub(crate) async fn login(args: &LoginArgs, connection: &Connection) -> Result<ExitCode, CliError> {
    let client = connection.app_builder().build()?;
    let api_key = connection.credentials.api_key.clone();
    // Where the token will be kept is checked before one is asked for: a token issued and then
    // not kept would be lost.
    let store = FileTokenStore::at_default_location()?;
    store.check(&api_key)?;
    let (token, oauth_secret) = if args.oauth {
        let flow = client.oauth();
        let request = flow.request_token(None).await?;
        authorize(&flow.authorize_url(&request, &args.perms), args, connection).await?;
        let access = flow.access_token(&request).await?;
        let token = whoami_with_oauth(connection, &access).await?;
        (token, Some(access.secret))
    } else {
        let auth = client.auth();
        let frob = auth.get_frob().await?;
        authorize(
            &auth.desktop_authorize_url(&frob, &args.perms),
            args,
            connection,
        )
        .await?;
        (auth.get_token(&frob).await?, None)
    };
    let stored = StoredToken {
        account: args
            .save_as
            .clone()
            .unwrap_or_else(|| token.user.username.clone()),
        token,
        oauth_secret,
    };
    store.save(&api_key, &stored)?;
    println!(
        "logged in as {} (user {}) with {}",
        stored.token.user.username, stored.token.user.user_id, stored.token.permissions
    );
    println!(
        "token kept as account {:?} in {}",
        stored.account,
        store.path_of(&api_key, &stored.account).display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Has the user open `url`: followed at once on the embedded emulator; otherwise printed (and
/// opened in a browser when one is available), then confirmed with Enter.
async fn authorize(url: &str, args: &LoginArgs, connection: &Connection) -> Result<(), CliError> {
    println!("{url}");
    if connection.embedded.is_some() {
        eprintln!("embedded emulator: authorizing without a browser");
        let response = reqwest::get(url)
            .await
            .map_err(|e| e.without_url().to_string())?;
        let status = response.status();
        if !status.is_success() {
            let page = response.text().await.unwrap_or_default();
            return Err(format!("the authorization page answered {status}: {page}").into());
        }
        return Ok(());
    }
    if !args.no_browser && open_browser(url) {
        eprintln!("opened in your browser; authorize the application there");
    } else {
        eprintln!("open this link in a browser and authorize the application");
    }
    eprintln!("then press Enter here");
    tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|_| ())
    })
    .await
    .unwrap_or_else(|joined| Err(std::io::Error::other(joined.to_string())))
    .map_err(CliError::io("reading standard input"))
}

/// Starts a browser on `url` when the session has one: `$BROWSER`, `open` on macOS, or
/// `xdg-open` under a graphical session.
fn open_browser(url: &str) -> bool {
    let command = std::env::var("BROWSER")
        .ok()
        .filter(|b| !b.is_empty())
        .or_else(|| cfg!(target_os = "macos").then(|| "open".to_owned()))
        .or_else(|| {
            (std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some())
                .then(|| "xdg-open".to_owned())
        });
    let Some(command) = command else {
        return false;
    };
    std::process::Command::new(command)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .is_ok()
}

/// Who an OAuth access token belongs to and what it allows (`auth.checkToken`, signed with it).
async fn whoami_with_oauth(
    connection: &Connection,
    access: &OAuthToken,
) -> Result<Token, CliError> {
    let client: Client = connection
        .app_builder()
        .oauth_token(access.clone())
        .build()?;
    let mut token = client.auth().check_token().await?;
    token.token = Secret::new(access.token.clone());
    Ok(token)
}

/// `ipernity whoami`: the token's user and permissions.
pub(crate) async fn whoami(connection: &Connection) -> Result<ExitCode, CliError> {
    let client = connection.builder().build()?;
    let token = client.auth().check_token().await?;
    println!(
        "{} ({}), user {}",
        token.user.username, token.user.realname, token.user.user_id
    );
    println!("permissions: {}", token.permissions);
    if let Some(stored) = &connection.stored {
        println!(
            "account: {}{}",
            stored.account,
            if stored.oauth_secret.is_some() {
                " (OAuth)"
            } else {
                ""
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}
