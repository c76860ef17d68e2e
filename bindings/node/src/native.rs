//! `NativeNode`: the node as the JS layer (index.js) drives it. Not the
//! package's API: index.js wraps it in the `Eventcast` EventEmitter.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use eventcast::logging::{level_name, Component};
use eventcast::{Eventcast, Fingerprint, ListenerId};
use napi::bindgen_prelude::{Buffer, Either, Function, PromiseRaw, Unknown};
use napi::{Env, Error, JsValue, Result, Status};
use napi_derive::napi;

use crate::delivery::{Delivery, Item};
use crate::options::{secret, to_config, NodeOptions};
use crate::{logs, notice, stats, to_bson};

static NEXT_KEY: AtomicUsize = AtomicUsize::new(0);

/// One node, its delivery queue and its logging registration.
#[napi]
pub struct NativeNode {
    node: Eventcast,
    delivery: Arc<Delivery>,
    key: usize,
    listener: ListenerId,
    notice_listener: ListenerId,
}

/// Where a node's socket is bound.
#[napi(object)]
pub struct Address {
    /// The IP address.
    pub host: String,
    /// The port.
    pub port: u32,
}

/// A key of the ring (never the key itself).
#[napi(object)]
pub struct KeyEntry {
    /// The key's fingerprint: 16 hex digits.
    pub fingerprint: String,
    /// Whether it seals what this node sends.
    pub primary: bool,
    /// Datagrams this run sealed with it.
    pub sealed: f64,
}

/// An error whose `code` JavaScript sees (index.js turns `InvalidArg` into
/// a `TypeError`).
fn coded(code: &str, e: impl std::fmt::Display) -> Error {
    Error::new(Status::GenericFailure, format!("[{code}] {e}"))
}

/// The library's errors, with a code JavaScript can test.
fn from_lib(e: eventcast::Error) -> Error {
    let code = match &e {
        // Its message holds names of the host's interfaces, as they are.
        eventcast::Error::Config(eventcast::ConfigError::UnknownInterface { .. }) => {
            return to_bson::type_error(e.to_string())
        }
        // Option names as JavaScript spells them.
        eventcast::Error::Config(_) => {
            return to_bson::type_error(crate::options::js_names(&e.to_string()))
        }
        eventcast::Error::Args(_) => return to_bson::type_error(e.to_string()),
        eventcast::Error::Io { source, .. } => match source.kind() {
            std::io::ErrorKind::AddrInUse => "EADDRINUSE",
            std::io::ErrorKind::AddrNotAvailable => "EADDRNOTAVAIL",
            std::io::ErrorKind::PermissionDenied => "EACCES",
            _ => "EIO",
        },
        eventcast::Error::Emit(eventcast::EmitError::QueueFull { .. }) => "EQUEUEFULL",
        eventcast::Error::Emit(eventcast::EmitError::MessageTooLarge { .. }) => "EMSGSIZE",
        eventcast::Error::Emit(_) => "EEMIT",
        eventcast::Error::Legacy(_) => "ELEGACY",
        eventcast::Error::Kdf(_) => "EKEY",
        eventcast::Error::Keyring(_) => "EKEY",
        eventcast::Error::Pattern(_) => return to_bson::type_error(e.to_string()),
        _ => "EEVENTCAST",
    };
    coded(code, format!("{e:#}"))
}

fn fingerprint(text: &str) -> Result<Fingerprint> {
    text.parse().map_err(|_| {
        to_bson::type_error(format!("{text:?} is not a key fingerprint (16 hex digits)"))
    })
}

#[napi]
impl NativeNode {
    /// A stopped node; `dispatch` receives arrays of received events and
    /// notices on the main thread.
    #[napi(constructor)]
    pub fn new(
        options: NodeOptions,
        dispatch: Function<'_, Unknown<'static>, Unknown<'static>>,
    ) -> Result<Self> {
        let config = to_config(options)?;
        let node = napi::bindgen_prelude::within_runtime_if_available(|| Eventcast::new(config))
            .map_err(from_lib)?;
        let delivery = Delivery::new(&dispatch)?;
        let to_queue = delivery.clone();
        // Own emits reach JS listeners from index.js, synchronously.
        let listener = node
            .on("**", move |event| {
                if !event.is_local() {
                    to_queue.push(Item::Event(event.clone()));
                }
            })
            .map_err(from_lib)?;
        let to_queue = delivery.clone();
        let notice_listener = node.on_notice(move |n| {
            if notice::wanted(n) {
                to_queue.push(Item::Notice(n.clone()));
            }
        });
        let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
        logs::register(key, node.log_levels());
        Ok(Self {
            node,
            delivery,
            key,
            listener,
            notice_listener,
        })
    }

    /// Binds, joins the group and starts receiving (resolves when done).
    #[napi]
    pub fn start<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
        let node = self.node.clone();
        env.spawn_future(async move { node.start().await.map_err(from_lib) })
    }

    /// Sends what is queued, leaves the group, closes the socket.
    #[napi]
    pub fn stop<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
        let node = self.node.clone();
        env.spawn_future(async move {
            node.stop().await;
            Ok(())
        })
    }

    /// Whether the node keeps the process alive (while it runs).
    #[napi]
    pub fn keep_alive(&self, env: &Env, on: bool) -> Result<()> {
        self.delivery.keep_alive(env, on)
    }

    /// Whether the node runs.
    #[napi]
    pub fn is_running(&self) -> bool {
        self.node.is_running()
    }

    /// The sender id: 16 hex digits.
    #[napi(getter)]
    pub fn id(&self) -> String {
        self.node.id().to_string()
    }

    /// Where the socket is bound, while running.
    #[napi]
    pub fn local_address(&self) -> Option<Address> {
        self.node.local_addr().map(|a| Address {
            host: a.ip().to_string(),
            port: u32::from(a.port()),
        })
    }

    /// Sends `args` (a JS array) as event `name`. Fires no JS listener:
    /// index.js does.
    #[napi]
    pub fn emit(&self, env: &Env, name: String, args: Unknown<'_>) -> Result<()> {
        let args = to_bson::args(env.raw(), args.raw())?;
        // A lone large Buffer (a frame): its bytes sent without a copy.
        self.node.emit_list(&name, args).map_err(from_lib)
    }

    /// Like `emit`, but waits for room in a full send queue.
    #[napi]
    pub fn emit_async<'env>(
        &self,
        env: &'env Env,
        name: String,
        args: Unknown<'_>,
    ) -> Result<PromiseRaw<'env, ()>> {
        let args = to_bson::args(env.raw(), args.raw())?;
        let node = self.node.clone();
        env.spawn_future(async move { node.emit_list_wait(&name, args).await.map_err(from_lib) })
    }

    /// Counters (see stats.rs).
    #[napi]
    pub fn stats(&self) -> serde_json::Value {
        stats::to_json(&self.node.stats(), self.delivery.dropped())
    }

    /// The nodes heard.
    #[napi]
    pub fn peers<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, serde_json::Value>> {
        let node = self.node.clone();
        env.spawn_future(async move { Ok(stats::peers_to_json(&node.peers().await)) })
    }

    /// Each component's level, by name (`off` ... `trace`).
    #[napi]
    pub fn log_levels(&self) -> Vec<String> {
        self.node
            .log_levels()
            .all()
            .into_iter()
            .map(|(_, l)| level_name(l).to_owned())
            .collect()
    }

    /// Sets one component's level (or all, without one); `level` is a name
    /// `parse_level` knows.
    #[napi]
    pub fn set_log_level(&self, component: Option<String>, level: String) -> Result<()> {
        self.node
            .log_levels()
            .set_named(component.as_deref(), &level)
            .map_err(|e| to_bson::type_error(e.to_string()))
    }

    /// The component names, in the order `logLevels` lists them.
    #[napi]
    pub fn log_components() -> Vec<String> {
        Component::ALL.iter().map(|c| c.name().to_owned()).collect()
    }

    /// Adds a key to the ring; resolves to its fingerprint.
    #[napi]
    pub fn add_key<'env>(
        &self,
        env: &'env Env,
        key: Either<String, Buffer>,
    ) -> Result<PromiseRaw<'env, String>> {
        let secret = secret("key", key)?;
        let node = self.node.clone();
        env.spawn_future(async move {
            node.keys()
                .add(secret)
                .await
                .map(|f| f.to_string())
                .map_err(from_lib)
        })
    }

    /// Makes a key the one that seals.
    #[napi]
    pub fn use_key<'env>(&self, env: &'env Env, fp: String) -> Result<PromiseRaw<'env, ()>> {
        let fp = fingerprint(&fp)?;
        let node = self.node.clone();
        env.spawn_future(async move { node.keys().set_primary(fp).await.map_err(from_lib) })
    }

    /// Removes a key from the ring.
    #[napi]
    pub fn remove_key<'env>(&self, env: &'env Env, fp: String) -> Result<PromiseRaw<'env, ()>> {
        let fp = fingerprint(&fp)?;
        let node = self.node.clone();
        env.spawn_future(async move { node.keys().remove(fp).await.map_err(from_lib) })
    }

    /// The keys of the ring.
    #[napi]
    pub fn keys<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, Vec<KeyEntry>>> {
        let node = self.node.clone();
        env.spawn_future(async move {
            let keys = node.keys().list().await.map_err(from_lib)?;
            Ok(keys
                .into_iter()
                .map(|k| KeyEntry {
                    fingerprint: k.fingerprint.to_string(),
                    primary: k.primary,
                    sealed: k.sealed as f64,
                })
                .collect())
        })
    }

    /// Opens the REPL; resolves to where it listens.
    #[napi]
    pub fn open_repl<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, Address>> {
        let node = self.node.clone();
        env.spawn_future(async move {
            let addr = node.repl().open().await.map_err(from_lib)?;
            Ok(Address {
                host: addr.ip().to_string(),
                port: u32::from(addr.port()),
            })
        })
    }

    /// REPL clients connected now.
    #[napi]
    pub fn repl_clients(&self) -> u32 {
        self.node.repl().clients() as u32
    }

    /// Where the REPL listens, while open.
    #[napi]
    pub fn repl_address(&self) -> Option<Address> {
        self.node.repl().addr().map(|a| Address {
            host: a.ip().to_string(),
            port: u32::from(a.port()),
        })
    }
}

impl Drop for NativeNode {
    fn drop(&mut self) {
        logs::unregister(self.key);
        // The listeners hold the queue; the node may outlive this object
        // for a moment (its task ends on its own).
        self.node.off("**", self.listener);
        self.node.off_notice(self.notice_listener);
    }
}
