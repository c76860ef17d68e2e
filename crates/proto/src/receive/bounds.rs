//! The arithmetic of the plausibility bounds (see `plausible`): how far
//! past a sender's known lead a seq may be, and how fast a stream is taken
//! to advance. A leaf: it imports nothing of the core.

use std::time::Instant;

/// How far past a sender's known lead a seq may be.
pub(crate) const AHEAD: u64 = 1 << 16;

/// The most messages per second a stream is taken to advance by: well
/// above what a sender reaches (eventcast sends about 400,000 small events
/// a second on a 2-core machine, batched). At 2^17 a burst of small events
/// outran it within a second and was dropped, silently, as implausible.
pub(crate) const MAX_RATE: u64 = 1 << 22;

/// What `MAX_RATE` allows over the time from `since` to `now`.
pub(crate) fn allowance(since: Instant, now: Instant) -> u64 {
    let elapsed = now.saturating_duration_since(since);
    // In u64 while it fits (every datagram asks, and a u128 division was
    // a percent of a small event's receiving), as in u128 beyond.
    let ms = elapsed
        .as_secs()
        .checked_mul(1000)
        .and_then(|ms| ms.checked_add(u64::from(elapsed.subsec_millis())))
        .and_then(|ms| ms.checked_mul(MAX_RATE));
    match ms {
        Some(allowed) => allowed / 1000,
        None => {
            let ms = elapsed.as_millis();
            u64::try_from(ms.saturating_mul(u128::from(MAX_RATE)) / 1000).unwrap_or(u64::MAX)
        }
    }
}
