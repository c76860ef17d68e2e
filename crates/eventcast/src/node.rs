//! The public node handle.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use eventcast_proto::crypto::{Fingerprint, KeyInfo, Keyring, Secret};
use eventcast_proto::{EmitError, PeerInfo, SenderId};
use serde::Serialize;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::config::Config;
use crate::driver::{Command, KeyChange, Outgoing};
use crate::error::{ConfigError, Error};
use crate::event::{to_args, Event};
use crate::legacy_driver::{self, Legacy};
use crate::listeners::{ListenerId, Listeners, Subscription};
use crate::logging::LogLevels;
use crate::native_driver::{self, Native};
use crate::notice::Notice;
use crate::socket;
use crate::stats::NodeStats;
use crate::task::{self, Io};
use crate::wire_protocol::WireProtocol;

type NoticeCallback = Arc<dyn Fn(&Notice) + Send + Sync>;

/// State shared by the handles and the node's task.
pub(crate) struct Shared {
    pub(crate) listeners: Listeners,
    notices: broadcast::Sender<Notice>,
    notice_listeners: Mutex<Vec<(ListenerId, NoticeCallback)>>,
    stats: Mutex<NodeStats>,
    /// The running endpoint's keys, with their counts of datagrams sealed.
    keys: Mutex<Vec<KeyInfo>>,
    /// Bytes emitted and not yet sent once: the handle's view of the send
    /// queue, for back-pressure.
    queued: std::sync::atomic::AtomicUsize,
    /// Woken when the queue shrinks.
    room: tokio::sync::Notify,
}

impl Shared {
    /// The driver sent `bytes` of queued events.
    pub(crate) fn release_queue(&self, bytes: usize) {
        let _ = self
            .queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |q| {
                Some(q.saturating_sub(bytes))
            });
        self.room.notify_waiters();
    }

    /// Reserves room for `bytes` in the send queue.
    fn reserve(&self, bytes: usize, max: usize) -> Result<(), EmitError> {
        self.queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |q| {
                (q == 0 || q + bytes <= max).then_some(q + bytes)
            })
            .map(|_| ())
            .map_err(|queued| EmitError::QueueFull { queued, max })
    }

    pub(crate) fn stats_mut(&self) -> MutexGuard<'_, NodeStats> {
        self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn keys_mut(&self) -> MutexGuard<'_, Vec<KeyInfo>> {
        self.keys.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn notify(&self, notice: Notice) {
        let _ = self.notices.send(notice.clone());
        let callbacks: Vec<NoticeCallback> = self
            .notice_listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(_, c)| c.clone())
            .collect();
        for callback in callbacks {
            let call = std::panic::AssertUnwindSafe(|| callback(&notice));
            if std::panic::catch_unwind(call).is_err() {
                self.listeners.panics.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// An emit handed to the node's task (`bytes`), or not because the node is
/// stopped (`None`); `id` is the node's sender id at that moment.
struct Queued {
    id: SenderId,
    bytes: Option<usize>,
}

/// Why an emit was not queued: a full send queue gives the event back.
enum Refused {
    Full(Outgoing, EmitError),
    Other(Error),
}

/// What the handles know of the current run.
struct Current {
    id: SenderId,
    id_used: bool,
    local_addr: Option<SocketAddr>,
    group: Option<SocketAddr>,
    commands: Option<mpsc::UnboundedSender<Command>>,
}

struct Running {
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

struct Handle {
    config: Config,
    shared: Arc<Shared>,
    current: Mutex<Current>,
    run: tokio::sync::Mutex<Option<Running>>,
    /// The operator's REPL: it lives as long as the handles, across runs
    /// (dropping the slot closes it).
    repl: crate::repl::Slot,
    log_levels: LogLevels,
    /// The keys, derived from the configuration at the first start (or
    /// first keyring call) and changed by the keyring calls; every start
    /// hands the endpoint a copy. Lock it before `current`.
    keyring: Mutex<Option<Keyring>>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        // The last handle is gone: the task sends what is queued and ends.
        if let Some(running) = self.run.get_mut().take() {
            running.cancel.cancel();
        }
    }
}

/// A node of the group: Node's EventEmitter API over UDP multicast.
///
/// `emit` sends an event to every node in the group and fires this node's
/// own listeners; `on`, `once` and `off` manage listeners by event name.
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
/// });
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
    /// Creates a stopped node. Fails if the configuration cannot work.
    pub fn new(config: Config) -> Result<Self, Error> {
        config.validate()?;
        let (notices, _) = broadcast::channel(256);
        let log_levels = LogLevels::new(if config.log {
            tracing::level_filters::LevelFilter::INFO
        } else {
            tracing::level_filters::LevelFilter::OFF
        });
        Ok(Self {
            handle: Arc::new(Handle {
                repl: crate::repl::Slot::default(),
                log_levels,
                config,
                shared: Arc::new(Shared {
                    listeners: Listeners::default(),
                    notices,
                    notice_listeners: Mutex::new(Vec::new()),
                    stats: Mutex::new(NodeStats::default()),
                    keys: Mutex::new(Vec::new()),
                    queued: std::sync::atomic::AtomicUsize::new(0),
                    room: tokio::sync::Notify::new(),
                }),
                current: Mutex::new(Current {
                    id: random_id(),
                    id_used: false,
                    local_addr: None,
                    group: None,
                    commands: None,
                }),
                run: tokio::sync::Mutex::new(None),
                keyring: Mutex::new(None),
            }),
        })
    }

    /// Binds, joins the group and starts receiving. Does nothing if the node
    /// is running. Each start uses a new sender id (the first start uses
    /// the one [`id`](Self::id) showed before it) and, when no port is
    /// configured, a new random port in 49152-65535.
    ///
    /// With `repl.enabled`, the first start also opens the REPL (see
    /// [`start_repl`](Self::start_repl)); it stays open across stops.
    pub async fn start(&self) -> Result<(), Error> {
        let mut run = self.handle.run.lock().await;
        if run.is_some() {
            return Ok(());
        }
        if self.handle.config.repl.enabled {
            self.start_repl().await?;
        }
        let config = &self.handle.config;
        self.derive_keys().await?;
        let port = config
            .port
            .unwrap_or_else(|| rand::random_range(49152..=65535));
        let opened = socket::open(config, port)?;
        let socket = tokio::net::UdpSocket::from_std(opened.socket)
            .map_err(|e| Error::io("cannot register the socket with tokio", e))?;
        let id = {
            let mut current = self.current();
            if current.id_used {
                current.id = random_id();
            }
            current.id_used = true;
            current.id
        };
        // Held until the task's command channel is installed, so that a
        // keyring change made meanwhile reaches the new endpoint.
        let keyring = self.keyring();
        let ring = keyring.clone().unwrap_or_default();
        let (tx, rx) = mpsc::unbounded_channel();
        let cancel = CancellationToken::new();
        let io = Io {
            socket,
            commands: rx,
            cancel: cancel.clone(),
            shared: self.handle.shared.clone(),
        };
        *self.handle.shared.keys_mut() = ring.keys();
        let task = match config.wire_protocol {
            WireProtocol::Native => {
                tokio::spawn(task::run(Native::new(config, id, ring, opened.group)?, io))
            }
            WireProtocol::LegacyV3 => {
                tokio::spawn(task::run(Legacy::new(config, id, opened.group)?, io))
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
            current.commands = Some(tx);
        }
        drop(keyring);
        *run = Some(Running { cancel, task });
        info!(target: "eventcast", %id, local_addr = %opened.local_addr, group = %opened.group, "started");
        self.handle.shared.notify(Notice::Started {
            id,
            local_addr: opened.local_addr,
            group: opened.group,
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
        let id = {
            let mut current = self.current();
            current.commands = None;
            current.local_addr = None;
            current.group = None;
            current.id
        };
        running.cancel.cancel();
        if let Err(e) = running.task.await {
            warn!(target: "eventcast", error = %e, "node task failed");
        }
        self.handle.shared.stats_mut().running = false;
        self.handle.shared.queued.store(0, Ordering::Release);
        self.handle.shared.room.notify_waiters();
        info!(target: "eventcast", %id, "stopped");
        self.handle.shared.notify(Notice::Stopped { id });
    }

    /// Adds a key to the ring: from now on it opens received datagrams.
    /// The first key of a node without one also becomes the key that seals
    /// (the node then encrypts everything it sends and refuses plaintext).
    /// A passphrase is stretched with Argon2id first (tens of milliseconds,
    /// on a blocking thread). Returns the key's fingerprint.
    ///
    /// Rotation without loss: add the new key on every node, then
    /// [`use_key`](Self::use_key) it on every node, then
    /// [`remove_key`](Self::remove_key) the old one on every node.
    pub async fn add_key(&self, key: impl Into<Secret>) -> Result<Fingerprint, Error> {
        let secret = key.into();
        let key = tokio::task::spawn_blocking(move || secret.derive())
            .await
            .map_err(|_| Error::Closed)??;
        let fingerprint = key.fingerprint();
        self.change_keys(
            |ring| ring.add(key.clone()).map(drop),
            Command::Keys(KeyChange::Add(key.clone())),
        )
        .await?;
        Ok(fingerprint)
    }

    /// Makes a key of the ring the one that seals what this node sends.
    pub async fn use_key(&self, fingerprint: Fingerprint) -> Result<(), Error> {
        self.change_keys(
            |ring| ring.use_key(fingerprint),
            Command::Keys(KeyChange::Use(fingerprint)),
        )
        .await
    }

    /// Removes a key from the ring; it no longer opens anything. The key
    /// that seals cannot be removed: [`use_key`](Self::use_key) another
    /// first.
    pub async fn remove_key(&self, fingerprint: Fingerprint) -> Result<(), Error> {
        self.change_keys(
            |ring| ring.remove(fingerprint),
            Command::Keys(KeyChange::Remove(fingerprint)),
        )
        .await
    }

    /// The keys of the ring, with how many datagrams this run sealed with
    /// each. Never the keys themselves: their fingerprints.
    pub async fn keys(&self) -> Result<Vec<KeyInfo>, Error> {
        self.derive_keys().await?;
        let published = self.handle.shared.keys_mut().clone();
        let keyring = self.keyring();
        let mut keys = keyring.as_ref().map(Keyring::keys).unwrap_or_default();
        for key in &mut keys {
            if let Some(p) = published.iter().find(|p| p.fingerprint == key.fingerprint) {
                key.sealed = p.sealed;
            }
        }
        Ok(keys)
    }

    /// Applies a change to the handle's ring and, while running, the same
    /// change to the endpoint's (in the same order as other changes).
    async fn change_keys(
        &self,
        change: impl FnOnce(&mut Keyring) -> Result<(), eventcast_proto::crypto::KeyringError>,
        command: Command,
    ) -> Result<(), Error> {
        if self.handle.config.wire_protocol == WireProtocol::LegacyV3 {
            return Err(Error::Config(ConfigError::Legacy(
                "the keyring is the native protocol's; the legacy protocol's encryption \
                 is legacy.insecure_legacy_key"
                    .to_owned(),
            )));
        }
        let sealed_max =
            eventcast_proto::wire::MAX_SEGMENT_PAYLOAD - eventcast_proto::wire::SEAL_OVERHEAD;
        if self.handle.config.protocol.max_payload_size > sealed_max {
            return Err(eventcast_proto::crypto::KeyringError::NotEncrypting.into());
        }
        self.derive_keys().await?;
        let mut keyring = self.keyring();
        let ring = keyring.get_or_insert_with(Keyring::new);
        change(ring)?;
        if let Some(tx) = &self.current().commands {
            let _ = tx.send(command);
        }
        drop(keyring);
        Ok(())
    }

    /// Derives the configured keys into the handle's ring, once.
    async fn derive_keys(&self) -> Result<(), Error> {
        if self.keyring().is_some() {
            return Ok(());
        }
        let encrypt = &self.handle.config.encrypt;
        let secrets: Vec<Secret> = encrypt
            .key
            .iter()
            .chain(&encrypt.decrypt_keys)
            .cloned()
            .collect();
        let keys = tokio::task::spawn_blocking(move || {
            secrets
                .iter()
                .map(Secret::derive)
                .collect::<Result<Vec<_>, _>>()
        })
        .await
        .map_err(|_| Error::Closed)??;
        let mut keyring = self.keyring();
        if keyring.is_none() {
            let mut ring = Keyring::new();
            for key in keys {
                ring.add(key)?;
            }
            *keyring = Some(ring);
        }
        Ok(())
    }

    fn keyring(&self) -> MutexGuard<'_, Option<Keyring>> {
        self.handle
            .keyring
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the node is started.
    pub fn is_running(&self) -> bool {
        self.current().commands.is_some()
    }

    /// Emits an event: sends it to the group and fires this node's own
    /// listeners for it, exactly once.
    ///
    /// `args` is anything serde can serialize: a tuple, array or `Vec` is
    /// the argument list (`("a", 1)` is two arguments), `()` is none, any
    /// other value is one argument. While stopped, only local listeners
    /// fire (and a warning is logged).
    ///
    /// Fails, sending nothing and firing no listener, if the arguments
    /// cannot be encoded as BSON, the encoded event is larger than
    /// `max_message_size`, or the send queue is full
    /// ([`EmitError::QueueFull`]: the pacer has not sent
    /// `max_send_queue_bytes` of earlier events yet; use
    /// [`emit_wait`](Self::emit_wait) to wait for room instead).
    pub fn emit<A: Serialize + ?Sized>(&self, name: &str, args: &A) -> Result<(), Error> {
        let args = to_args(args)?;
        let event = self.encode(name, &args)?;
        self.send_body(name, args, event)
    }

    /// Like [`emit`](Self::emit), but when the send queue is full, waits
    /// until the pacer has made room instead of failing.
    pub async fn emit_wait<A: Serialize + ?Sized>(
        &self,
        name: &str,
        args: &A,
    ) -> Result<(), Error> {
        let args = to_args(args)?;
        let mut body = self.encode(name, &args)?;
        loop {
            let room = self.handle.shared.room.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            match self.queue_body(body) {
                Ok(queued) => {
                    self.emitted(name, args, queued);
                    return Ok(());
                }
                Err(Refused::Full(back, _)) => {
                    body = back;
                    room.await;
                }
                Err(Refused::Other(e)) => return Err(e),
            }
        }
    }

    /// Encodes an event for the protocol the node speaks.
    fn encode(&self, name: &str, args: &[bson::Bson]) -> Result<Outgoing, Error> {
        match self.handle.config.wire_protocol {
            WireProtocol::Native => native_driver::encode(name, args),
            WireProtocol::LegacyV3 => legacy_driver::encode(name, args),
        }
    }

    fn send_body(&self, name: &str, args: Vec<bson::Bson>, body: Outgoing) -> Result<(), Error> {
        match self.queue_body(body) {
            Ok(queued) => {
                self.emitted(name, args, queued);
                Ok(())
            }
            Err(Refused::Full(_, e)) => Err(e.into()),
            Err(Refused::Other(e)) => Err(e),
        }
    }

    /// Hands an encoded event to the node's task. A full send queue gives
    /// the body back, so that [`emit_wait`](Self::emit_wait) can try again
    /// without copying it (an event may be megabytes).
    fn queue_body(&self, body: Outgoing) -> Result<Queued, Refused> {
        let max = self.handle.config.protocol.max_message_size;
        let len = body.reserved();
        if len > max {
            return Err(Refused::Other(
                EmitError::MessageTooLarge { len, max }.into(),
            ));
        }
        let current = self.current();
        let Some(tx) = current.commands.as_ref() else {
            return Ok(Queued {
                id: current.id,
                bytes: None,
            });
        };
        let limit = self.handle.config.protocol.max_send_queue_bytes;
        if let Err(e) = self.handle.shared.reserve(len, limit) {
            return Err(Refused::Full(body, e));
        }
        if tx.send(Command::Emit(body)).is_err() {
            // The task has just ended: as good as stopped.
            self.handle.shared.release_queue(len);
            return Ok(Queued {
                id: current.id,
                bytes: None,
            });
        }
        Ok(Queued {
            id: current.id,
            bytes: Some(len),
        })
    }

    /// After an emit was queued, or found the node stopped: logs, counts,
    /// and fires the local listeners.
    fn emitted(&self, name: &str, args: Vec<bson::Bson>, queued: Queued) {
        match queued.bytes {
            Some(bytes) => {
                debug!(target: "eventcast", name, args = args.len(), bytes, "event sent");
            }
            None => {
                self.handle.shared.stats_mut().emitted_while_stopped += 1;
                warn!(target: "eventcast", name, "emit while stopped: only local listeners fire");
            }
        }
        let event = Event::new(name.to_owned(), args, queued.id, None, None);
        self.handle.shared.listeners.dispatch(&event);
    }

    /// Adds a listener for `name`; returns its id for [`off`](Self::off).
    pub fn on<F>(&self, name: &str, listener: F) -> ListenerId
    where
        F: Fn(&Event) + Send + Sync + 'static,
    {
        self.handle
            .shared
            .listeners
            .add(name, false, Arc::new(listener))
    }

    /// Adds a listener for `name` that is removed before its first call.
    pub fn once<F>(&self, name: &str, listener: F) -> ListenerId
    where
        F: Fn(&Event) + Send + Sync + 'static,
    {
        self.handle
            .shared
            .listeners
            .add(name, true, Arc::new(listener))
    }

    /// Removes a listener; returns whether it was there.
    pub fn off(&self, name: &str, listener: ListenerId) -> bool {
        self.handle.shared.listeners.remove(name, listener)
    }

    /// Removes every listener of `name`, or of every event with `None`.
    pub fn remove_all_listeners(&self, name: Option<&str>) {
        self.handle.shared.listeners.remove_all(name);
    }

    /// The listeners of `name`, in the order they fire.
    pub fn listeners(&self, name: &str) -> Vec<ListenerId> {
        self.handle.shared.listeners.ids(name)
    }

    /// How many listeners `name` has.
    pub fn listener_count(&self, name: &str) -> usize {
        self.listeners(name).len()
    }

    /// The names that have listeners, sorted.
    pub fn event_names(&self) -> Vec<String> {
        self.handle.shared.listeners.names()
    }

    /// A stream of every event, local and received.
    pub fn subscribe(&self) -> Subscription {
        let capacity = self.handle.config.subscription_capacity;
        self.handle.shared.listeners.subscribe(None, capacity)
    }

    /// A stream of the events with one of these names.
    pub fn subscribe_to<I, S>(&self, names: I) -> Subscription
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let names = names.into_iter().map(Into::into).collect();
        let capacity = self.handle.config.subscription_capacity;
        self.handle
            .shared
            .listeners
            .subscribe(Some(names), capacity)
    }

    /// A receiver of lifecycle changes and protocol errors from now on.
    pub fn notices(&self) -> broadcast::Receiver<Notice> {
        self.handle.shared.notices.subscribe()
    }

    /// Calls `listener` for every lifecycle change and protocol error.
    pub fn on_notice<F>(&self, listener: F) -> ListenerId
    where
        F: Fn(&Notice) + Send + Sync + 'static,
    {
        let id = self.handle.shared.listeners.next_id();
        self.handle
            .shared
            .notice_listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((id, Arc::new(listener)));
        id
    }

    /// Removes a notice listener; returns whether it was there.
    pub fn off_notice(&self, listener: ListenerId) -> bool {
        let mut list = self
            .handle
            .shared
            .notice_listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let before = list.len();
        list.retain(|(id, _)| *id != listener);
        list.len() != before
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
    /// `protocol.max_senders` nodes are, the one heard least recently is
    /// forgotten first. A node that never emits sends nothing and is never
    /// listed; that is inherent to the protocol, which has no membership.
    ///
    /// The list is asked of the node's task and comes back on its next
    /// turn. It is empty while the node is stopped, and always with the
    /// legacy protocol ([`WireProtocol::LegacyV3`]), which tracks no
    /// senders.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), eventcast::Error> {
    /// use eventcast::{Config, Eventcast};
    ///
    /// let node = Eventcast::new(Config::default().port(41234))?;
    /// node.start().await?;
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

    /// A handle that does not keep the node alive (the REPL's).
    pub(crate) fn downgrade(&self) -> WeakEventcast {
        WeakEventcast(Arc::downgrade(&self.handle))
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.handle.shared
    }

    pub(crate) fn repl_slot(&self) -> &crate::repl::Slot {
        &self.handle.repl
    }

    pub(crate) fn log_table(&self) -> &LogLevels {
        &self.handle.log_levels
    }

    fn current(&self) -> MutexGuard<'_, Current> {
        self.handle
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }
}

/// A node handle that does not keep the node alive.
#[derive(Clone)]
pub(crate) struct WeakEventcast(Weak<Handle>);

impl WeakEventcast {
    /// The node, unless every handle is gone.
    pub(crate) fn upgrade(&self) -> Option<Eventcast> {
        self.0.upgrade().map(|handle| Eventcast { handle })
    }
}

fn random_id() -> SenderId {
    SenderId::new(rand::random())
}
