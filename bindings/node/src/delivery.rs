//! How events and notices reach JavaScript: the node's task pushes them
//! into a queue, and a thread-safe function drains it on Node's main
//! thread, in order, in batches.
//!
//! The thread-safe function is created weak (it does not keep the process
//! alive); [`Delivery::keep_alive`] references it while the node runs.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};

use eventcast::bson::{Bson, RawArray, RawBsonRef};
use eventcast::{Event, Notice};
use napi::bindgen_prelude::{Function, ToNapiValue, Unknown};
use napi::sys::{self, napi_env, napi_value};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Result, Status};

use crate::notice;
use crate::raw;
use crate::to_js::ToJs;

/// Items handed to JavaScript in one call: enough to amortise the call,
/// few enough not to hold the event loop for long.
const BATCH: usize = 4096;

/// Items the queue holds before it drops new ones (counted in
/// `stats().undelivered`): JavaScript is not keeping up.
const MAX_QUEUED: usize = 1 << 20;

/// What JavaScript is told.
pub(crate) enum Item {
    /// An event received from another node.
    Event(Event),
    /// A lifecycle change or a problem.
    Notice(Notice),
}

type Tsfn = ThreadsafeFunction<(), Unknown<'static>, Batch, Status, false, true, 0>;

/// The queue between the node's task and JavaScript.
pub(crate) struct Delivery {
    queue: Mutex<VecDeque<Item>>,
    /// Whether a call of the thread-safe function is on its way.
    scheduled: AtomicBool,
    tsfn: OnceLock<Tsfn>,
    referenced: AtomicBool,
    dropped: AtomicU64,
}

impl Delivery {
    /// A queue whose items are passed, in arrays, to `dispatch`.
    pub(crate) fn new(
        dispatch: &Function<'_, Unknown<'static>, Unknown<'static>>,
    ) -> Result<Arc<Self>> {
        let delivery = Arc::new(Self {
            queue: Mutex::new(VecDeque::new()),
            scheduled: AtomicBool::new(false),
            tsfn: OnceLock::new(),
            referenced: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
        });
        // Weak: the function holds the queue, not the other way round.
        let weak: Weak<Self> = Arc::downgrade(&delivery);
        let tsfn = dispatch
            .build_threadsafe_function::<()>()
            .callee_handled::<false>()
            .weak::<true>()
            .build_callback(move |_ctx| {
                Ok(Batch(
                    weak.upgrade().map(|d| d.take_batch()).unwrap_or_default(),
                ))
            })?;
        let _ = delivery.tsfn.set(tsfn);
        Ok(delivery)
    }

    /// Queues an item for JavaScript (from any thread).
    pub(crate) fn push(&self, item: Item) {
        {
            let mut queue = self.queue();
            if queue.len() >= MAX_QUEUED {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
            queue.push_back(item);
        }
        if !self.scheduled.swap(true, Ordering::AcqRel) {
            self.wake();
        }
    }

    /// Items dropped because JavaScript did not keep up.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Whether the queue keeps Node's event loop alive (while the node
    /// runs) or not. Main thread only.
    pub(crate) fn keep_alive(&self, env: &Env, on: bool) -> Result<()> {
        let Some(tsfn) = self.tsfn.get() else {
            return Ok(());
        };
        if self.referenced.swap(on, Ordering::AcqRel) == on {
            return Ok(());
        }
        // SAFETY: called on the main thread with its env, on a live
        // thread-safe function (released only when `self` is dropped).
        let status = unsafe {
            if on {
                sys::napi_ref_threadsafe_function(env.raw(), tsfn.raw())
            } else {
                sys::napi_unref_threadsafe_function(env.raw(), tsfn.raw())
            }
        };
        napi::check_status!(status)
    }

    fn wake(&self) {
        if let Some(tsfn) = self.tsfn.get() {
            tsfn.call((), ThreadsafeFunctionCallMode::NonBlocking);
        }
    }

    /// The next batch, on the main thread; asks for another call if items
    /// are left.
    fn take_batch(&self) -> Vec<Item> {
        let mut queue = self.queue();
        let n = queue.len().min(BATCH);
        let batch: Vec<Item> = queue.drain(..n).collect();
        if queue.is_empty() {
            self.scheduled.store(false, Ordering::Release);
        } else {
            drop(queue);
            self.wake();
        }
        batch
    }

    fn queue(&self) -> MutexGuard<'_, VecDeque<Item>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Items on their way to JavaScript: an array whose elements are events
/// (arrays `[name, ...args]`) and notices (objects with a `type`).
pub(crate) struct Batch(Vec<Item>);

impl ToNapiValue for Batch {
    unsafe fn to_napi_value(env: napi_env, val: Self) -> Result<napi_value> {
        let array = raw::array(env, val.0.len())?;
        let mut to_js = ToJs::new(env);
        for (i, item) in val.0.iter().enumerate() {
            let value = match item {
                Item::Event(event) => event_value(env, &mut to_js, event)?,
                Item::Notice(n) => notice::to_js(env, n)?,
            };
            raw::set_element(env, array, i as u32, value)?;
        }
        Ok(array)
    }
}

/// `[name, ...args]` of an event kept as it arrived, converted from the
/// bytes that arrived: strings and binaries straight from them (one copy,
/// into JS, not a decode into `Bson` first), anything else through its
/// `Bson` value; the values `event_value` gives from the decoded list.
/// `None` if an element does not read (the check on arrival rules that
/// out): the caller decodes the list then.
fn kept_event_value(
    env: napi_env,
    to_js: &mut ToJs,
    name: &str,
    list: &RawArray,
) -> Result<Option<napi_value>> {
    let array = raw::array(env, list.into_iter().count() + 1)?;
    raw::set_element(env, array, 0, raw::string(env, name)?)?;
    for (i, item) in list.into_iter().enumerate() {
        let Ok(value) = item else {
            return Ok(None);
        };
        let converted = match value {
            RawBsonRef::String(s) => raw::string(env, s)?,
            RawBsonRef::Binary(b) => raw::buffer(env, b.bytes)?,
            other => match Bson::try_from(other) {
                Ok(value) => to_js.value(&value)?,
                Err(_) => return Ok(None),
            },
        };
        raw::set_element(env, array, i as u32 + 1, converted)?;
    }
    Ok(Some(array))
}

fn event_value(env: napi_env, to_js: &mut ToJs, event: &Event) -> Result<napi_value> {
    if let Some(list) = event.raw_list() {
        if let Some(array) = kept_event_value(env, to_js, event.name(), list)? {
            return Ok(array);
        }
    }
    let args = event.raw_args();
    let array = raw::array(env, args.len() + 1)?;
    raw::set_element(env, array, 0, raw::string(env, event.name())?)?;
    for (i, arg) in args.iter().enumerate() {
        raw::set_element(env, array, i as u32 + 1, to_js.value(arg)?)?;
    }
    Ok(array)
}
