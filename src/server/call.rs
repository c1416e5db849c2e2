//! A call that passed every check, as the emulated methods receive it, and what they answer.

use std::time::Duration;

use super::state::Grant;
use crate::call::Params;
use crate::error::ApiError;
use crate::protocol::FilePart;
use crate::value::Map;

/// A call that passed every check, with the identity behind it.
pub(crate) struct Request<'a> {
    pub(crate) params: &'a Params,
    pub(crate) api_key: &'a str,
    /// The token the call was made with (`auth_token`, or the OAuth access token).
    pub(crate) token: Option<&'a str>,
    pub(crate) grant: Option<Grant>,
    pub(crate) file: Option<&'a FilePart>,
    pub(crate) ticket_delay: Duration,
    pub(crate) data_dir: &'a std::path::Path,
    pub(crate) max_file_size: u64,
    /// How many bytes a member may upload in a month.
    pub(crate) upload_quota: u64,
    /// How the method pages its lists, from the catalog.
    pub(crate) paging: Option<crate::methods::Paging>,
    /// `http://ADDR`, the emulator's own origin: every media URL in an answer points here.
    pub(crate) origin: &'a str,
}

impl Request<'_> {
    /// A parameter's value, if sent and not empty.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).filter(|v| !v.is_empty())
    }

    /// The user the token belongs to.
    pub(crate) fn user_id(&self) -> Option<u64> {
        self.grant.as_ref().map(|g| g.user_id)
    }
}

/// The outcome of one call: the payload, or the error to answer.
pub(crate) type Outcome = Result<Map, ApiError>;
