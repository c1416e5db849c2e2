//! Polling upload tickets: `client.poll_tickets(ids, deadline)` yields each ticket's outcome as
//! soon as it is known.
//!
//! At most 50 tickets go in one `upload.checkTickets` call; between rounds the poller sleeps
//! until the earliest `eta` the service gave (2 s when it gave none, never less than 1 s, so it
//! never busy-loops); a finished ticket is never asked about again; past the deadline, every
//! ticket still pending is reported as timed out.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::Stream;
use tokio::time::Instant;

use super::Client;
use crate::error::{Error, ErrorCode};
use crate::value::Value;

/// The most tickets one `upload.checkTickets` call may carry.
pub const MAX_TICKETS_PER_CALL: usize = 50;

/// How long to wait when the service gives no `eta`.
const DEFAULT_WAIT: Duration = Duration::from_secs(2);
/// The shortest wait between two rounds.
const MIN_WAIT: Duration = Duration::from_secs(1);

/// The outcomes of [`Client::poll_tickets`], each as soon as it is known.
pub type TicketStream = std::pin::Pin<Box<dyn Stream<Item = Result<TicketOutcome, Error>> + Send>>;

/// What became of one ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TicketOutcome {
    /// The document is ready.
    Done {
        /// The ticket.
        ticket: String,
        /// The new document.
        doc_id: u64,
    },
    /// The service does not know the ticket, or processing failed.
    Invalid {
        /// The ticket.
        ticket: String,
    },
    /// The deadline passed while the ticket was still pending.
    TimedOut {
        /// The ticket.
        ticket: String,
    },
}

/// One ticket as `upload.checkTickets` describes it: the one reader of a ticket's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TicketState {
    /// The document is ready.
    Done {
        /// The ticket.
        ticket: String,
        /// The new document.
        doc_id: u64,
    },
    /// The service does not know the ticket, processing failed, or a done ticket names no
    /// document.
    Invalid {
        /// The ticket.
        ticket: String,
    },
    /// Still being processed.
    Pending {
        /// The ticket.
        ticket: String,
        /// Seconds until it should be done, when the service says.
        eta: Option<u64>,
    },
}

impl TicketState {
    /// The ticket's id.
    pub fn ticket(&self) -> &str {
        match self {
            TicketState::Done { ticket, .. }
            | TicketState::Invalid { ticket }
            | TicketState::Pending { ticket, .. } => ticket,
        }
    }

    /// Reads one `ticket` entry of an answer for `ticket`.
    fn read(ticket: String, entry: &Value) -> TicketState {
        let flag = |name: &str| entry.get(name).and_then(Value::as_bool) == Some(true);
        if flag("done") {
            match entry.get("doc_id").and_then(Value::as_u64) {
                Some(doc_id) => TicketState::Done { ticket, doc_id },
                None => TicketState::Invalid { ticket },
            }
        } else if flag("invalid") {
            TicketState::Invalid { ticket }
        } else {
            let eta = entry.get("eta").and_then(Value::as_u64);
            TicketState::Pending { ticket, eta }
        }
    }
}

impl std::fmt::Display for TicketState {
    /// `ID doc_id=N`, `ID invalid`, `ID pending eta=S`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TicketState::Done { ticket, doc_id } => write!(f, "{ticket} doc_id={doc_id}"),
            TicketState::Invalid { ticket } => write!(f, "{ticket} invalid"),
            TicketState::Pending {
                ticket,
                eta: Some(eta),
            } => write!(f, "{ticket} pending eta={eta}"),
            TicketState::Pending { ticket, eta: None } => write!(f, "{ticket} pending"),
        }
    }
}

struct Poller {
    client: Client,
    pending: VecDeque<String>,
    ready: VecDeque<Result<TicketOutcome, Error>>,
    deadline: Instant,
    /// When the next round may start (the earliest eta of the last one).
    next_round: Option<Instant>,
}

impl Client {
    /// Asks once where each of `tickets` stands (at most 50 a call, as many calls as needed),
    /// in the order given. A ticket the answer does not list, or an answer of error 1 (none of
    /// them exists), is [`TicketState::Invalid`].
    ///
    /// # Errors
    ///
    /// Any failure of an `upload.checkTickets` call, after the client's retries.
    pub async fn check_tickets(
        &self,
        tickets: impl IntoIterator<Item = String>,
    ) -> Result<Vec<TicketState>, Error> {
        let tickets: Vec<String> = tickets.into_iter().collect();
        let mut states = Vec::with_capacity(tickets.len());
        for batch in tickets.chunks(MAX_TICKETS_PER_CALL) {
            states.extend(self.check_batch(batch.to_vec()).await?);
        }
        Ok(states)
    }

    /// One `upload.checkTickets` call for at most [`MAX_TICKETS_PER_CALL`] tickets.
    async fn check_batch(&self, batch: Vec<String>) -> Result<Vec<TicketState>, Error> {
        let payload = match self
            .call("upload.checkTickets")
            .param("tickets", batch.join(","))
            .send()
            .await
        {
            Ok(payload) => payload,
            // Error 1: none of these tickets exists.
            Err(Error::Api(error)) if error.code == ErrorCode::Method(1) => {
                return Ok(batch
                    .into_iter()
                    .map(|ticket| TicketState::Invalid { ticket })
                    .collect());
            }
            Err(error) => return Err(error),
        };
        let listed = payload
            .get("tickets")
            .map(|t| t.list("ticket"))
            .unwrap_or_default();
        Ok(batch
            .into_iter()
            .map(|ticket| {
                let entry = listed.iter().find(|t| {
                    t.get("id").and_then(Value::to_text).as_deref() == Some(ticket.as_str())
                });
                match entry {
                    Some(entry) => TicketState::read(ticket, entry),
                    None => TicketState::Invalid { ticket },
                }
            })
            .collect())
    }

    /// Polls `tickets` until each is done or invalid, or `timeout` has passed.
    pub fn poll_tickets(
        &self,
        tickets: impl IntoIterator<Item = String>,
        timeout: Duration,
    ) -> TicketStream {
        let mut pending: VecDeque<String> = VecDeque::new();
        for ticket in tickets {
            if !pending.contains(&ticket) {
                pending.push_back(ticket);
            }
        }
        let poller = Poller {
            client: self.clone(),
            pending,
            ready: VecDeque::new(),
            deadline: Instant::now() + timeout,
            next_round: None,
        };
        Box::pin(futures_util::stream::unfold(
            poller,
            |mut poller| async move {
                loop {
                    if let Some(outcome) = poller.ready.pop_front() {
                        return Some((outcome, poller));
                    }
                    if poller.pending.is_empty() {
                        return None;
                    }
                    if Instant::now() >= poller.deadline {
                        let timed_out: Vec<_> = poller
                            .pending
                            .drain(..)
                            .map(|ticket| Ok(TicketOutcome::TimedOut { ticket }))
                            .collect();
                        poller.ready.extend(timed_out);
                        continue;
                    }
                    if let Some(next) = poller.next_round.take() {
                        tokio::time::sleep_until(next.min(poller.deadline)).await;
                        continue;
                    }
                    poller.round().await;
                }
            },
        ))
    }
}

impl Poller {
    /// Asks about every pending ticket once (in batches), and sets when the next round may start.
    async fn round(&mut self) {
        let mut still_pending = VecDeque::new();
        let mut earliest: Option<u64> = None;
        while !self.pending.is_empty() {
            let take = self.pending.len().min(MAX_TICKETS_PER_CALL);
            let batch: Vec<String> = self.pending.drain(..take).collect();
            match self.client.check_batch(batch.clone()).await {
                Ok(states) => {
                    for state in states {
                        match state {
                            TicketState::Done { ticket, doc_id } => self
                                .ready
                                .push_back(Ok(TicketOutcome::Done { ticket, doc_id })),
                            TicketState::Invalid { ticket } => {
                                self.ready.push_back(Ok(TicketOutcome::Invalid { ticket }));
                            }
                            TicketState::Pending { ticket, eta } => {
                                if let Some(eta) = eta {
                                    earliest = Some(earliest.map_or(eta, |e| e.min(eta)));
                                }
                                still_pending.push_back(ticket);
                            }
                        }
                    }
                }
                Err(error) => {
                    // The call failed (retries included): report it, keep the tickets for later.
                    self.ready.push_back(Err(error));
                    still_pending.extend(batch);
                }
            }
        }
        self.pending = still_pending;
        let wait = earliest
            .map_or(DEFAULT_WAIT, Duration::from_secs)
            .max(MIN_WAIT);
        self.next_round = Some(Instant::now() + wait);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_entry_is_read_once_into_its_state() {
        let read =
            |json: &str| TicketState::read("7-1".to_owned(), &Value::from_json_str(json).unwrap());
        assert_eq!(
            read(r#"{"id":"7-1","done":"1","doc_id":"42","eta":"0"}"#).to_string(),
            "7-1 doc_id=42"
        );
        assert_eq!(
            read(r#"{"done":1}"#).to_string(),
            "7-1 invalid",
            "done without a document"
        );
        assert_eq!(read(r#"{"invalid":"1"}"#).to_string(), "7-1 invalid");
        assert_eq!(
            read(r#"{"done":"0","eta":"3"}"#).to_string(),
            "7-1 pending eta=3"
        );
        assert_eq!(read(r#"{"done":"0"}"#).to_string(), "7-1 pending");
        assert_eq!(read(r#"{"done":"0"}"#).ticket(), "7-1");
    }
}
