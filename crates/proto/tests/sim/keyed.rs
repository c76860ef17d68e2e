//! The simulation with a group key: sealed endpoints (the handshake on, as
//! by default), and an attacker who replays datagrams it captured.

use eventcast_proto::crypto::{Encryption, InsecureSeededNonces, Key, Keyring};
use eventcast_proto::{Config, Endpoint, SenderId};

use crate::world::World;

/// The group key of every sealed simulation.
pub(crate) fn group_key() -> Key {
    Key::from_bytes([0x5A; 16])
}

/// A sealed endpoint with id `id`, its nonces seeded by `seed` and `id`.
fn sealed_endpoint(config: &Config, id: u64, seed: u64) -> Endpoint {
    let encryption = Encryption::new(
        Keyring::with_primary(group_key()),
        InsecureSeededNonces::new(seed ^ (id << 32)),
    );
    Endpoint::with_encryption(config.clone(), SenderId::new(id), encryption).expect("valid config")
}

impl World {
    /// `n` sealed endpoints (ids 1..=n), every link `link`.
    pub(crate) fn sealed(n: usize, config: &Config, link: crate::world::Link, seed: u64) -> Self {
        let mut w = World::new(n, config, link, seed);
        let now = w.now;
        for i in 0..n {
            let mut e = sealed_endpoint(config, i as u64 + 1, seed * 1000 + i as u64);
            e.handle_join(now);
            w.nodes[i] = e;
        }
        w
    }

    /// Replaces node `i` by a fresh sealed endpoint with id `id`, joined
    /// now (a node that starts, or restarts, later).
    pub(crate) fn restart_sealed(&mut self, i: usize, config: &Config, id: u64) {
        let mut e = sealed_endpoint(config, id, id);
        e.handle_join(self.now);
        self.nodes[i] = e;
        // What the earlier node delivered is not the new one's.
        self.events[i].clear();
    }

    /// The attacker: hands `datagrams` to node `i` now, as if they came
    /// from the network, and lets the world take what it answers.
    pub(crate) fn inject(&mut self, i: usize, datagrams: &[Vec<u8>]) {
        let from = std::net::SocketAddr::from(([192, 0, 2, 66], 6666));
        for d in datagrams {
            self.nodes[i].handle_datagram(self.now, from, d);
        }
        self.settle();
    }
}
