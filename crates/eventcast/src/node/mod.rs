//! The public node handle: its lifecycle, listeners, subscriptions,
//! services and counters; emitting is in `emit.rs` (and `binary.rs`).

mod binary;
mod emit;
mod parts;
#[cfg(test)]
mod tests;
mod writers;

use std::any::Any;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use eventcast_proto::{PeerInfo, SenderId};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::config::Config;
use crate::driver::Command;
use crate::error::Error;
use crate::event::Event;
use crate::inline::Commands;
use crate::keys::{KeyStore, Keys};
use crate::legacy_driver::Legacy;
use crate::listeners::{EventFilter, ListenerId, Subscription};
use crate::logging::LogLevels;
use crate::native_driver::Native;
use crate::notice::Notice;
use crate::recycle::BodyPool;
use crate::service::Service;
use crate::shared::Shared;
use crate::socket;
use crate::spare::SpareBody;
use crate::stats::NodeStats;
use crate::task::{self, Io};
use crate::wire_protocol::WireProtocol;

/// What the handles know of the current run.
struct Current {
    id: SenderId,
    id_used: bool,
    local_addr: Option<SocketAddr>,
    group: Option<SocketAddr>,
    commands: Option<Commands>,
}

struct Running {
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

/// A service attached to the node: its hooks, and the same value as `Any`
/// so that [`Eventcast::service`] can hand it back by type.
struct Attached {
    hooks: Arc<dyn Service>,
    any: Arc<dyn Any + Send + Sync>,
}

struct Handle {
    config: Config,
    shared: Arc<Shared>,
    current: Mutex<Current>,
    run: tokio::sync::Mutex<Option<Running>>,
    log_levels: LogLevels,
    /// The keyring. Lock it before `current`.
    keys: KeyStore,
    /// Services such as the REPL: they live as long as the handles, across
    /// runs (dropped with the last handle).
    services: Mutex<Vec<Attached>>,
    /// The buffer of the next large body, made ready after the last one
    /// went out and the node paused (`spare.rs`).
    spare: Arc<SpareBody>,
    /// The reassembly buffer of the next large message received, made
    /// ready after the last one was delivered and the node paused
    /// (`spare.rs`).
    receive_spare: Arc<SpareBody>,
    /// Bodies being written in parts (`parts.rs`).
    writers: writers::Writers,
    /// Buffers for small bodies, given back by the driver once the
    /// retransmit store let them go (`recycle.rs`).
    bodies: Arc<BodyPool>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        // The last handle is gone: the task sends what is queued and ends.
        if let Some(running) = self.run.get_mut().take() {
            running.cancel.cancel();
        }
    }
}

/// Lets a node's spares go when dropped unless disarmed: a start given up
/// or failed after [`Eventcast::prepare_spares`] holds none.
struct ReleaseSpares<'a>(Option<&'a Handle>);

impl ReleaseSpares<'_> {
    /// The node runs: its spares stay.
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for ReleaseSpares<'_> {
    fn drop(&mut self) {
        if let Some(handle) = self.0 {
            handle.spare.release();
            handle.receive_spare.release();
        }
    }
}

/// A node of the group: Node's EventEmitter API over UDP multicast.
///
/// `emit` sends an event to every node in the group and fires this node's
/// own listeners; `on`, `once` and `off` manage listeners by event name or
/// pattern (see [`on`](Self::on)).
/// Clones are handles to the same node; when the last one is dropped the
/// node stops.
///
/// Listeners run on the node's task, one event at a time: keep them short,
/// or use [`subscribe`](Self::subscribe) to handle events in a task of your
/// own. A listener that panics is caught and counted.
///
/// ```no_run
/// # async fn f() -> Result<(), eventcast::Error> {
/// use eventcast::{Config, Eventcast};
///
/// let node = Eventcast::new(Config::default().port(41234))?;
/// node.on("greet", |event| {
///     let (who,): (String,) = event.args().unwrap_or_default();
///     println!("{} greets {who}", event.sender());
/// })?;
/// node.start().await?;
/// node.emit("greet", &("world",))?;
/// node.stop().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Eventcast {
    handle: Arc<Handle>,
}

impl std::fmt::Debug for Eventcast {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Eventcast")
            .field("id", &self.id())
            .field("local_addr", &self.local_addr())
            .field("running", &self.is_running())
            .finish()
    }
}

impl Eventcast {
    /// Creates a stopped node without services: what
    /// [`Eventcast::new`](crate::node::Eventcast::new) builds on (see
    /// `stack.rs`). Fails if the configuration cannot work.
    pub(crate) fn bare(config: Config) -> Result<Self, Error> {
        config.validate()?;
        let log_levels = LogLevels::new(if config.log {
            tracing::level_filters::LevelFilter::INFO
        } else {
            tracing::level_filters::LevelFilter::OFF
        });
        Ok(Self {
            handle: Arc::new(Handle {
                log_levels,
                keys: KeyStore::new(&config),
                config,
                shared: Arc::new(Shared::default()),
                current: Mutex::new(Current {
                    id: random_id(),
                    id_used: false,
                    local_addr: None,
                    group: None,
                    commands: None,
                }),
                run: tokio::sync::Mutex::new(None),
                services: Mutex::new(Vec::new()),
                spare: Arc::default(),
                receive_spare: Arc::default(),
                writers: writers::Writers::default(),
                bodies: Arc::default(),
            }),
        })
    }

    /// Binds, joins the group and starts receiving. Does nothing if the node
    /// is running. Each start uses a new sender id (the first start uses
    /// the one [`id`](Self::id) showed before it) and, when no port is
    /// configured, a new random port in 49152-65535.
    ///
    /// Every start first runs the services' [`on_start`](Service::on_start)
    /// hooks: with `repl.enabled`, the first start opens the REPL (see
    /// `Eventcast::repl`, with the `repl` feature); it stays open across
    /// stops.
    pub async fn start(&self) -> Result<(), Error> {
        let mut run = self.handle.run.lock().await;
        if run.is_some() {
            return Ok(());
        }
        for service in self.services() {
            service.on_start()?;
        }
        let config = &self.handle.config;
        self.handle.keys.derive().await?;
        let port = config
            .port
            .unwrap_or_else(|| rand::random_range(49152..=65535));
        // Made before the socket joins the group (so that nothing waits
        // unread meanwhile) and the task starts; let go again if the start
        // fails or is given up (this future dropped) before it is done.
        let unstarted = ReleaseSpares(Some(&self.handle));
        self.prepare_spares().await;
        let opened = socket::open(config, port)?;
        let (local_addr, group) = (opened.local_addr, opened.group);
        let (running, id) = self.launch(opened)?;
        *run = Some(running);
        unstarted.disarm();
        info!(target: "eventcast", %id, %local_addr, %group, "started");
        self.handle.shared.notify(Notice::Started {
            id,
            local_addr,
            group,
        });
        Ok(())
    }

    /// Sends what is queued, leaves the group and closes the socket. Does
    /// nothing if the node is stopped.
    pub async fn stop(&self) {
        let mut run = self.handle.run.lock().await;
        let Some(running) = run.take() else {
            return;
        };
        self.handle.keys.lock().detach();
        let id = {
            let mut current = self.current();
            current.commands = None;
            current.local_addr = None;
            current.group = None;
            current.id
        };
        // Bodies admitted before are written whole, and go out before the
        // task ends, with what was emitted after them. (Should this future
        // be dropped meanwhile, the task is told to end all the same; the
        // `Stopped` notice and the services' `on_stop` are then not given.)
        let cancel = running.cancel.clone().drop_guard();
        self.handle.writers.idle().await;
        drop(cancel);
        if let Err(e) = running.task.await {
            warn!(target: "eventcast", error = %e, "node task failed");
        }
        self.handle.shared.stats_mut().running = false;
        self.handle.shared.clear_queue();
        // A stopped node holds no spare buffer (up to 4.5 MiB each, or an
        // expected size's room).
        self.handle.spare.release();
        self.handle.receive_spare.release();
        info!(target: "eventcast", %id, "stopped");
        self.handle.shared.notify(Notice::Stopped { id });
        for service in self.services() {
            service.on_stop();
        }
    }

    /// Spawns the node's task on the socket `opened` with the keyring's
    /// keys and records it as running: the part of [`start`](Self::start)
    /// that holds the keyring's lock. Returns it with the sender id it
    /// took.
    fn launch(&self, opened: socket::Opened) -> Result<(Running, SenderId), Error> {
        let config = &self.handle.config;
        let mut socket = crate::node_socket::NodeSocket::new(opened.socket, opened.sender)
            .map_err(|e| Error::io("cannot register the socket with tokio", e))?;
        // Marked used once the task is spawned: a start that fails before
        // leaves it for the next.
        let id = {
            let mut current = self.current();
            if current.id_used {
                current.id = random_id();
                current.id_used = false;
            }
            current.id
        };
        if config.wire_protocol == WireProtocol::Native
            && crate::self_filter::attach(socket.get_ref(), id)
        {
            socket.own.watch(opened.coalesced);
        }
        // Held until the task's command channel is attached, so that a
        // keyring change made meanwhile reaches the new endpoint.
        let mut keys = self.handle.keys.lock();
        let ring = keys.ring();
        let (tx, rx) = mpsc::unbounded_channel();
        let cancel = CancellationToken::new();
        let io = Io {
            commands: rx,
            cancel: cancel.clone(),
            shared: self.handle.shared.clone(),
            // A data or sealed header, or a legacy one, is well under this.
            datagram_size: config.protocol.max_payload_size + 256,
            one_datagram: config.protocol.max_payload_size,
            coalescing: opened.coalesced,
            busy_poll: config.busy_poll,
        };
        *self.handle.shared.keys_mut() = ring.keys();
        let (task, commands) = match config.wire_protocol {
            WireProtocol::Native => {
                let native = Native::new(
                    config,
                    id,
                    ring,
                    opened.group,
                    opened.recv_buffer_size,
                    &self.handle.receive_spare,
                    &self.handle.bodies,
                )?;
                task::spawn(socket, native, tx, io)
            }
            WireProtocol::LegacyV3 => {
                task::spawn(socket, Legacy::new(config, id, opened.group)?, tx, io)
            }
        };
        {
            let mut stats = self.handle.shared.stats_mut();
            stats.running = true;
            stats.starts += 1;
            stats.recv_buffer_size = opened.recv_buffer_size;
            stats.protocol = eventcast_proto::Stats::default();
            stats.legacy = Default::default();
        }
        {
            let mut current = self.current();
            current.local_addr = Some(opened.local_addr);
            current.group = Some(opened.group);
            current.commands = Some(commands.clone());
            current.id_used = true;
        }
        keys.attach(commands);
        Ok((Running { cancel, task }, id))
    }

    /// Makes the receiving buffers of [`Config::expected_event_sizes`]
    /// ready, and has the receiving side serve those sizes (`spare.rs`),
    /// on the blocking pool: faulting in pages blocks. Only a native node
    /// that may receive puts messages together. The sending side is left
    /// as it is: most large events go out with `emit_binary`, which takes
    /// no buffer, and a spare made after each large body sent would be
    /// faulted in while a paced body of tens of MiB still goes out.
    async fn prepare_spares(&self) {
        let config = &self.handle.config;
        let sizes = &config.expected_event_sizes;
        if sizes.is_empty() || config.wire_protocol != WireProtocol::Native || config.send_only {
            return;
        }
        let receive = Arc::clone(&self.handle.receive_spare);
        // Taken here: a release after it (this start given up) then keeps
        // whatever the blocking pool makes from being kept.
        let generation = receive.serve_sizes(sizes);
        let sizes = sizes.clone();
        let prepared = tokio::task::spawn_blocking(move || receive.prepare(&sizes, generation));
        // A panic there leaves the node without them, as without the setting.
        let _ = prepared.await;
    }

    /// The node's keyring: add, list, switch and remove keys while it
    /// runs (see [`Keys`]).
    pub fn keys(&self) -> Keys<'_> {
        Keys::new(&self.handle.keys, &self.handle.shared)
    }

    /// Whether the node is started.
    pub fn is_running(&self) -> bool {
        self.current().commands.is_some()
    }

    /// Adds a listener for the event name or pattern `name`; returns its id
    /// for [`off`](Self::off).
    ///
    /// # Wildcards
    ///
    /// A `name` with a `*` in it is a pattern, EventEmitter2-style: names
    /// are split at every `.` into segments; in a pattern `*` stands for
    /// exactly one segment and `**` for any number of them, none included.
    ///
    /// | pattern | matches | does not match |
    /// | --- | --- | --- |
    /// | `sensor.*` | `sensor.a` | `sensor`, `sensor.a.b` |
    /// | `sensor.**` | `sensor`, `sensor.a`, `sensor.a.b` | `sensors.a` |
    /// | `**.temp` | `temp`, `room.a.temp` | `temp.max` |
    /// | `a.**.b` | `a.b`, `a.x.y.b` | `a.b.c` |
    /// | `**` | every event | |
    ///
    /// `*` and `**` stand alone between dots, and no segment of a pattern
    /// is empty: `sensor*`, `a.**b`, `***`, `sensor.`, `a..*` and `**.**`
    /// fail here with [`Error::Pattern`], naming the pattern and what is
    /// wrong; nothing is added. A name without `*` is matched exactly, by a
    /// hash lookup, as without wildcards. An event whose name has a `*` can
    /// still be emitted, and patterns match it (the `*` is then just text),
    /// but no listener can be added for that name alone.
    ///
    /// An event fires its name's listeners and those of every matching
    /// pattern, each once, in the order they were added, whichever kind.
    pub fn on<F>(&self, name: &str, listener: F) -> Result<ListenerId, Error>
    where
        F: Fn(&Event) + Send + Sync + 'static,
    {
        self.add_listener(name, false, Arc::new(listener))
    }

    /// Adds a listener for the event name or pattern `name` (see
    /// [`on`](Self::on)) that is removed before its first call: with a
    /// pattern, it fires once in all, for the first event that matches.
    pub fn once<F>(&self, name: &str, listener: F) -> Result<ListenerId, Error>
    where
        F: Fn(&Event) + Send + Sync + 'static,
    {
        self.add_listener(name, true, Arc::new(listener))
    }

    /// Removes a listener, given the name or pattern it was added under;
    /// returns whether it was there.
    pub fn off(&self, name: &str, listener: ListenerId) -> bool {
        self.handle.shared.listeners.remove(name, listener)
    }

    /// Removes every listener added under the name or pattern `name` (a
    /// pattern's listeners are not removed by a name they match: pass the
    /// pattern), or every listener with `None`.
    pub fn remove_all_listeners(&self, name: Option<&str>) {
        self.handle.shared.listeners.remove_all(name);
    }

    /// For an event name, every listener an event of that name would fire,
    /// its own and those of the patterns that match it; for a pattern (a
    /// name with a `*`), the listeners added under that pattern. In the
    /// order they fire.
    pub fn listeners(&self, name: &str) -> Vec<ListenerId> {
        self.handle.shared.listeners.ids(name)
    }

    /// How many listeners [`listeners`](Self::listeners) gives: for a name,
    /// pattern listeners that match it included.
    pub fn listener_count(&self, name: &str) -> usize {
        self.listeners(name).len()
    }

    /// The names and patterns that have listeners, sorted.
    pub fn event_names(&self) -> Vec<String> {
        self.handle.shared.listeners.names()
    }

    /// A stream of every event, local and received.
    pub fn subscribe(&self) -> Subscription {
        let limit = self.handle.config.subscription_bytes;
        self.handle.shared.listeners.subscribe(None, limit)
    }

    /// A stream of the events with one of these names or matching one of
    /// these patterns (see [`on`](Self::on)); each event
    /// once, however many match. Fails with [`Error::Pattern`] on a bad
    /// pattern.
    pub fn subscribe_to<I, S>(&self, names: I) -> Result<Subscription, Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let filter = EventFilter::new(names.into_iter().map(Into::into).collect())?;
        let limit = self.handle.config.subscription_bytes;
        Ok(self.handle.shared.listeners.subscribe(Some(filter), limit))
    }

    /// A receiver of lifecycle changes and protocol errors from now on.
    pub fn notices(&self) -> broadcast::Receiver<Notice> {
        self.handle.shared.subscribe_notices()
    }

    /// Calls `listener` for every lifecycle change and protocol error.
    pub fn on_notice<F>(&self, listener: F) -> ListenerId
    where
        F: Fn(&Notice) + Send + Sync + 'static,
    {
        self.handle.shared.on_notice(Arc::new(listener))
    }

    /// Removes a notice listener; returns whether it was there.
    pub fn off_notice(&self, listener: ListenerId) -> bool {
        self.handle.shared.off_notice(listener)
    }

    /// Tells every notice receiver ([`notices`](Self::notices)) and
    /// listener ([`on_notice`](Self::on_notice)) of this node, as the node
    /// does for its own lifecycle changes. For services built on the node:
    /// the REPL reports its clients this way
    /// ([`Notice::ReplClientConnected`]). A listener that panics is caught
    /// and counted in [`NodeStats::listener_panics`].
    pub fn notify(&self, notice: Notice) {
        self.handle.shared.notify(notice);
    }

    /// This node's sender id: the current run's, or the next run's while
    /// stopped before the first start.
    pub fn id(&self) -> SenderId {
        self.current().id
    }

    /// The address the socket is bound to, while running.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.current().local_addr
    }

    /// The group address and port events are sent to, while running.
    pub fn group_addr(&self) -> Option<SocketAddr> {
        self.current().group
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.handle.config
    }

    /// Counters of everything sent, received and dropped.
    pub fn stats(&self) -> NodeStats {
        let shared = &self.handle.shared;
        let mut stats = *shared.stats_mut();
        stats.listener_panics = shared.listeners.panics.load(Ordering::Relaxed);
        stats.subscription_lagged = shared.listeners.lagged.load(Ordering::Relaxed);
        stats.messages_received_in_spare = self.handle.receive_spare.lent();
        stats
    }

    /// The other nodes this node hears now, by sender id: for each, the
    /// address and time it was last heard from (with how long ago, at the
    /// call), its lead (the next message seq it will use, as far as this
    /// node knows), and how many of its events were delivered and lost for
    /// good this run.
    ///
    /// A node is listed from its first event or heartbeat on (a sender
    /// sends a heartbeat at least every `heartbeat_max` while it has sent
    /// anything), for as long as it is tracked: at most
    /// `protocol.max_senders` nodes are; to make room, one heard once or
    /// not believed real goes first, else one long silent (PROTOCOL.md
    /// §9.7). A node that never emits sends nothing and is never
    /// listed; that is inherent to the protocol, which has no membership.
    ///
    /// The list is asked of the node's task and comes back on its next
    /// turn. It is empty while the node is stopped, while nothing listens
    /// on it (it then reads no other node's events: see
    /// [`Config::send_only`]), and always with the legacy protocol
    /// ([`WireProtocol::LegacyV3`]), which tracks no senders.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), eventcast::Error> {
    /// use eventcast::{Config, Eventcast};
    ///
    /// let node = Eventcast::new(Config::default().port(41234))?;
    /// node.start().await?;
    /// let _events = node.subscribe();
    /// // ... once other nodes have emitted something:
    /// for peer in node.peers().await {
    ///     println!(
    ///         "{} at {}, heard {:.1} s ago, lead {}, {} delivered, {} lost",
    ///         peer.id,
    ///         peer.addr,
    ///         peer.since_heard.as_secs_f64(),
    ///         peer.lead,
    ///         peer.delivered,
    ///         peer.lost,
    ///     );
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn peers(&self) -> Vec<PeerInfo> {
        let (tx, rx) = oneshot::channel();
        let asked = match &self.current().commands {
            Some(commands) => commands.send(Command::Peers(tx)).is_ok(),
            None => false,
        };
        if !asked {
            return Vec::new();
        }
        // The task ended before answering: stopped meanwhile.
        rx.await.unwrap_or_default()
    }

    /// This node's log levels: a handle to its table (clones share it),
    /// read by the filter it makes ([`LogLevels::filter`]) and changed by
    /// the REPL's `log-level` (see [`logging`](crate::logging)).
    pub fn log_levels(&self) -> LogLevels {
        self.handle.log_levels.clone()
    }

    /// A handle that does not keep the node alive: for services and
    /// callbacks that must not (a node stops when its last
    /// [`Eventcast`] is dropped).
    pub fn downgrade(&self) -> WeakEventcast {
        WeakEventcast(Arc::downgrade(&self.handle))
    }

    /// Attaches a service: from now on its hooks run at every
    /// [`start`](Self::start) and [`stop`](Self::stop), and it lives until
    /// the last handle of the node is dropped. See [`Service`].
    pub fn add_service<S: Service>(&self, service: Arc<S>) {
        self.attached().push(Attached {
            hooks: service.clone(),
            any: service,
        });
    }

    /// The first attached service of type `S`, if any.
    pub fn service<S: Service>(&self) -> Option<Arc<S>> {
        find::<S>(&self.attached())
    }

    /// The first attached service of type `S`, attached first if there is
    /// none (made by `make`, which must not touch the node's services).
    #[cfg(feature = "repl")]
    pub(crate) fn service_or_add<S: Service>(&self, make: impl FnOnce() -> S) -> Arc<S> {
        let mut attached = self.attached();
        if let Some(service) = find::<S>(&attached) {
            return service;
        }
        let service = Arc::new(make());
        attached.push(Attached {
            hooks: service.clone(),
            any: service.clone(),
        });
        service
    }

    /// Adds `listener` for `name` ([`on`](Self::on), [`once`](Self::once)).
    fn add_listener(
        &self,
        name: &str,
        once: bool,
        listener: Arc<dyn Fn(&Event) + Send + Sync>,
    ) -> Result<ListenerId, Error> {
        Ok(self.handle.shared.listeners.add(name, once, listener)?)
    }

    fn attached(&self) -> MutexGuard<'_, Vec<Attached>> {
        self.handle
            .services
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// The services' hooks, called without holding the lock (a hook may
    /// use the node).
    fn services(&self) -> Vec<Arc<dyn Service>> {
        self.attached().iter().map(|a| a.hooks.clone()).collect()
    }

    fn current(&self) -> MutexGuard<'_, Current> {
        self.handle
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }
}

/// A node handle that does not keep the node alive, from
/// [`Eventcast::downgrade`].
#[derive(Clone)]
pub struct WeakEventcast(Weak<Handle>);

impl WeakEventcast {
    /// The node, unless every handle is gone.
    pub fn upgrade(&self) -> Option<Eventcast> {
        self.0.upgrade().map(|handle| Eventcast { handle })
    }
}

impl std::fmt::Debug for WeakEventcast {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeakEventcast")
            .field("alive", &(self.0.strong_count() > 0))
            .finish()
    }
}

/// The first service of type `S` in `attached`.
fn find<S: Service>(attached: &[Attached]) -> Option<Arc<S>> {
    attached
        .iter()
        .find_map(|a| a.any.clone().downcast::<S>().ok())
}

fn random_id() -> SenderId {
    SenderId::new(rand::random())
}
