//! Nonces from the operating system's CSPRNG, for the endpoint's sealing.

use eventcast_proto::crypto::{NonceSource, NonceUnavailable};
use eventcast_proto::wire::NONCE_LEN;

/// Nonces fetched from the OS generator (`getrandom`) 64 at a time, each
/// handed out once: 96 fresh random bits per datagram with one system call
/// per 64 datagrams.
pub(crate) struct OsNonces {
    buf: [u8; NONCE_LEN * Self::BATCH],
    next: usize,
}

impl OsNonces {
    const BATCH: usize = 64;

    pub(crate) fn new() -> Self {
        Self {
            buf: [0; NONCE_LEN * Self::BATCH],
            next: Self::BATCH,
        }
    }
}

impl NonceSource for OsNonces {
    fn fill(&mut self, nonce: &mut [u8; NONCE_LEN]) -> Result<(), NonceUnavailable> {
        if self.next == Self::BATCH {
            getrandom::fill(&mut self.buf).map_err(|_| NonceUnavailable)?;
            self.next = 0;
        }
        let at = self.next * NONCE_LEN;
        nonce.copy_from_slice(&self.buf[at..at + NONCE_LEN]);
        // Never hand the same bytes out twice, even after a failed refill.
        self.buf[at..at + NONCE_LEN].fill(0);
        self.next += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn a_million_os_nonces_are_distinct() {
        let mut source = OsNonces::new();
        let mut seen = HashSet::with_capacity(1_000_000);
        for i in 0..1_000_000 {
            let mut nonce = [0u8; NONCE_LEN];
            source.fill(&mut nonce).expect("OS randomness");
            assert!(seen.insert(nonce), "nonce repeated at {i}");
        }
    }
}
