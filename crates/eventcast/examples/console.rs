//! The second half of the operator's walkthrough: a node with the REPL, its
//! log on stderr at levels the operator changes from the REPL.
//!
//! ```sh
//! cargo run -p eventcast --example console -- 41234 20001   # port, REPL port
//! telnet 127.0.0.1 20001
//! eventcast@host> on tick
//! eventcast@host> emit hello world
//! eventcast@host> log-level debug       # sends and receipts now show in the log
//! ```
//!
//! The library never installs a logging subscriber: this program does,
//! with the node's [`LogFilter`](eventcast::logging::LogFilter), so the
//! REPL's `log-level` takes effect at once.

use std::io::IsTerminal as _;

use eventcast::{Config, Eventcast, Notice};
use tracing_subscriber::prelude::*;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().map_or(Ok(41234), |a| a.parse())?;
    let repl_port: Option<u16> = args.next().map(|a| a.parse()).transpose()?;

    let mut config = Config::default().port(port).repl_enabled(true).log(true);
    if let Some(repl_port) = repl_port {
        config = config.repl_port(repl_port);
    }
    let node = Eventcast::new(config)?;
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::stderr().is_terminal())
                .with_filter(node.log_levels().filter()),
        )
        .init();
    node.on_notice(|notice| match notice {
        Notice::ReplClientConnected { addr, clients } => {
            eprintln!("operator connected from {addr} ({clients} connected)")
        }
        Notice::ReplClientDisconnected { addr, clients } => {
            eprintln!("operator at {addr} left ({clients} connected)")
        }
        _ => {}
    });

    node.start().await?;
    let repl = node.repl().addr().ok_or("the REPL did not open")?;
    println!("console {} on port {port}", node.id());
    println!("REPL on {repl}: telnet {} {}", repl.ip(), repl.port());

    tokio::signal::ctrl_c().await?;
    node.stop().await;
    node.repl().close().await;
    Ok(())
}
