'use strict'
/**
 * eventcast: a network event emitter. Node's EventEmitter API over UDP
 * multicast, on the Rust eventcast core (a native addon).
 *
 *   const Eventcast = require('eventcast')
 *   const ec = Eventcast(9000)
 *   ec.start()
 *   ec.on('myevent', (a, b) => console.log(a, b))
 *   ec.emit('myevent', 'hello', 42)
 */

const { EventEmitter } = require('node:events')
const os = require('node:os')
const { NativeNode, PROTOCOL_VERSION } = require('./native.js')
const { normalize, getRandomPort } = require('./lib/options.js')
const levels = require('./lib/levels.js')
const { matcher } = require('./lib/pattern.js')
const { eventIterator } = require('./lib/iterator.js')

const emitLocal = EventEmitter.prototype.emit
const kState = Symbol('eventcast.state')

/** How often a running node checks its replay counter (ms). */
const WATCH_INTERVAL = 1000

/** Started nodes: kept from the garbage collector while they run. */
const running = new Set()

/**
 * Names the node or EventEmitter emits itself: `emit` of one fires only the
 * local listeners, and one from the network is dropped (a peer must not
 * stop, fail or report losses on this node's behalf).
 */
const LOCAL_ONLY = new Set(['newListener', 'removeListener', 'error', 'start', 'stop', 'loss', 'replConnected', 'replDisconnected'])

/**
 * The native layer's errors as JavaScript ones: `TypeError` for bad input,
 * otherwise an `Error` with the `code` the message starts with (`[EMSGSIZE]`).
 */
function translate (e) {
  if (!(e instanceof Error)) return e
  if (/** @type {any} */ (e).code === 'InvalidArg') {
    return Object.assign(new TypeError(e.message), { code: 'ERR_INVALID_ARG_TYPE' })
  }
  const m = /^\[([A-Z0-9_]+)\] ([\s\S]*)$/.exec(e.message)
  if (m) {
    return Object.assign(new Error(m[2]), { code: m[1] })
  }
  return e
}

/**
 * Native calls that are pending. The addon's Promises do not keep the event
 * loop alive by themselves: while any is pending, a timer does.
 */
let pendingCalls = 0
let keeper = null

function settled () {
  if (--pendingCalls === 0) {
    clearInterval(keeper)
    keeper = null
  }
}

/** The Promise `fn` gives, its errors translated (a synchronous throw too), the process kept alive meanwhile. */
function promised (fn) {
  let p
  try {
    p = fn()
  } catch (e) {
    return Promise.reject(translate(e))
  }
  if (pendingCalls++ === 0) keeper = setInterval(() => {}, 1 << 30)
  p.then(settled, settled)
  return p.catch((e) => { throw translate(e) })
}

function call (fn) {
  try {
    return fn()
  } catch (e) {
    throw translate(e)
  }
}

/** Reports a problem: an 'error' event if anyone listens, else a log line. */
function report (node, err) {
  if (node.listenerCount('error') > 0) {
    emitLocal.call(node, 'error', err)
  } else {
    console.error(`eventcast ${node.id}: ${err.code ? err.code + ': ' : ''}${err.message}`)
  }
}

function errorOf (notice) {
  const err = new Error(notice.message)
  for (const [k, v] of Object.entries(notice)) {
    if (k !== 'type' && k !== 'message') err[k] = v
  }
  return err
}

/** Fires listeners and iterators for an event (received or own). */
function deliver (node, name, args) {
  const s = node[kState]
  if (s.iterators.size > 0) {
    for (const it of s.iterators) if (it.matches(name)) it.push({ name, args })
  }
  return emitLocal.call(node, name, ...args)
}

/** What the addon hands over, on the main thread: arrays of events and notices. */
function dispatch (ref, batch) {
  const node = ref.deref()
  if (node === undefined) return
  for (const item of batch) {
    try {
      if (Array.isArray(item)) {
        const name = item[0]
        if (LOCAL_ONLY.has(name)) {
          dropReserved(node, name)
          continue
        }
        deliver(node, name, item.slice(1))
      } else if (item.type === 'error') {
        report(node, errorOf(item))
      } else if (item.type === 'loss') {
        emitLocal.call(node, 'loss', item)
      } else if (item.type === 'replConnected' || item.type === 'replDisconnected') {
        emitLocal.call(node, item.type, item.clients)
      }
    } catch (e) {
      // A listener threw: an uncaught exception, as from any emitter; the
      // other events of the batch are still delivered.
      process.nextTick(() => { throw e })
    }
  }
}

/**
 * Counts an event from the network named as one the node emits itself, and
 * says so on stderr the first time for each name.
 */
function dropReserved (node, name) {
  const s = node[kState]
  s.reservedDropped++
  if (s.reservedLogged.has(name)) return
  s.reservedLogged.add(name)
  console.error(`eventcast ${node.id}: an event named '${name}' arrived from the network and was dropped: ` +
    'this node emits it itself (counted in stats().reservedDropped; this message once per name)')
}

/** Reports replays, which the library counts but does not announce. */
function watch (node) {
  const s = node[kState]
  s.replayed = s.native.stats().protocol.dropped.replayed
  s.watch = setInterval(() => {
    const now = s.native.stats().protocol.dropped.replayed
    if (now > s.replayed) {
      const count = now - s.replayed
      const err = Object.assign(new Error(`${count} replayed datagrams dropped (a datagram heard before, sent again)`), { code: 'EREPLAY', count })
      s.replayed = now
      report(node, err)
    }
  }, WATCH_INTERVAL)
  s.watch.unref()
}

/** Runs `op` after every earlier start/stop, whatever they gave. */
function enqueue (node, op) {
  const s = node[kState]
  const p = s.chain.then(op)
  s.chain = p.catch(() => {})
  return p
}

/** Throws, before anything is done, for a callback that is not one. */
function checkCallback (cb) {
  if (cb !== undefined && cb !== null && typeof cb !== 'function') {
    throw new TypeError(`the callback must be a function, got ${typeof cb}`)
  }
}

/** A Promise without a callback; with one, calls it (error first), always. */
function settle (p, cb) {
  if (cb === undefined || cb === null) return p
  p.then(() => process.nextTick(cb, null), (e) => process.nextTick(cb, e))
}

async function doStart (node) {
  const s = node[kState]
  s.stopped = false
  if (s.native.isRunning()) return
  await promised(() => s.native.start())
  s.native.keepAlive(true)
  running.add(node)
  watch(node)
  emitLocal.call(node, 'start')
}

async function doStop (node) {
  const s = node[kState]
  s.stopped = true
  if (!s.native.isRunning()) {
    // A node never started may still hold the process for its REPL.
    s.native.keepAlive(false)
    return
  }
  clearInterval(s.watch)
  await promised(() => s.native.stop())
  s.native.keepAlive(false)
  running.delete(node)
  emitLocal.call(node, 'stop')
}

/**
 * A node of the group. Works with or without `new`; `Eventcast(9000)` is
 * `Eventcast({port: 9000})`. See index.d.ts for the options.
 */
function Eventcast (opts) {
  if (!(this instanceof Eventcast)) return new Eventcast(opts)
  EventEmitter.call(/** @type {any} */ (this))
  const { config, native: nativeOptions } = normalize(opts)
  const ref = new WeakRef(this)
  const native = call(() => new NativeNode(nativeOptions, (batch) => dispatch(ref, batch)))
  Object.defineProperty(this, kState, {
    value: { native, chain: Promise.resolve(), iterators: new Set(), watch: null, replayed: 0, stopped: false, reservedDropped: 0, reservedLogged: new Set() }
  })
  /** The options in force, 0.1.x defaults filled in. */
  this.config = config
  if (config.log) {
    const level = config.logLevel == null ? 'error' : config.logLevel
    if (levels.toNative(level) === undefined) {
      throw new TypeError(`eventcast option logLevel must be a level name or number, got ${level}`)
    }
    this.logLevel(level)
  }
  if (config.replEnabled) {
    // A listening REPL keeps the process alive, as 0.1.x's server did,
    // until stop() (or for ever, if the node is never stopped).
    promised(() => native.openRepl())
      .then(() => { if (!this[kState].stopped) native.keepAlive(true) })
      .catch((e) => report(this, e))
  }
}

Object.setPrototypeOf(Eventcast.prototype, EventEmitter.prototype)
Object.setPrototypeOf(Eventcast, EventEmitter)

Eventcast.default = Eventcast

Object.defineProperty(Eventcast.prototype, 'id', {
  /** This node's sender id: 16 hex digits (a new one at each start after the first). */
  get () { return this[kState].native.id },
  enumerable: true
})

/**
 * Sends `name` with `args` to the group and fires this node's listeners
 * once. While stopped, only the local listeners fire. Throws a TypeError,
 * sending nothing, for an argument BSON cannot carry.
 */
Eventcast.prototype.emit = function emit (name, ...args) {
  if (typeof name === 'string' && !LOCAL_ONLY.has(name)) {
    call(() => this[kState].native.emit(name, args))
  } else if (typeof name !== 'symbol' && typeof name !== 'string') {
    throw new TypeError(`an event name must be a string, got ${typeof name}`)
  }
  return deliver(this, name, args)
}

/**
 * Like `emit`, but resolves once the event is queued, waiting for room when
 * the send queue is full; then fires the local listeners.
 */
Eventcast.prototype.emitAsync = async function emitAsync (name, ...args) {
  if (typeof name !== 'string') throw new TypeError(`an event name must be a string, got ${typeof name}`)
  if (!LOCAL_ONLY.has(name)) await promised(() => this[kState].native.emitAsync(name, args))
  return deliver(this, name, args)
}

/** Starts the node: a Promise, or `cb(err)`; idempotent; emits 'start'. */
Eventcast.prototype.start = function start (cb) {
  checkCallback(cb)
  return settle(enqueue(this, () => doStart(this)), cb)
}

/** Stops the node: a Promise, or `cb(err)`; idempotent; emits 'stop'. */
Eventcast.prototype.stop = function stop (cb) {
  checkCallback(cb)
  return settle(enqueue(this, () => doStop(this)), cb)
}

/** Whether the node runs. */
Eventcast.prototype.isRunning = function isRunning () {
  return this[kState].native.isRunning()
}

/**
 * `host:port`, as 0.1.x: the address bound, or this host's first IPv4
 * address that is not a loopback one (127.0.0.1 without one) when bound to
 * every address; the port bound, or the configured one while stopped.
 */
Eventcast.prototype.getAddress = function getAddress () {
  const bound = this[kState].native.localAddress()
  const host = (bound && bound.host) || this.config.address
  const port = bound ? bound.port : this.config.port
  const any = !host || host === '0.0.0.0' || host === '::'
  const shown = any ? hostAddress() : host
  return shown.includes(':') ? `[${shown}]:${port}` : `${shown}:${port}`
}

/** This host's first non-loopback IPv4 address, or 127.0.0.1 (0.1.x's `ip.address()`). */
function hostAddress () {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list || []) {
      if (a.family === 'IPv4' && !a.internal) return a.address
    }
  }
  return '127.0.0.1'
}

/** REPL clients connected now (0 without a REPL). */
Eventcast.prototype.clients = function clients () {
  return this.config.replEnabled ? this[kState].native.replClients() : 0
}

/** Where the REPL listens, while it is open: `{host, port}` or null. */
Eventcast.prototype.replAddress = function replAddress () {
  return this[kState].native.replAddress()
}

/**
 * `logLevel()`: every component's level, bunyan numbers. `logLevel(level)`
 * sets all; `logLevel(component, level)` one ('eventcast' or 'repl'). An
 * unknown level or component is ignored with a warning.
 */
Eventcast.prototype.logLevel = function logLevel (component, level) {
  const native = this[kState].native
  if (component === undefined && level === undefined) {
    return native.logLevels().map(levels.toNumber)
  }
  if (level === undefined) {
    level = component
    component = undefined
  }
  const name = levels.toNative(level)
  if (name === undefined) {
    process.emitWarning(`unknown log level ${JSON.stringify(level)}: ignored`, 'EventcastWarning')
    return
  }
  if (component !== undefined && !NativeNode.logComponents().includes(component)) {
    process.emitWarning(`unknown log component ${JSON.stringify(component)}: ignored`, 'EventcastWarning')
    return
  }
  native.setLogLevel(component === undefined ? null : component, name)
}

/** Counters: `protocol` (with `dropped` by reason), `legacy`, and the node's own. */
Eventcast.prototype.stats = function stats () {
  const s = this[kState]
  return Object.assign(s.native.stats(), { reservedDropped: s.reservedDropped })
}

/** The nodes heard: `[{id, address, sinceHeard, lead, delivered, lost}]`. */
Eventcast.prototype.peers = function peers () {
  return promised(() => this[kState].native.peers())
}

/** Adds a key (passphrase or 16-byte Buffer); resolves to its fingerprint. */
Eventcast.prototype.addKey = function addKey (key) {
  if (typeof key !== 'string' && !(key instanceof Uint8Array)) {
    return Promise.reject(new TypeError(`addKey: the key must be a passphrase (a string) or 16 bytes (a Buffer or Uint8Array), got ${describe(key)}`))
  }
  return promised(() => this[kState].native.addKey(key))
}

/** Makes the key with this fingerprint the one that seals. */
Eventcast.prototype.useKey = function useKey (fingerprint) {
  if (typeof fingerprint !== 'string') return Promise.reject(fingerprintError('useKey', fingerprint))
  return promised(() => this[kState].native.useKey(fingerprint))
}

/** Removes the key with this fingerprint from the ring. */
Eventcast.prototype.removeKey = function removeKey (fingerprint) {
  if (typeof fingerprint !== 'string') return Promise.reject(fingerprintError('removeKey', fingerprint))
  return promised(() => this[kState].native.removeKey(fingerprint))
}

function fingerprintError (method, value) {
  return new TypeError(`${method}: the fingerprint must be a string (as keys() and addKey() give it), got ${describe(value)}`)
}

/** What a bad argument was, for an error message. */
function describe (value) {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : typeof value
}

/** The keys of the ring: `[{fingerprint, primary, sealed}]`. */
Eventcast.prototype.keys = function keys () {
  return promised(() => this[kState].native.keys())
}

/**
 * An async iterator of the events (`{name, args}`), received and own, with
 * one of these names or matching one of these patterns (`sensor.*`,
 * `sensor.**`); every event with none. Stops at `break`.
 */
Eventcast.prototype.events = function events (...names) {
  const s = this[kState]
  const it = eventIterator(matcher(names), () => s.iterators.delete(it))
  s.iterators.add(it)
  return it
}

module.exports = Eventcast
// Set as `module.exports.name` so that Node's ESM loader finds them as
// named exports (`import { Eventcast } from 'eventcast'`).
module.exports.Eventcast = Eventcast
module.exports.getRandomPort = getRandomPort
/** The wire protocol version this package speaks (0.1.x spoke 3; see `protocol: 'legacy-v3'`). */
module.exports.protocolVersion = PROTOCOL_VERSION
