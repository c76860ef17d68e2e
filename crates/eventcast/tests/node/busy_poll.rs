//! `Config::busy_poll`: a node whose task polls its socket before parking
//! still delivers every event in order, polls only after it emitted, only
//! while listeners and no subscription take its events and only on the
//! multi-thread runtime, and counts its polls. It polls by default.
//! (What the polls save is measured by `eventcast bench --busy-poll`, not
//! here: tests assert behaviour, not time.)
#![allow(clippy::unwrap_used)]

use std::sync::mpsc;
use std::time::Duration;

use crate::common::*;
use eventcast::{Config, Eventcast};

const WINDOW: Duration = Duration::from_micros(200);
const ROUND_TRIPS: i64 = 200;

fn polling(port: u16) -> Config {
    config(port).busy_poll(WINDOW)
}

/// `b` answers every `ping` with a `pong` from a listener; `a`'s `pong`
/// listener sends the next ping from there. Returns the sequence numbers
/// `a` got back, in order.
async fn ping_pong_between_listeners(a: &Eventcast, b: &Eventcast) -> Vec<i64> {
    let answer = b.clone();
    b.on("ping", move |event| {
        answer.forward("pong", event).unwrap();
    })
    .unwrap();
    let (tx, rx) = mpsc::channel();
    let next = a.clone();
    a.on("pong", move |event| {
        let n = event.arg::<i64>(0).unwrap();
        tx.send(n).unwrap();
        if n + 1 < ROUND_TRIPS {
            next.emit("ping", &(n + 1,)).unwrap();
        }
    })
    .unwrap();
    // Each node listens before the other's first event: it is owed
    // everything from there on.
    a.emit("ping", &(0i64,)).unwrap();
    let got = tokio::task::spawn_blocking(move || {
        (0..ROUND_TRIPS)
            .map(|_| rx.recv_timeout(TIMEOUT).expect("a pong"))
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    a.remove_all_listeners(None);
    b.remove_all_listeners(None);
    got
}

async fn round_trips(runtime_polls: bool) {
    let nodes = start_nodes(2, &polling(free_port())).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let got = ping_pong_between_listeners(a, b).await;
    assert_eq!(got, (0..ROUND_TRIPS).collect::<Vec<_>>());
    stop_all(&nodes).await;
    for node in &nodes {
        let stats = node.stats();
        assert_nothing_dropped(&stats.protocol);
        if runtime_polls {
            assert!(stats.busy_polls > 0, "no poll: {stats:?}");
        } else {
            assert_eq!(stats.busy_polls, 0, "{stats:?}");
        }
    }
}

#[test]
fn round_trips_between_listeners_arrive_whole_and_in_order_and_the_polls_are_counted() {
    netns_test::run(|| block_on(round_trips(true)));
}

#[test]
fn a_current_thread_runtime_never_polls() {
    netns_test::run(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(round_trips(false))
    });
}

/// By default a node polls after it answered, and a node whose listener
/// only takes the events in never polls.
async fn only_a_node_that_answers_polls() {
    let nodes = start_nodes(3, &config(free_port())).await;
    let (a, b, c) = (&nodes[0], &nodes[1], &nodes[2]);
    let (tx, rx) = mpsc::channel();
    c.on("ping", move |_| {
        let _ = tx.send(());
    })
    .unwrap();
    let got = ping_pong_between_listeners(a, b).await;
    assert_eq!(got, (0..ROUND_TRIPS).collect::<Vec<_>>());
    tokio::task::block_in_place(|| {
        for _ in 0..ROUND_TRIPS {
            rx.recv_timeout(TIMEOUT)
                .expect("every ping at the third node");
        }
    });
    c.remove_all_listeners(None);
    stop_all(&nodes).await;
    for node in [a, b] {
        assert!(node.stats().busy_polls > 0, "no poll: {:?}", node.stats());
    }
    assert_eq!(c.stats().busy_polls, 0, "{:?}", c.stats());
}

#[test]
fn by_default_a_node_polls_after_it_answers_and_only_then() {
    netns_test::run(|| block_on(only_a_node_that_answers_polls()));
}

/// While a subscription is open the node parks at once; once it is
/// dropped, and only listeners are left (which answer), it polls. A node
/// that only sends never polls.
async fn subscriptions_stop_the_polls() {
    let nodes = start_nodes(2, &polling(free_port())).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let mut sub = b.subscribe_to(["n"]).unwrap();
    for i in 0..50 {
        a.emit("n", &(i,)).unwrap();
        assert_eq!(next_remote(&mut sub).await.arg::<i32>(0).unwrap(), i);
    }
    assert_eq!(b.stats().busy_polls, 0);
    drop(sub);
    let (tx, rx) = mpsc::channel();
    let answer = b.clone();
    b.on("n", move |event| {
        tx.send(event.arg::<i32>(0).unwrap()).unwrap();
        answer.emit("ack", &()).unwrap();
    })
    .unwrap();
    for i in 50..100 {
        a.emit("n", &(i,)).unwrap();
        let got = tokio::task::block_in_place(|| rx.recv_timeout(TIMEOUT).unwrap());
        assert_eq!(got, i);
    }
    b.remove_all_listeners(None);
    stop_all(&nodes).await;
    assert!(b.stats().busy_polls > 0, "{:?}", b.stats());
    assert_eq!(a.stats().busy_polls, 0, "{:?}", a.stats());
}

#[test]
fn an_open_subscription_stops_the_polls() {
    netns_test::run(|| block_on(subscriptions_stop_the_polls()));
}

#[test]
fn a_multi_thread_runtime_of_one_worker_never_polls() {
    netns_test::run(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(round_trips(false))
    });
}

/// How the task held up behind `a`'s node task is started.
#[derive(Clone, Copy)]
enum Start {
    /// Spawned by `a`'s listener.
    Spawned,
    /// Spawned before the chain, waiting on a channel that `a`'s listener
    /// sends on.
    Woken,
}

/// An endless chain of round trips between two listener nodes: a task
/// that `a`'s listener spawns or wakes (`start`) should run soon,
/// although `a`'s task never waits. `a`'s listener emits the next ping
/// and then waits long enough (2 ms) for the pong to be in the socket
/// before its node looks, so that every turn finds its datagram at once.
/// Returns how many more pongs `a` took before that task ran.
///
/// On a multi-thread runtime the task lands in the LIFO slot of `a`'s
/// worker, which no other worker takes from; before the node's task gave
/// way (`give_way.rs`) it waited for a turn that found nothing, which only
/// a pong slower than the sleep brings: 1,400 round trips and more, about
/// 7 s, in two runs of three.
async fn pongs_before_a_task_runs(a: &Eventcast, b: &Eventcast, start: Start) -> i64 {
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::{Arc, Mutex};
    const AT: i64 = 100;
    let answer = b.clone();
    b.on("ping", move |event| {
        let _ = answer.forward("pong", event);
    })
    .unwrap();
    let (tx, rx) = mpsc::channel();
    let latest = Arc::new(AtomicI64::new(0));
    let report = {
        let latest = latest.clone();
        move || {
            let _ = tx.send(latest.load(Ordering::Relaxed) - AT);
        }
    };
    // What `a`'s listener does at the `AT`th pong.
    let start_it: Box<dyn FnOnce() + Send> = match start {
        Start::Spawned => Box::new(move || drop(tokio::spawn(async move { report() }))),
        Start::Woken => {
            let (go, waiting) = tokio::sync::oneshot::channel::<()>();
            tokio::spawn(async move {
                if waiting.await.is_ok() {
                    report();
                }
            });
            Box::new(move || {
                let _ = go.send(());
            })
        }
    };
    let start_it = Mutex::new(Some(start_it));
    let next = a.clone();
    a.on("pong", move |event| {
        let n = event.arg::<i64>(0).unwrap();
        latest.store(n, Ordering::Relaxed);
        if n == AT {
            if let Some(start_it) = start_it.lock().unwrap().take() {
                start_it();
            }
        }
        let _ = next.emit("ping", &(n + 1,));
        std::thread::sleep(Duration::from_millis(2));
    })
    .unwrap();
    a.emit("ping", &(0i64,)).unwrap();
    let ran = tokio::task::spawn_blocking(move || rx.recv_timeout(TIMEOUT)).await;
    a.remove_all_listeners(None);
    b.remove_all_listeners(None);
    ran.unwrap().expect("the held-up task ran")
}

/// At most this many pongs before the held-up task runs: the node's task
/// gives way after 1 ms without a wait, and every pong takes 2 ms.
const PONGS_BEFORE_IT_RUNS: i64 = 8;

/// `a` and `b` on a multi-thread runtime of two workers, polling.
fn chain_on_two_workers(start: Start) -> i64 {
    block_on(async {
        let config = config(free_port()).busy_poll(eventcast::MAX_BUSY_POLL);
        let nodes = start_nodes(2, &config).await;
        let pongs = pongs_before_a_task_runs(&nodes[0], &nodes[1], start).await;
        stop_all(&nodes).await;
        pongs
    })
}

/// Fails unless at most [`PONGS_BEFORE_IT_RUNS`] pongs came before the
/// held-up task (`what`) ran.
fn assert_soon(pongs: i64, what: &str) {
    assert!(
        pongs <= PONGS_BEFORE_IT_RUNS,
        "{pongs} pongs came before the {what} task ran"
    );
}

#[test]
fn a_chain_of_polls_lets_the_workers_other_tasks_run_too() {
    netns_test::run(|| assert_soon(chain_on_two_workers(Start::Spawned), "spawned"));
}

#[test]
fn a_chain_of_polls_lets_a_task_its_listener_woke_run() {
    netns_test::run(|| assert_soon(chain_on_two_workers(Start::Woken), "woken"));
}

/// The same chain with `a` on a runtime of one thread (`b` on a runtime
/// of its own, so that its answers come while `a` holds its thread):
/// there no other worker takes what the node's task holds up, and the
/// task yields.
#[test]
fn a_chain_of_replies_lets_a_current_thread_runtimes_other_tasks_run() {
    netns_test::run(|| {
        let config = config(free_port());
        let answering = config.clone();
        let (b_tx, b_rx) = mpsc::channel();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        let b_thread = std::thread::spawn(move || {
            block_on(async move {
                let b = start_nodes(1, &answering).await.remove(0);
                b_tx.send(b.clone()).unwrap();
                let _ = done_rx.await;
                b.stop().await;
            })
        });
        let b = b_rx.recv_timeout(TIMEOUT).expect("b started");
        let pongs = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(async {
                let a = start_nodes(1, &config).await.remove(0);
                let pongs = pongs_before_a_task_runs(&a, &b, Start::Spawned).await;
                a.stop().await;
                pongs
            });
        let _ = done_tx.send(());
        b_thread.join().unwrap();
        assert_soon(pongs, "spawned");
    });
}
