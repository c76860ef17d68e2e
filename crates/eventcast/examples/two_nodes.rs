//! Two nodes in one process exchange a small and a large event.
//!
//! Run it where multicast works (on a shared machine, inside a private
//! network namespace: `scripts/netns cargo run -p eventcast --example two_nodes`).

use std::time::Duration;

use eventcast::{Config, Eventcast};

#[tokio::main]
async fn main() -> Result<(), eventcast::Error> {
    let config = Config::default().port(41234).multicast_ttl(0);
    let alice = Eventcast::new(config.clone())?;
    let bob = Eventcast::new(config)?;
    alice.start().await?;
    bob.start().await?;

    let mut events = bob.subscribe();
    alice.emit("greet", &("hello", "bob"))?;
    alice.emit("blob", &("x".repeat(1 << 20),))?;

    for _ in 0..2 {
        match tokio::time::timeout(Duration::from_secs(5), events.recv()).await {
            Ok(Some(event)) => println!(
                "bob got {:?} with {} argument(s) from {} ({:?})",
                event.name(),
                event.raw_args().len(),
                event.sender(),
                event.from()
            ),
            _ => println!("bob got nothing"),
        }
    }
    println!("bob's stats: {:?}", bob.stats());
    alice.stop().await;
    bob.stop().await;
    Ok(())
}
