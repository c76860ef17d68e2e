//! The first half of the operator's walkthrough: a node that emits a
//! timestamped `tick` event every few seconds.
//!
//! ```sh
//! cargo run -p eventcast --example ticker -- 41234 3   # port, seconds between ticks
//! ```
//!
//! Run it beside `console` (the other half), on the same port. On a shared
//! machine, run both inside one private network namespace:
//! `scripts/netns sh -c 'ticker & console'` (see the README).

use std::time::Duration;

use eventcast::bson::DateTime;
use eventcast::{Config, Eventcast};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().map_or(Ok(41234), |a| a.parse())?;
    let every: f64 = args.next().map_or(Ok(3.0), |a| a.parse())?;

    let node = Eventcast::new(Config::default().port(port))?;
    node.start().await?;
    println!(
        "ticker {} on port {port}: a tick every {every} s",
        node.id()
    );

    let mut interval = tokio::time::interval(Duration::try_from_secs_f64(every)?);
    let mut count: i64 = 0;
    loop {
        tokio::select! {
            _ = interval.tick() => {
                count += 1;
                let now = DateTime::now();
                node.emit("tick", &(now, count))?;
                println!("tick {count} at {}", now.try_to_rfc3339_string()?);
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    node.stop().await;
    Ok(())
}
