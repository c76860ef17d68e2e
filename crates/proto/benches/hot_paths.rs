//! Criterion benchmarks of the protocol core's hot paths: the BSON body
//! (encode, decode), segmentation (`Endpoint::emit_body`), reassembly
//! (`Endpoint::handle_datagram` over every segment of a 1 MiB message), a
//! burst of small events received (`receive_burst`), and
//! the data frame header (parse, write), and sealing and opening one
//! datagram under a group key (AES-128-GCM).
//!
//! `cargo bench -p eventcast-proto` runs them all; `cargo bench -p
//! eventcast-proto -- reassemble` one group. `cargo test` compiles them but
//! does not run them (`--benches` would, once each, quickly).
//!
#![allow(missing_docs)] // criterion_main! generates an undocumented `main`.

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::Instant;

use bson::Bson;
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use eventcast_proto::crypto::{Encryption, InsecureSeededNonces, Key, Keyring};
use eventcast_proto::wire::{DataFrame, DataHeader, Flags, DATA_HEADER_LEN};
use eventcast_proto::{
    decode_body, encode_body, Config, Endpoint, EndpointEvent, MessageSeq, SegmentIndex, SenderId,
};

/// Argument sizes: a small event, one datagram's worth, a large event.
const SIZES: [(&str, usize); 3] = [("64B", 64), ("1KiB", 1024), ("1MiB", 1 << 20)];

/// The event the bench sends: one string argument of `len` bytes.
fn args(len: usize) -> Vec<Bson> {
    vec![Bson::String("x".repeat(len))]
}

fn body(len: usize) -> Vec<u8> {
    encode_body("bench", &args(len)).expect("encodable")
}

fn bench_encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode_body");
    for (label, len) in SIZES {
        let args = args(len);
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_with_input(BenchmarkId::from_parameter(label), &args, |b, args| {
            b.iter(|| encode_body(black_box("bench"), black_box(args)))
        });
    }
    group.finish();
}

fn bench_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode_body");
    for (label, len) in SIZES {
        let body = body(len);
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_with_input(BenchmarkId::from_parameter(label), &body, |b, body| {
            b.iter(|| decode_body(black_box(body)))
        });
    }
    group.finish();
}

/// Segmentation: an already encoded body cut into datagrams (the
/// endpoint's transmit queue drained, as the driver does).
fn bench_segment(c: &mut Criterion) {
    let mut group = c.benchmark_group("emit_segment");
    for (label, len) in SIZES {
        let body = body(len);
        let mut endpoint = Endpoint::new(Config::default(), SenderId::new(1)).expect("config");
        endpoint.set_paced(false);
        group.throughput(Throughput::Bytes(len as u64));
        let mut buf = Vec::new();
        group.bench_with_input(BenchmarkId::from_parameter(label), &body, |b, body| {
            b.iter(|| {
                endpoint
                    .emit_body(black_box(body.as_slice()))
                    .expect("emit");
                let mut datagrams = 0usize;
                while let Some(t) = endpoint.poll_transmit(Instant::now(), &mut buf) {
                    datagrams += black_box(t.size);
                }
                datagrams
            })
        });
    }
    group.finish();
}

/// Reassembly: every segment of one 1 MiB message (1,025 datagrams of
/// 1,057 bytes at the default `max_payload_size`) fed to a fresh receiver,
/// the event decoded and delivered.
fn bench_reassemble(c: &mut Criterion) {
    let mut group = c.benchmark_group("reassemble");
    group.sample_size(30);
    let len = 1 << 20;
    let mut sender = Endpoint::new(Config::default(), SenderId::new(1)).expect("config");
    sender.set_paced(false);
    sender.emit_body(body(len)).expect("emit");
    let mut buf = Vec::new();
    let datagrams: Vec<Vec<u8>> = std::iter::from_fn(|| {
        sender
            .poll_transmit(Instant::now(), &mut buf)
            .map(|_| buf.clone())
    })
    .collect();
    let from: SocketAddr = "127.0.0.1:4000".parse().expect("address");
    let now = Instant::now();
    group.throughput(Throughput::Bytes(len as u64));
    group.bench_function("1MiB", |b| {
        b.iter_batched(
            || Endpoint::new(Config::default(), SenderId::new(2)).expect("config"),
            |mut receiver| {
                for d in &datagrams {
                    receiver.handle_datagram(now, from, black_box(d));
                }
                match receiver.poll_event() {
                    Some(EndpointEvent::Message(m)) => m.args.len(),
                    other => panic!("the message was not delivered: {other:?}"),
                }
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

/// Small events in a burst: 1,000 events of one 64-byte string argument,
/// batched by the sender into datagrams of the default `max_payload_size`,
/// fed to a fresh receiver and every message taken (figure 1's receiver,
/// without the socket and the runtime).
fn bench_receive_burst(c: &mut Criterion) {
    const EVENTS: usize = 1_000;
    let mut group = c.benchmark_group("receive_burst");
    let mut sender = Endpoint::new(Config::default(), SenderId::new(1)).expect("config");
    sender.set_paced(false);
    let body = body(64);
    let mut buf = Vec::new();
    let mut datagrams: Vec<Vec<u8>> = Vec::new();
    // All emitted before any is sent: the queue goes out in batches, as a
    // burst does.
    for _ in 0..EVENTS {
        sender.emit_body(body.as_slice()).expect("emit");
    }
    while sender.poll_transmit(Instant::now(), &mut buf).is_some() {
        datagrams.push(buf.clone());
    }
    // (112 datagrams when written: about 9 events each.)
    assert!(datagrams.len() < EVENTS / 4, "batched: {}", datagrams.len());
    let from: SocketAddr = "127.0.0.1:4000".parse().expect("address");
    let now = Instant::now();
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("64B", |b| {
        b.iter_batched(
            || Endpoint::new(Config::default(), SenderId::new(2)).expect("config"),
            |mut receiver| {
                let mut messages = 0;
                for d in &datagrams {
                    receiver.handle_datagram(now, from, black_box(d));
                    while let Some(event) = receiver.poll_event() {
                        messages += usize::from(matches!(event, EndpointEvent::Message(_)));
                    }
                }
                assert_eq!(messages, EVENTS, "every event delivered");
                // Returned, so that dropping it is not measured.
                receiver
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

/// The data frame's 33-byte header: written, and parsed (with its geometry
/// checks) from a full 1,057-byte datagram.
fn bench_header(c: &mut Criterion) {
    let mut group = c.benchmark_group("header");
    let header = DataHeader {
        flags: Flags::empty(),
        sender: SenderId::new(0x0102_0304_0506_0708),
        seq: MessageSeq::new(42),
        index: SegmentIndex::new(3),
        count: 1025,
        message_len: (1 << 20) + 22,
    };
    let mut datagram = Vec::new();
    header.write(&mut datagram);
    datagram.resize(DATA_HEADER_LEN + 1024, 0xAB);
    group.bench_function("write", |b| {
        let mut out = Vec::with_capacity(DATA_HEADER_LEN);
        b.iter(|| {
            out.clear();
            black_box(&header).write(&mut out);
            out.len()
        })
    });
    group.bench_function("parse", |b| {
        b.iter(|| DataFrame::parse(black_box(&datagram)).map(|f| f.payload().len()))
    });
    group.finish();
}

/// An unpaced endpoint that seals with a fixed key (nonces seeded: the
/// cost of the OS generator is not what is measured here).
fn sealing(id: u64) -> Endpoint {
    let ring = Keyring::with_primary(Key::from_bytes([7; 16]));
    let enc = Encryption::new(ring, InsecureSeededNonces::new(id));
    let mut e =
        Endpoint::with_encryption(Config::default(), SenderId::new(id), enc).expect("config");
    e.set_paced(false);
    e
}

fn bench_seal_open(c: &mut Criterion) {
    let mut group = c.benchmark_group("seal_open");
    for (label, len) in [("64B", 64), ("1KiB", 1024 - 64)] {
        let body = body(len);
        let mut tx = sealing(1);
        group.throughput(Throughput::Bytes(body.len() as u64));
        // Segment (one datagram) and seal it.
        let mut buf = Vec::new();
        group.bench_with_input(BenchmarkId::new("seal", label), &body, |b, body| {
            b.iter(|| {
                tx.emit_body(black_box(body.as_slice())).expect("emit");
                tx.poll_transmit(Instant::now(), &mut buf).map(|t| t.size)
            })
        });
        // Open, check the replay window and deliver: a fresh receiver per
        // batch of datagrams, each datagram used once (a replay is refused).
        let from: SocketAddr = "127.0.0.1:4000".parse().expect("address");
        group.bench_with_input(BenchmarkId::new("open", label), &body, |b, body| {
            b.iter_batched(
                || {
                    let mut tx = sealing(2);
                    tx.emit_body(body.as_slice()).expect("emit");
                    let mut datagram = Vec::new();
                    tx.poll_transmit(Instant::now(), &mut datagram)
                        .expect("sealed");
                    (sealing(3), datagram)
                },
                |(mut rx, datagram)| {
                    rx.handle_datagram(Instant::now(), from, black_box(&datagram));
                    let delivered = rx.poll_event().is_some();
                    // Returned, so that dropping them is not measured.
                    (rx, datagram, delivered)
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    bench_seal_open,
    bench_encode,
    bench_decode,
    bench_segment,
    bench_reassemble,
    bench_receive_burst,
    bench_header
);
criterion_main!(benches);
