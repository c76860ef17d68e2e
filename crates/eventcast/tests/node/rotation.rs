//! A group of three rotates its key while every node keeps emitting: add
//! the new key on every node, make it primary on every node, remove the old
//! one on every node. Every event emitted during the rotation arrives at
//! every other node, and no node reports anything unreadable.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::common::*;
use eventcast::{Eventcast, Key, Notice};

#[test]
fn rotation_loses_nothing() {
    netns_test::run(|| {
        block_on(async {
            let port = free_port();
            let old = Key::from_bytes([0x01; 16]);
            let new = Key::from_bytes([0x02; 16]);
            let nodes = start_nodes(3, &config(port).key(old.clone())).await;
            let mut subs: Vec<_> = nodes.iter().map(Eventcast::subscribe).collect();
            let mut notices: Vec<_> = nodes.iter().map(Eventcast::notices).collect();
            let stop = Arc::new(AtomicBool::new(false));
            let mut emitters = Vec::new();
            for (i, node) in nodes.iter().enumerate() {
                let (node, stop) = (node.clone(), stop.clone());
                emitters.push(tokio::spawn(async move {
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        // Some events span several datagrams.
                        let pad = "p".repeat(if n % 5 == 0 { 3000 } else { 10 });
                        node.emit("tick", &(i as u64, n, pad)).unwrap();
                        n += 1;
                        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                    }
                    n
                }));
            }
            let pause = || tokio::time::sleep(std::time::Duration::from_millis(30));
            for node in &nodes {
                node.keys().add(new.clone()).await.unwrap();
                pause().await;
            }
            for node in &nodes {
                node.keys().set_primary(new.fingerprint()).await.unwrap();
                pause().await;
            }
            for node in &nodes {
                node.keys().remove(old.fingerprint()).await.unwrap();
                pause().await;
            }
            stop.store(true, Ordering::Relaxed);
            let mut sent = Vec::new();
            for e in emitters {
                sent.push(e.await.unwrap());
            }
            // Every node hears every other node's every tick, in order.
            for (me, sub) in subs.iter_mut().enumerate() {
                let mut next = [0u64; 3];
                let others: u64 = (0..3).filter(|&j| j != me).map(|j| sent[j]).sum();
                for _ in 0..others {
                    let e = next_remote(sub).await;
                    let (from, n, _): (u64, u64, String) = e.args().unwrap();
                    assert_eq!(n, next[from as usize], "node {me} missed a tick of {from}");
                    next[from as usize] += 1;
                }
            }
            for (node, notices) in nodes.iter().zip(&mut notices) {
                while let Ok(n) = notices.try_recv() {
                    assert!(!matches!(n, Notice::ProtocolError(_)), "{n:?}");
                }
                let s = node.stats().protocol;
                assert_nothing_dropped(&s);
                let keys = node.keys().list().await.unwrap();
                assert_eq!(keys.len(), 1);
                assert_eq!(keys[0].fingerprint, new.fingerprint());
            }
            stop_all(&nodes).await;
        })
    });
}
