//! The pace of a client, shared by all its clones: the rate limit it was built with, and the
//! slowdown the service asks for with 112 (application quota) and 113 (client IP quota).
//!
//! Every call, every upload and every page of a walk is admitted here before it is sent: it
//! waits until a slowdown in force is over, then for a slot of the rate limit. A 112 or 113
//! answer starts (or doubles, from 1 s up to 64 s, or as long as `Retry-After` says) a pause
//! that every clone of the client honours; the next answer that is not a 112 or 113 ends the
//! doubling. Refusals of calls that were already on their way when a pause began are that same
//! refusal seen again: they do not double it (a run with 32 calls in flight would otherwise go
//! from 1 s to 64 s in one burst).

use std::num::NonZeroU32;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::error::{Error, ErrorCode};

/// The shortest and the longest pause after a 112 or 113.
const FIRST_PAUSE: Duration = Duration::from_secs(1);
const LONGEST_PAUSE: Duration = Duration::from_secs(64);

/// At most `calls` calls started in any `per` (bursts of up to `calls` allowed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    calls: NonZeroU32,
    per: Duration,
}

impl RateLimit {
    /// `calls` calls per `per`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] naming `rate_limit` for no calls or no time.
    pub fn new(calls: u32, per: Duration) -> Result<RateLimit, Error> {
        match NonZeroU32::new(calls) {
            Some(calls) if !per.is_zero() => Ok(RateLimit { calls, per }),
            _ => Err(Error::invalid_param(
                "rate_limit",
                format!("{calls} calls per {per:?}: both must be above zero"),
            )),
        }
    }

    /// `calls` calls per second.
    ///
    /// # Errors
    ///
    /// As [`RateLimit::new`].
    pub fn per_second(calls: u32) -> Result<RateLimit, Error> {
        RateLimit::new(calls, Duration::from_secs(1))
    }

    fn quota(self) -> Option<Quota> {
        let spacing = self.per / self.calls.get();
        Quota::with_period(spacing.max(Duration::from_nanos(1)))
            .map(|quota| quota.allow_burst(self.calls))
    }
}

/// Where the service's slowdown stands.
#[derive(Debug, Default)]
struct Slowdown {
    /// No call starts before this.
    until: Option<tokio::time::Instant>,
    /// When the pause in force began.
    began: Option<tokio::time::Instant>,
    /// The last pause, doubled by the next 112/113.
    pause: Duration,
}

/// The pace of one client and its clones.
#[derive(Default)]
pub(crate) struct Pace {
    limiter: Option<DefaultDirectRateLimiter>,
    slowdown: Mutex<Slowdown>,
}

impl std::fmt::Debug for Pace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pace")
            .field("limited", &self.limiter.is_some())
            .finish_non_exhaustive()
    }
}

impl Pace {
    pub(crate) fn new(limit: Option<RateLimit>) -> Pace {
        Pace {
            limiter: limit.and_then(RateLimit::quota).map(RateLimiter::direct),
            slowdown: Mutex::default(),
        }
    }

    /// Waits until a call may start: after the slowdown in force, in a slot of the rate limit.
    /// Returns when it started, for [`Pace::heed`].
    pub(crate) async fn admit(&self) -> tokio::time::Instant {
        loop {
            let until = self.lock().until;
            match until {
                Some(until) if until > tokio::time::Instant::now() => {
                    tokio::time::sleep_until(until).await;
                }
                _ => break,
            }
        }
        if let Some(limiter) = &self.limiter {
            limiter.until_ready().await;
        }
        tokio::time::Instant::now()
    }

    /// The service said 112 or 113 to a call that started at `sent` (unknown: `None`): every
    /// clone pauses, twice as long as the last time (or as long as `retry_after`, when longer).
    /// A call that started before the pause in force began was refused for the same reason:
    /// the pause stands (lengthened to `retry_after` if that asks for more). Returns the pause.
    pub(crate) fn slow_down(
        &self,
        retry_after: Option<Duration>,
        sent: Option<tokio::time::Instant>,
    ) -> Duration {
        let mut slowdown = self.lock();
        let now = tokio::time::Instant::now();
        let seen_already = match (sent, slowdown.began) {
            (Some(sent), Some(began)) => sent < began,
            _ => false,
        };
        if seen_already {
            if let Some(after) = retry_after {
                let until = now + after;
                if slowdown.until.is_none_or(|current| current < until) {
                    slowdown.until = Some(until);
                }
            }
            return slowdown.pause;
        }
        let doubled = (slowdown.pause * 2).clamp(FIRST_PAUSE, LONGEST_PAUSE);
        let pause = retry_after.map_or(doubled, |after| after.max(doubled));
        slowdown.pause = pause;
        slowdown.began = Some(now);
        slowdown.until = Some(now + pause);
        pause
    }

    /// Slows down for a 112 or 113 answer to a call that started at `sent`, relaxes for any
    /// other answer.
    pub(crate) fn heed<T>(
        &self,
        answer: &Result<T, Error>,
        retry_after: Option<Duration>,
        sent: tokio::time::Instant,
    ) {
        let slow_down = answer
            .as_ref()
            .err()
            .and_then(Error::code)
            .is_some_and(|code| {
                matches!(code, ErrorCode::ApplicationQuota | ErrorCode::ClientIpQuota)
            });
        match slow_down {
            true => {
                let pause = self.slow_down(retry_after, Some(sent));
                tracing::warn!(
                    pause_ms = pause.as_millis() as u64,
                    "the service asks to slow down"
                );
            }
            false => self.relax(),
        }
    }

    /// An answer other than 112/113 came: the next slowdown starts from the shortest pause.
    pub(crate) fn relax(&self) {
        self.lock().pause = Duration::ZERO;
    }

    /// The pause the last 112 or 113 started (zero once an answer relaxed it).
    pub(crate) fn last_pause(&self) -> Duration {
        self.lock().pause
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slowdown> {
        // The state is two plain values, consistent after any panic: poisoning is ignored.
        self.slowdown.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_limit_needs_calls_and_time() {
        assert!(RateLimit::new(0, Duration::from_secs(1)).is_err());
        assert!(RateLimit::new(5, Duration::ZERO).is_err());
        assert!(RateLimit::per_second(5).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn pauses_double_up_to_a_minute_and_start_over_after_an_answer() {
        let pace = Pace::new(None);
        assert_eq!(pace.slow_down(None, None), Duration::from_secs(1));
        assert_eq!(pace.slow_down(None, None), Duration::from_secs(2));
        assert_eq!(
            pace.slow_down(Some(Duration::from_secs(30)), None),
            Duration::from_secs(30)
        );
        for _ in 0..5 {
            pace.slow_down(None, None);
        }
        assert_eq!(pace.slow_down(None, None), LONGEST_PAUSE);
        let started = tokio::time::Instant::now();
        pace.admit().await;
        assert!(started.elapsed() >= LONGEST_PAUSE);
        pace.relax();
        assert_eq!(pace.slow_down(None, None), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn calls_in_flight_when_a_pause_began_do_not_double_it() {
        let pace = Pace::new(None);
        // Four calls go out together; all four are refused.
        let sent = pace.admit().await;
        tokio::time::advance(Duration::from_millis(5)).await;
        assert_eq!(pace.slow_down(None, Some(sent)), Duration::from_secs(1));
        for _ in 0..3 {
            tokio::time::advance(Duration::from_millis(1)).await;
            assert_eq!(pace.slow_down(None, Some(sent)), Duration::from_secs(1));
        }
        // A longer Retry-After from one of them still lengthens the pause in force.
        pace.slow_down(Some(Duration::from_secs(3)), Some(sent));
        let waited = tokio::time::Instant::now();
        let sent_again = pace.admit().await;
        assert!(waited.elapsed() >= Duration::from_secs(3));
        // A call sent after the pause and refused again doubles it.
        assert_eq!(
            pace.slow_down(None, Some(sent_again)),
            Duration::from_secs(2)
        );
    }
}
