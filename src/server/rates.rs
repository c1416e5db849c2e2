//! The emulator's request quotas (off unless configured): calls per second per application key
//! (error 112) and per client address (error 113), counted in one-second windows before any
//! credential is checked. What the counting may hold is bounded: beyond [`MAX_TRACKED`] keys or
//! addresses in one second, the newcomers share one count.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};

use crate::error::{ApiError, ErrorCode};

/// The most keys (and addresses) counted apart within one second.
pub(crate) const MAX_TRACKED: usize = 10_000;

/// Counts in the current second.
#[derive(Debug, Default)]
struct Window {
    second: u64,
    keys: HashMap<String, u32>,
    addresses: HashMap<IpAddr, u32>,
    /// Calls of keys and addresses beyond those counted apart.
    overflow_keys: u32,
    overflow_addresses: u32,
}

/// The configured quotas and their counts.
#[derive(Debug, Default)]
pub(crate) struct Rates {
    per_key: Option<u32>,
    per_address: Option<u32>,
    window: Mutex<Window>,
}

/// Adds one call to `key`'s count (or to the shared overflow count) and returns it.
fn count<K: std::hash::Hash + Eq>(counts: &mut HashMap<K, u32>, overflow: &mut u32, key: K) -> u32 {
    if let Some(count) = counts.get_mut(&key) {
        *count = count.saturating_add(1);
        return *count;
    }
    if counts.len() >= MAX_TRACKED {
        *overflow = overflow.saturating_add(1);
        return *overflow;
    }
    counts.insert(key, 1);
    1
}

impl Rates {
    /// At most `per_key` calls a second per application key, `per_address` per client address.
    pub(crate) fn new(per_key: Option<u32>, per_address: Option<u32>) -> Rates {
        Rates {
            per_key,
            per_address,
            window: Mutex::default(),
        }
    }

    /// Counts a call of `api_key` from `address` at `second`: 113 when the address is over its
    /// quota, 112 when the key is.
    pub(crate) fn admit(
        &self,
        api_key: Option<&str>,
        address: Option<IpAddr>,
        second: u64,
    ) -> Result<(), ApiError> {
        if self.per_key.is_none() && self.per_address.is_none() {
            return Ok(());
        }
        let mut window = self.window.lock().unwrap_or_else(PoisonError::into_inner);
        if window.second != second {
            *window = Window {
                second,
                ..Window::default()
            };
        }
        let window = &mut *window;
        if let (Some(limit), Some(address)) = (self.per_address, address)
            && count(
                &mut window.addresses,
                &mut window.overflow_addresses,
                address,
            ) > limit
        {
            return Err(ApiError::global(ErrorCode::ClientIpQuota));
        }
        if let (Some(limit), Some(key)) = (self.per_key, api_key)
            && count(&mut window.keys, &mut window.overflow_keys, key.to_owned()) > limit
        {
            return Err(ApiError::global(ErrorCode::ApplicationQuota));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_and_address_has_its_quota_per_second() {
        let rates = Rates::new(Some(2), Some(3));
        let here: IpAddr = [127, 0, 0, 1].into();
        let there: IpAddr = [127, 0, 0, 2].into();
        assert!(rates.admit(Some("a"), Some(here), 10).is_ok());
        assert!(rates.admit(Some("a"), Some(here), 10).is_ok());
        let refused = rates.admit(Some("a"), Some(there), 10).unwrap_err();
        assert_eq!(refused.code, ErrorCode::ApplicationQuota);
        assert!(
            rates.admit(Some("b"), Some(here), 10).is_ok(),
            "the address's 3rd call"
        );
        assert_eq!(
            rates.admit(Some("b"), Some(here), 10).unwrap_err().code,
            ErrorCode::ClientIpQuota
        );
        assert!(
            rates.admit(Some("a"), Some(here), 11).is_ok(),
            "a new second"
        );
        assert!(
            Rates::default().admit(Some("a"), None, 1).is_ok(),
            "off by default"
        );
    }

    #[test]
    fn newcomers_beyond_the_tracked_ones_share_one_count() {
        let rates = Rates::new(Some(1), None);
        for n in 0..MAX_TRACKED {
            assert!(rates.admit(Some(&format!("k{n}")), None, 1).is_ok());
        }
        assert!(rates.admit(Some("new-1"), None, 1).is_ok());
        assert!(rates.admit(Some("new-2"), None, 1).is_err());
        let window = rates.window.lock().unwrap();
        assert_eq!(window.keys.len(), MAX_TRACKED);
    }
}
