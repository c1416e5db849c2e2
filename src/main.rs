//! The `ipernity` command-line tool.

use std::io::{Read, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ipernity::{Call, Credentials, Error, Format, Params, Protocol, Secret, sign};

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::from(1)
        }
    }
}

fn run(command: Command) -> Result<ExitCode, String> {
    match command {
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
            let request = protocol
                .transport()
                .encode(&endpoint, &call.redacted(), format)
                .map_err(|e| e.to_string())?;
            std::io::stdout()
                .write_all(&request.to_http_text())
                .and_then(|()| std::io::stdout().write_all(b"\n"))
                .map_err(|e| e.to_string())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn decode(format: Format, file: Option<&str>) -> Result<ExitCode, String> {
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
            let text = serde_json::to_string_pretty(&payload).map_err(|e| e.to_string())?;
            println!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Err(Error::Api(error)) => {
            eprintln!("error {}: {}", error.code, error.message);
            Ok(ExitCode::from(2))
        }
        Err(other) => Err(other.to_string()),
    }
}

fn parse_params(pairs: &[String]) -> Result<Params, String> {
    pairs
        .iter()
        .map(|pair| {
            pair.split_once('=')
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .ok_or_else(|| format!("parameter {pair:?} is not NAME=VALUE"))
        })
        .collect()
}
