//! [`Shared`]: what every route of the emulator shares (the state and its store, the fault
//! plan, the configuration a request needs), and saving a call's changes before it is answered.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use super::faults::Faults;
use super::state::ServiceState;
use super::store::Store;
use crate::error::{ApiError, ErrorCode};

/// What the server's handlers share.
pub(crate) struct Shared {
    pub(crate) state: Mutex<ServiceState>,
    pub(crate) store: Option<Store>,
    pub(crate) faults: Mutex<Faults>,
    pub(crate) requests: std::sync::atomic::AtomicU64,
    pub(crate) ticket_delay: Duration,
    /// Added to every answer, as a slow network would.
    pub(crate) latency: Duration,
    pub(crate) data_dir: PathBuf,
    pub(crate) max_file_size: u64,
    pub(crate) upload_quota: u64,
    pub(crate) callback: Option<String>,
    pub(crate) idle_timeout: Duration,
    /// `http://ADDR`: where media URLs point.
    pub(crate) origin: String,
    /// The request quotas (112, 113), off unless configured.
    pub(crate) rates: super::rates::Rates,
    /// Turns to make a thumbnail ([`super::media::MAX_RESIZES`] at once).
    pub(crate) resizes: tokio::sync::Semaphore,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("data_dir", &self.data_dir)
            .field("ticket_delay", &self.ticket_delay)
            .field("latency", &self.latency)
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// Writes what the call changed before it is answered; a failure is a service error.
    pub(crate) fn persist(&self, state: &mut ServiceState) -> Result<(), ApiError> {
        match &self.store {
            None => {
                state.mark_saved();
                Ok(())
            }
            Some(store) => store.save(state).map_err(|error| {
                tracing::error!(%error, "saving the emulator's state failed");
                ApiError::new(
                    ErrorCode::ServiceError,
                    "Service error: the state could not be saved",
                )
            }),
        }
    }
}
