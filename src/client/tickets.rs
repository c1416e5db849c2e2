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

struct Poller {
    client: Client,
    pending: VecDeque<String>,
    ready: VecDeque<Result<TicketOutcome, Error>>,
    deadline: Instant,
    /// When the next round may start (the earliest eta of the last one).
    next_round: Option<Instant>,
}

impl Client {
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
            match self
                .client
                .call("upload.checkTickets")
                .param("tickets", batch.join(","))
                .send()
                .await
            {
                Ok(payload) => {
                    let listed = payload
                        .get("tickets")
                        .map(|t| t.list("ticket"))
                        .unwrap_or_default();
                    for ticket in batch {
                        let entry = listed.iter().find(|t| {
                            t.get("id").and_then(Value::to_text).as_deref() == Some(ticket.as_str())
                        });
                        match entry {
                            Some(t) if t.get("done").and_then(Value::as_bool) == Some(true) => {
                                match t.get("doc_id").and_then(Value::as_u64) {
                                    Some(doc_id) => self
                                        .ready
                                        .push_back(Ok(TicketOutcome::Done { ticket, doc_id })),
                                    None => {
                                        self.ready.push_back(Ok(TicketOutcome::Invalid { ticket }))
                                    }
                                }
                            }
                            Some(t) if t.get("invalid").and_then(Value::as_bool) == Some(true) => {
                                self.ready.push_back(Ok(TicketOutcome::Invalid { ticket }));
                            }
                            Some(t) => {
                                if let Some(eta) = t.get("eta").and_then(Value::as_u64) {
                                    earliest = Some(earliest.map_or(eta, |e| e.min(eta)));
                                }
                                still_pending.push_back(ticket);
                            }
                            None => self.ready.push_back(Ok(TicketOutcome::Invalid { ticket })),
                        }
                    }
                }
                // Error 1: none of these tickets exists.
                Err(Error::Api(error)) if error.code == ErrorCode::Method(1) => {
                    self.ready.extend(
                        batch
                            .into_iter()
                            .map(|ticket| Ok(TicketOutcome::Invalid { ticket })),
                    );
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
