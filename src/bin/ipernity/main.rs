//! The `ipernity` command-line tool.

use std::io::{Read, Write};
use std::process::ExitCode;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use connection::Remote;
use error::CliError;

mod archive;
mod bridge;
mod connection;
mod error;
mod login;
mod methods;
mod paths;
mod progress;
mod upload;
use ipernity::auth::Permissions;
use ipernity::conformance::{
    EndpointOutcome, MethodOutcome, Suite, recorded_cases, run_against, run_method_cases,
    run_recorded,
};
use ipernity::methods::Validation;
use ipernity::server::{Emulator, Grants};
use ipernity::{Call, Client, Credentials, Format, Params, Protocol, Secret, sign};

#[derive(Debug, Parser)]
#[command(
    name = "ipernity",
    version,
    about = "Ipernity API client: decode responses, sign and encode calls"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decode a response body and print its payload (without the `api` member) as JSON.
    ///
    /// Exit status: 0 for a payload, 2 for an API error (`error CODE: MESSAGE` on stderr), 1 for a
    /// body that cannot be decoded.
    Decode {
        /// The response format: json, xml, php, soap or xmlrpc.
        #[arg(long)]
        format: Format,
        /// The file to read; `-` or nothing reads standard input.
        file: Option<String>,
    },
    /// Print the api_sig of a call (METHOD "" signs an authorization link).
    Sign {
        /// The API secret.
        #[arg(long, env = "IPERNITY_SECRET", hide_env_values = true)]
        secret: String,
        /// Print the string that is hashed, with the secret shown as `<secret>`.
        #[arg(long)]
        explain: bool,
        /// The method name, or "" for an authorization link.
        method: String,
        /// Parameters as NAME=VALUE.
        params: Vec<String>,
    },
    /// Print the HTTP request a signed call would send (tokens shown as `<redacted>`).
    Encode {
        /// The request protocol: rest, soap or xmlrpc.
        #[arg(long, default_value = "rest")]
        protocol: Protocol,
        /// The response format to ask for (default: the protocol's own).
        #[arg(long)]
        format: Option<Format>,
        /// The API base URL.
        #[arg(long, env = "IPERNITY_ENDPOINT", default_value = ipernity::DEFAULT_ENDPOINT)]
        endpoint: String,
        /// The API key.
        #[arg(long, env = "IPERNITY_API_KEY")]
        api_key: String,
        /// The API secret.
        #[arg(long, env = "IPERNITY_SECRET", hide_env_values = true)]
        secret: String,
        /// A user's auth token.
        #[arg(long, env = "IPERNITY_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// The method name.
        method: String,
        /// Parameters as NAME=VALUE.
        params: Vec<String>,
    },
    /// Call a method and print its payload as JSON.
    ///
    /// Without an endpoint (flag or IPERNITY_ENDPOINT) the call goes to an embedded emulator
    /// started for it. Exit status: 0 for a payload, 2 for an API error (`error CODE: MESSAGE`
    /// on stderr), 1 for anything else.
    Call(CallArgs),
    /// Run the conformance suite against an endpoint (default: the embedded emulator): the
    /// server-side parse cases, then one case per method of the API on every protocol and
    /// format (it makes what it needs through the API, checks each answer's shape against the
    /// documentation, and deletes what it made; the caller must belong to a group and have a
    /// blog post). Prints one line per case, counts per family, and `N passed, M failed`; exit
    /// status 0 only when all pass.
    Conformance {
        #[command(flatten)]
        target: Remote,
        /// A checkout's `protocols/` directory to read the cases from (fixture paths are relative
        /// to its parent); by default the suite compiled into this binary.
        #[arg(long)]
        suite: Option<PathBuf>,
        /// Replay the cases `ipernity bridge --record DIR` wrote, in order, instead of the
        /// suite: each answer must have the recorded shape (ids, times, tokens and URLs
        /// compared by kind).
        #[arg(long, value_name = "DIR", conflicts_with = "suite")]
        cases: Option<PathBuf>,
        /// Seconds each case may take before it fails.
        #[arg(long, default_value_t = 10.0)]
        case_timeout: f64,
    },
    /// Put the service's three protocols in front of one upstream endpoint: calls to /api/…,
    /// /api/soap (WSDL at /api/soap?wsdl) and /api/xmlrpc are forwarded over
    /// --upstream-protocol and answered in the caller's protocol and format. The caller's
    /// api_sig goes through unchanged: the bridge holds no secret. With --record DIR, every
    /// exchange is written as a conformance case. Runs until Ctrl-C or SIGTERM.
    Bridge(bridge::BridgeArgs),
    /// Upload files (directories are walked) and print `PATH doc_id=ID` for each, or
    /// `PATH ticket=ID` with --no-wait. Without an endpoint, uploads go to an embedded emulator.
    Upload {
        #[command(flatten)]
        upload: Box<upload::UploadArgs>,
        #[command(flatten)]
        target: Remote,
    },
    /// Back up the account to a directory or an object store: originals checked against their
    /// md5, a JSON sidecar per document, album and folder, and account.json (layout in the
    /// README). Incremental and restartable; with --verify, check an archive instead. Without
    /// an endpoint, backs up the embedded emulator's account. Exit status 1 when a document
    /// failed (listed on stderr) or, with --verify, anything is missing or corrupt.
    Backup {
        #[command(flatten)]
        backup: archive::BackupArgs,
        #[command(flatten)]
        target: Remote,
    },
    /// Restore an archive into the account of the token: every document with every field a
    /// client can set, albums in order with their cover, folders in order. Restartable
    /// through its journal; ends with the "what survived" table.
    Restore {
        #[command(flatten)]
        restore: archive::RestoreArgs,
        #[command(flatten)]
        target: Remote,
    },
    /// Check upload tickets: one line per ticket (`TICKET doc_id=ID`, `TICKET invalid`,
    /// `TICKET pending eta=SECONDS`); with --wait, wait until each is done or invalid.
    Tickets {
        /// The ticket ids.
        #[arg(required = true)]
        tickets: Vec<String>,
        /// Wait until every ticket is done or invalid.
        #[arg(long)]
        wait: bool,
        /// How long to wait, in seconds.
        #[arg(long, default_value_t = 600)]
        wait_timeout: u64,
        #[command(flatten)]
        target: Remote,
    },
    /// Authorize this application for a user (the frob flow, or OAuth with --oauth) and keep
    /// the token in the token store ($IPERNITY_TOKEN_DIR, else ~/.config/ipernity/tokens), where
    /// later commands find it. Against the embedded emulator it runs unattended.
    Login {
        #[command(flatten)]
        login: login::LoginArgs,
        #[command(flatten)]
        target: Remote,
    },
    /// Print whose the token is and what it allows (`auth.checkToken`).
    Whoami {
        #[command(flatten)]
        target: Remote,
    },
    /// List the API's methods with their flags (HTTP method, signature, token, permission,
    /// paging), or show one method's parameters, allowed values, answer and errors.
    Methods {
        /// The method to show in full, e.g. doc.getList.
        name: Option<String>,
    },
    /// Run the emulator until interrupted.
    Serve(ServeArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("{error}");
            error.exit_code()
        }
    }
}

async fn run(command: Command) -> Result<ExitCode, CliError> {
    match command {
        Command::Call(args) => call(args).await,
        Command::Tickets {
            tickets,
            wait,
            wait_timeout,
            target,
        } => {
            let connection = target.connect().await?;
            let outcome = match connection.client() {
                Ok(client) => check_tickets(&client, tickets, wait, wait_timeout).await,
                Err(error) => Err(error),
            };
            connection.close().await;
            outcome
        }
        Command::Upload { upload, target } => {
            let connection = target.connect().await?;
            let outcome = match connection.client() {
                Ok(client) => upload::run(&upload, &client).await,
                Err(error) => Err(error),
            };
            connection.close().await;
            outcome
        }
        Command::Backup { backup, target } => {
            if backup.verify {
                return archive::verify(&backup).await;
            }
            let connection = target.connect().await?;
            let outcome = archive::backup(&backup, &connection).await;
            connection.close().await;
            outcome
        }
        Command::Restore { restore, target } => {
            let connection = target.connect().await?;
            let outcome = archive::restore(&restore, &connection).await;
            connection.close().await;
            outcome
        }
        Command::Login { login, target } => {
            let connection = target.connect().await?;
            let outcome = login::login(&login, &connection).await;
            connection.close().await;
            outcome
        }
        Command::Whoami { target } => {
            let connection = target.connect().await?;
            let outcome = login::whoami(&connection).await;
            connection.close().await;
            outcome
        }
        Command::Conformance {
            target,
            suite,
            cases,
            case_timeout,
        } => {
            let case_timeout = positive_seconds(case_timeout, "--case-timeout")?;
            match cases {
                Some(dir) => replay_recorded(target, &dir, case_timeout).await,
                None => run_conformance(target, suite.as_deref(), case_timeout).await,
            }
        }
        Command::Serve(args) => serve(args).await,
        Command::Bridge(args) => bridge::run(args).await,
        Command::Methods { name } => methods::run(name.as_deref()),
        Command::Decode { format, file } => decode(format, file.as_deref()),
        Command::Sign {
            secret,
            explain,
            method,
            params,
        } => {
            let params = parse_params(&params)?;
            if explain {
                println!("{}", sign::explain(&method, &params));
            } else {
                println!("{}", sign::api_sig(&method, &params, &Secret::new(secret)));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Encode {
            protocol,
            format,
            endpoint,
            api_key,
            secret,
            token,
            method,
            params,
        } => {
            let mut credentials = Credentials::new(api_key, secret);
            if let Some(token) = token {
                credentials = credentials.with_token(token);
            }
            let call = Call::with_params(method, parse_params(&params)?).signed(&credentials);
            print_request(protocol, &endpoint, &call, format)
        }
    }
}

/// Prints the request a signed call would send, with its secrets redacted.
fn print_request(
    protocol: Protocol,
    endpoint: &str,
    signed: &Call,
    format: Option<Format>,
) -> Result<ExitCode, CliError> {
    let request = protocol
        .transport()
        .encode(endpoint, &signed.redacted(), format)?;
    let mut stdout = std::io::stdout();
    stdout
        .write_all(&request.to_http_text())
        .and_then(|()| stdout.write_all(b"\n"))
        .map_err(CliError::io("writing standard output"))?;
    Ok(ExitCode::SUCCESS)
}

fn decode(format: Format, file: Option<&str>) -> Result<ExitCode, CliError> {
    let body = match file {
        None | Some("-") => {
            let mut body = Vec::new();
            std::io::stdin()
                .read_to_end(&mut body)
                .map_err(|e| format!("reading standard input: {e}"))?;
            body
        }
        Some(path) => std::fs::read(path).map_err(|e| format!("reading {path}: {e}"))?,
    };
    match format.decode(&body) {
        Ok(payload) => {
            let text = serde_json::to_string_pretty(&payload)?;
            println!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => Err(error.into()),
    }
}

/// The arguments of `ipernity serve`.
#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8700")]
    addr: SocketAddr,
    /// Keep uploaded files and the emulator's state in this directory (default: a temporary
    /// one).
    #[arg(long)]
    data: Option<PathBuf>,
    /// The provisioned API key (default: a fresh one).
    #[arg(long)]
    api_key: Option<String>,
    /// The provisioned secret (default: a fresh one).
    #[arg(long)]
    secret: Option<String>,
    /// The provisioned user token (default: a fresh one).
    #[arg(long)]
    token: Option<String>,
    /// The token's permissions, as doc=delete,blog=write,… (default: everything).
    #[arg(long)]
    perms: Option<String>,
    /// Seconds a client may send nothing (request head or body) before it is dropped.
    #[arg(long, default_value_t = 30.0)]
    idle_timeout: f64,
    /// Connections served at once; further ones wait until one closes.
    #[arg(long, default_value_t = 512)]
    max_connections: usize,
    /// Start with an empty state: the database and document files in --data are removed first
    /// (without it, an empty or damaged database is an error).
    #[arg(long)]
    fresh: bool,
    /// Start with a deterministic account family of N documents (photos with EXIF, tags,
    /// notes, comments, faves, albums, folders, groups, posts, members); a --data store that
    /// already holds documents is not seeded again. Members' tokens are printed.
    #[arg(long, value_name = "N")]
    seed: Option<usize>,
    /// Milliseconds to wait before each answer, as a distant service would.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    latency: u64,
    /// Milliseconds an upload's ticket takes to complete (the service's processing).
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    ticket_delay: u64,
    /// Another member with a token of its own, as NAME:TOKEN (repeat for more; ids 2, 3, … in
    /// order).
    #[arg(long, value_name = "NAME:TOKEN")]
    member: Vec<String>,
    /// Answer 112 once an application key made more than N calls in a second (default: no
    /// limit).
    #[arg(long, value_name = "N")]
    key_rate: Option<u32>,
    /// Answer 113 once a client address made more than N calls in a second (default: no
    /// limit).
    #[arg(long, value_name = "N")]
    address_rate: Option<u32>,
}

/// The arguments of `ipernity call`.
#[derive(Debug, clap::Args)]
struct CallArgs {
    /// The method name.
    method: String,
    /// Parameters as NAME=VALUE.
    params: Vec<String>,
    /// The request protocol: rest, soap or xmlrpc.
    #[arg(long, env = "IPERNITY_PROTOCOL", default_value = "rest")]
    protocol: Protocol,
    /// The response format (default: the protocol's own).
    #[arg(long, env = "IPERNITY_FORMAT")]
    format: Option<Format>,
    #[command(flatten)]
    target: Remote,
    /// Print the signed request (tokens redacted) and send nothing.
    #[arg(long)]
    dry_run: bool,
    /// Send parameters the method catalog does not list (those it lists are still checked).
    #[arg(long)]
    allow_unknown_params: bool,
    /// Walk every page of a paged method and print one JSON line per item (pages as full as
    /// the method allows unless per_page is given, a few at a time, in order).
    #[arg(long, conflicts_with = "dry_run")]
    all_pages: bool,
}

async fn call(args: CallArgs) -> Result<ExitCode, CliError> {
    let params = parse_params(&args.params)?;
    let validation = match args.allow_unknown_params {
        true => Validation::AllowUnknown,
        false => Validation::Strict,
    };
    // Refused before an emulator starts or anything is encoded.
    if let Some(info) = ipernity::methods::lookup(&args.method) {
        ipernity::methods::validate(info, &params, validation)?;
    }
    if args.dry_run {
        // Nothing is sent: no emulator is needed, and placeholders stand in for missing credentials.
        let target = args.target;
        let mut credentials = Credentials::new(
            target.api_key.unwrap_or_else(|| "KEY".to_owned()),
            target.secret.unwrap_or_else(|| "SECRET".to_owned()),
        );
        credentials.token = target.token.map(Secret::new);
        let endpoint = target
            .endpoint
            .unwrap_or_else(|| ipernity::DEFAULT_ENDPOINT.to_owned());
        let call = Call::with_params(args.method, params).signed(&credentials);
        return print_request(args.protocol, &endpoint, &call, args.format);
    }
    let connection = args.target.connect().await?;
    let mut builder = connection.builder().protocol(args.protocol);
    if let Some(format) = args.format {
        builder = builder.format(format);
    }
    let client = builder.build()?;
    let mut call = client.call(args.method).params(&params);
    if args.allow_unknown_params {
        call = call.allow_unknown_params();
    }
    let outcome = match args.all_pages {
        true => print_items(call).await,
        false => match call.send().await {
            Ok(payload) => serde_json::to_string_pretty(&payload)
                .map(|text| println!("{text}"))
                .map_err(CliError::from),
            Err(error) => Err(error.into()),
        },
    };
    connection.close().await;
    outcome.map(|()| ExitCode::SUCCESS)
}

/// Every item of a paged call, one JSON line each, as they come.
async fn print_items(call: ipernity::client::CallBuilder) -> Result<(), CliError> {
    use futures_util::StreamExt;
    use std::io::Write;
    let mut items = call.items()?;
    let mut out = std::io::stdout().lock();
    while let Some(item) = items.next().await {
        let line = serde_json::to_string(&item?)?;
        if let Err(error) = writeln!(out, "{line}") {
            // A reader that stopped early (`| head`) ends the walk, not in failure.
            if error.kind() == std::io::ErrorKind::BrokenPipe {
                return Ok(());
            }
            return Err(format!("writing to standard output: {error}").into());
        }
    }
    Ok(())
}

async fn check_tickets(
    client: &Client,
    tickets: Vec<String>,
    wait: bool,
    wait_timeout: u64,
) -> Result<ExitCode, CliError> {
    use futures_util::StreamExt;
    use ipernity::client::TicketOutcome;
    if wait {
        let mut failed = false;
        let mut outcomes =
            client.poll_tickets(tickets, std::time::Duration::from_secs(wait_timeout));
        while let Some(outcome) = outcomes.next().await {
            match outcome? {
                TicketOutcome::Done { ticket, doc_id } => println!("{ticket} doc_id={doc_id}"),
                TicketOutcome::Invalid { ticket } => {
                    failed = true;
                    println!("{ticket} invalid");
                }
                TicketOutcome::TimedOut { ticket } => {
                    failed = true;
                    println!("{ticket} pending (timed out)");
                }
            }
        }
        return Ok(if failed {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        });
    }
    for state in client.check_tickets(tickets).await? {
        println!("{state}");
    }
    Ok(ExitCode::SUCCESS)
}

/// A duration given in seconds on the command line with `flag`, which must be positive.
fn positive_seconds(value: f64, flag: &str) -> Result<std::time::Duration, CliError> {
    std::time::Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| CliError::usage(format!("{flag} takes a positive number of seconds")))
}

/// `conformance --cases DIR`: recorded exchanges replayed in order.
async fn replay_recorded(
    target: Remote,
    dir: &std::path::Path,
    case_timeout: std::time::Duration,
) -> Result<ExitCode, CliError> {
    let cases = recorded_cases(dir).map_err(|error| CliError::usage(error.to_string()))?;
    let connection = target.connect().await?;
    let mut report = |outcome: &EndpointOutcome| match &outcome.failure {
        None => println!("ok    {}", outcome.name),
        Some(failure) => println!("FAIL  {}: {failure}", outcome.name),
    };
    let outcomes = run_recorded(
        &cases,
        &connection.endpoint,
        &connection.credentials,
        case_timeout,
        &mut report,
    )
    .await;
    connection.close().await;
    let outcomes = outcomes?;
    let failed = outcomes.iter().filter(|o| o.failure.is_some()).count();
    println!("{} passed, {failed} failed", outcomes.len() - failed);
    Ok(match failed {
        0 => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    })
}

async fn run_conformance(
    target: Remote,
    suite: Option<&std::path::Path>,
    case_timeout: std::time::Duration,
) -> Result<ExitCode, CliError> {
    let suite = match suite {
        Some(dir) => Suite::from_dir(dir.parent().unwrap_or(dir)),
        None => Suite::embedded(),
    }
    .map_err(|error| CliError::usage(error.to_string()))?;
    let connection = target.connect().await?;
    // A line per case as it ends: a slow or silent endpoint shows where the run is.
    let mut report = |outcome: &EndpointOutcome| match &outcome.failure {
        None => println!("ok    {}", outcome.name),
        Some(failure) => println!("FAIL  {}: {failure}", outcome.name),
    };
    let outcomes = run_against(
        &suite,
        &connection.endpoint,
        &connection.credentials,
        case_timeout,
        &mut report,
    )
    .await;
    let outcomes = match outcomes {
        Ok(outcomes) => outcomes,
        Err(error) => {
            connection.close().await;
            return Err(error.into());
        }
    };
    let mut failed = outcomes.iter().filter(|o| o.failure.is_some()).count();
    let mut total = outcomes.len();
    let pairs = [
        (Protocol::Rest, Format::Json),
        (Protocol::Rest, Format::Xml),
        (Protocol::Rest, Format::Php),
        (Protocol::Soap, Format::Soap),
        (Protocol::XmlRpc, Format::XmlRpc),
    ];
    // Per family: cases passed and run, over every protocol.
    let mut families: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    for (protocol, format) in pairs {
        let client = match connection
            .builder()
            .protocol(protocol)
            .format(format)
            .build()
        {
            Ok(client) => client,
            Err(error) => {
                connection.close().await;
                return Err(error.into());
            }
        };
        let mut report = |outcome: &MethodOutcome| match &outcome.failure {
            None => println!("ok    methods/{protocol}/{format} {}", outcome.method),
            Some(failure) => println!(
                "FAIL  methods/{protocol}/{format} {}: {failure}",
                outcome.method
            ),
        };
        match run_method_cases(&client, &mut report).await {
            Ok(methods) => {
                for outcome in &methods {
                    let entry = families.entry(outcome.family().to_owned()).or_default();
                    entry.1 += 1;
                    if outcome.failure.is_none() {
                        entry.0 += 1;
                    }
                }
                total += methods.len();
                failed += methods.iter().filter(|o| o.failure.is_some()).count();
            }
            Err(error) => {
                println!("FAIL  methods/{protocol}/{format}: {error}");
                total += 1;
                failed += 1;
            }
        }
    }
    connection.close().await;
    for (family, (passed, run)) in &families {
        println!("{family}: {passed}/{run} passed");
    }
    println!("{} passed, {failed} failed", total - failed);
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn serve(args: ServeArgs) -> Result<ExitCode, CliError> {
    let ServeArgs {
        addr,
        data,
        api_key,
        secret,
        token,
        perms,
        idle_timeout,
        max_connections,
        fresh,
        seed,
        latency,
        ticket_delay,
        member,
        key_rate,
        address_rate,
    } = args;
    let idle = positive_seconds(idle_timeout, "--idle-timeout")?;
    let mut builder = Emulator::builder()
        .addr(addr)
        .idle_timeout(idle)
        .max_connections(max_connections)
        .latency(std::time::Duration::from_millis(latency))
        .ticket_delay(std::time::Duration::from_millis(ticket_delay))
        .rate_limits(key_rate, address_rate)
        .fresh(fresh);
    for member in &member {
        let (name, token) = member
            .split_once(':')
            .filter(|(name, token)| !name.is_empty() && !token.is_empty())
            .ok_or_else(|| CliError::usage(format!("--member {member:?} is not NAME:TOKEN")))?;
        builder = builder.member(name, token);
    }
    if let Some(documents) = seed {
        builder = builder.seed(documents);
    }
    if let Some(dir) = data {
        builder = builder.data_dir(dir);
    }
    if let Some(api_key) = api_key {
        builder = builder.api_key(api_key);
    }
    if let Some(secret) = secret {
        builder = builder.secret(secret);
    }
    if let Some(token) = token {
        builder = builder.token(token);
    }
    if let Some(perms) = perms {
        builder = builder.grants(parse_perms(&perms)?);
    }
    let emulator = builder
        .start()
        .await
        .map_err(|e| format!("starting the emulator on {addr}: {e}"))?;
    let credentials = emulator.credentials();
    println!("ipernity emulator listening on {}", emulator.base_url());
    println!("api_key: {}", credentials.api_key);
    println!("secret: {}", credentials.secret.expose());
    println!(
        "token: {}",
        credentials
            .token
            .as_ref()
            .map(Secret::expose)
            .unwrap_or_default()
    );
    for member in emulator.seeded_members() {
        println!(
            "member {} (user {}): token {}",
            member.username,
            member.user_id,
            member.token.expose()
        );
    }
    until_interrupted_or_terminated().await?;
    // Shutting down removes a temporary data directory with its uploads.
    emulator.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// Waits for Ctrl-C (SIGINT) or, on Unix, SIGTERM (what `kill` and service managers send).
async fn until_interrupted_or_terminated() -> Result<(), CliError> {
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .map_err(CliError::io("listening for SIGTERM"))?;
        tokio::select! {
            interrupted = tokio::signal::ctrl_c() => interrupted.map_err(CliError::io("listening for Ctrl-C")),
            _ = terminate.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c()
            .await
            .map_err(CliError::io("listening for Ctrl-C"))
    }
}

/// `--perms doc=write,network=read` as the emulator's grants.
fn parse_perms(text: &str) -> Result<Grants, CliError> {
    let permissions: Permissions = text.parse()?;
    Ok(permissions.iter().collect())
}

fn parse_params(pairs: &[String]) -> Result<Params, CliError> {
    pairs
        .iter()
        .map(|pair| {
            pair.split_once('=')
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .ok_or_else(|| CliError::usage(format!("parameter {pair:?} is not NAME=VALUE")))
        })
        .collect()
}
