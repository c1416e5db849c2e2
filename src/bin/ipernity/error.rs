//! [`CliError`]: why a command failed, and the one place that decides its exit status.
//!
//! Exit status 0: done. 1: anything failed (a file of a bulk upload, a conformance case, a
//! flag, the network, a damaged file). 2: the API answered with an error, printed as
//! `error CODE: MESSAGE` so scripts can read the code.

use std::process::ExitCode;

use ipernity::client::bulk::BulkError;
use ipernity::{ApiError, Error};

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// The API answered with an error.
    #[error("error {}: {}", .0.code, .0.message)]
    Api(ApiError),
    /// The library refused the call or could not complete it (its message carries the cause
    /// chain once).
    #[error(transparent)]
    Library(Error),
    /// A bulk upload could not run.
    #[error(transparent)]
    Bulk(#[from] BulkError),
    /// A flag or argument the command cannot use, or another failure described in words.
    #[error("{0}")]
    Usage(String),
    /// Reading or writing a file, or the terminal, failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The failure.
        #[source]
        source: std::io::Error,
    },
}

impl CliError {
    /// A flag or argument refused.
    pub(crate) fn usage(message: impl Into<String>) -> CliError {
        CliError::Usage(message.into())
    }

    /// An I/O failure while doing `what`.
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> CliError {
        let what = what.into();
        move |source| CliError::Io { what, source }
    }

    /// The exit status that reports this failure.
    pub(crate) fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Api(_) => ExitCode::from(2),
            _ => ExitCode::from(1),
        }
    }
}

impl From<Error> for CliError {
    fn from(error: Error) -> CliError {
        match error {
            Error::Api(api) => CliError::Api(api),
            other => CliError::Library(other),
        }
    }
}

impl From<String> for CliError {
    fn from(message: String) -> CliError {
        CliError::Usage(message)
    }
}

impl From<&str> for CliError {
    fn from(message: &str) -> CliError {
        CliError::Usage(message.to_owned())
    }
}

impl From<ApiError> for CliError {
    fn from(error: ApiError) -> CliError {
        CliError::Api(error)
    }
}

impl From<serde_json::Error> for CliError {
    fn from(error: serde_json::Error) -> CliError {
        CliError::Io {
            what: "writing JSON".to_owned(),
            source: error.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipernity::ErrorCode;

    #[test]
    fn api_errors_exit_2_and_print_their_code() {
        let error = CliError::from(Error::Api(ApiError::new(
            ErrorCode::SignatureInvalid,
            "Signature is invalid",
        )));
        assert_eq!(error.exit_code(), ExitCode::from(2));
        assert_eq!(error.to_string(), "error 105: Signature is invalid");
        assert_eq!(CliError::usage("--jobs 0").exit_code(), ExitCode::from(1));
    }
}
