//! `eventcast bridge`: joins this LAN to a NATS server, both ways, until
//! Ctrl-C or SIGTERM (which flush the outage buffer first).

mod args;

use std::process::ExitCode;

use eventcast_bridge::{Bridge, BridgeNotice};
use tokio::sync::broadcast::error::RecvError;

use crate::common::UsageError;
use crate::running::Running;

pub(crate) use args::Args;

/// Runs `eventcast bridge`.
pub(crate) async fn run(args: Args) -> anyhow::Result<ExitCode> {
    // Every setting, event pattern and file is checked before anything
    // starts.
    let bridge_config = args.bridge_config()?;
    args::check_files(&bridge_config).await?;
    let node = args.node.new_node()?;
    let mut node_notices = node.notices();
    let servers = bridge_config.servers.join(",");
    let running = Running::start(&node, args.node.net.port.is_some(), "LAN", "").await?;
    let bridge = Bridge::start(&node, bridge_config)
        .await
        .map_err(|e| match e {
            eventcast_bridge::Error::Config(_)
            | eventcast_bridge::Error::File { .. }
            | eventcast_bridge::Error::Node(eventcast::Error::Pattern(_)) => {
                UsageError(e.to_string()).into()
            }
            other => anyhow::Error::new(other),
        })?;
    let mut notices = bridge.notices();
    let work = async {
        let mut up = false;
        loop {
            tokio::select! {
                () = bridge.connected(), if !up => {
                    up = true;
                    say!(
                        "bridging {} <-> NATS {servers} as site {} (subject prefix {}, bridge {})",
                        node.group_addr().map_or_else(|| "the LAN".to_owned(), |a| a.to_string()),
                        bridge.site(),
                        bridge.prefix(),
                        bridge.id(),
                    );
                }
                notice = notices.recv() => match notice {
                    // Connections are said by the "bridging" line, then
                    // only when they break.
                    Ok(BridgeNotice::Connected { .. }) => {}
                    Ok(notice) => say!("eventcast: {notice}"),
                    Err(RecvError::Lagged(n)) => say!("eventcast: {n} bridge notices missed"),
                    Err(RecvError::Closed) => std::future::pending::<()>().await,
                },
            }
        }
    };
    // Runs until Ctrl-C or SIGTERM: `work` never ends.
    running.until(&mut node_notices, work).await;
    let stats = bridge.stop().await;
    node.stop().await;
    say!(
        "bridge stopped: {} events ({} bytes) to NATS, {} ({} bytes) from NATS, {} dropped, {} reconnects",
        stats.lan_to_nats_events,
        stats.lan_to_nats_bytes,
        stats.nats_to_lan_events,
        stats.nats_to_lan_bytes,
        stats.dropped(),
        stats.reconnects,
    );
    if stats.dropped_buffer_full > 0 {
        say!(
            "eventcast: {} LAN events dropped because the outage buffer was full",
            stats.dropped_buffer_full
        );
    }
    if stats.rivals_not_remembered > 0 {
        say!(
            "eventcast: {} announcements or sightings of other bridges not remembered (tables full or ids too long): forged, or far more bridges than expected",
            stats.rivals_not_remembered
        );
    }
    if stats.buffered_events > 0 {
        say!(
            "eventcast: {} buffered LAN events not sent (the server could not be reached)",
            stats.buffered_events
        );
    }
    Ok(ExitCode::SUCCESS)
}
