//! `ipernity bridge`: the library's bridge on an address until interrupted.

use ipernity::Protocol;
use ipernity::bridge::Bridge;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::error::CliError;
use crate::positive_seconds;

/// The arguments of `ipernity bridge`.
#[derive(Debug, clap::Args)]
pub(crate) struct BridgeArgs {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8701")]
    listen: SocketAddr,
    /// The upstream API's base URL, such as https://api.ipernity.com/api.
    #[arg(long)]
    upstream: String,
    /// The protocol calls go upstream in: rest, soap or xmlrpc.
    #[arg(long, default_value = "rest")]
    upstream_protocol: Protocol,
    /// Write every exchange into DIR as a conformance case, credentials replaced by
    /// placeholders (replay with `ipernity conformance --cases DIR`).
    #[arg(long, value_name = "DIR")]
    record: Option<PathBuf>,
    /// Seconds the upstream may take to answer a call before the caller gets error 503.
    #[arg(long, default_value_t = 30.0)]
    timeout: f64,
    /// Calls forwarded upstream at once; the next waits for a free turn.
    #[arg(long, default_value_t = 64)]
    max_in_flight: usize,
    /// Connections served at once; further ones wait until one closes.
    #[arg(long, default_value_t = 512)]
    max_connections: usize,
    /// Seconds a caller may send nothing (request head or body) before it is dropped.
    #[arg(long, default_value_t = 30.0)]
    idle_timeout: f64,
    /// Where uploads are spooled on their way (default: a temporary directory).
    #[arg(long, value_name = "DIR")]
    spool: Option<PathBuf>,
}

/// Runs the bridge until Ctrl-C or SIGTERM.
pub(crate) async fn run(args: BridgeArgs) -> Result<ExitCode, CliError> {
    let mut builder = Bridge::builder(args.upstream.as_str())
        .listen(args.listen)
        .upstream_protocol(args.upstream_protocol)
        .call_timeout(positive_seconds(args.timeout, "--timeout")?)
        .idle_timeout(positive_seconds(args.idle_timeout, "--idle-timeout")?)
        .max_in_flight(args.max_in_flight)
        .max_connections(args.max_connections);
    if let Some(dir) = &args.record {
        builder = builder.record(dir);
    }
    if let Some(dir) = &args.spool {
        builder = builder.spool_dir(dir);
    }
    let bridge = builder
        .start()
        .await
        .map_err(|e| CliError::usage(format!("starting the bridge on {}: {e}", args.listen)))?;
    println!(
        "ipernity bridge listening on {}, forwarding to {} over {}",
        bridge.base_url(),
        args.upstream,
        args.upstream_protocol
    );
    println!("WSDL: {}/soap?wsdl", bridge.base_url());
    if let Some(dir) = &args.record {
        println!("recording into {}", dir.display());
    }
    crate::until_interrupted_or_terminated().await?;
    bridge.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
