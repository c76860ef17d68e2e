'use strict'
// Options: 0.1.x's, camelCase, with its defaults, plus every other field of
// the Rust `Config`. Names and types are checked here (a TypeError naming the
// option); values that need parsing (addresses, settings that cannot work
// together) are checked by the native side, with the same kind of error.

/** Options whose value is a duration in milliseconds. */
const MILLIS = [
  'messageTtl', 'nackBackoffMin', 'nackBackoffMax', 'repairTimeout',
  'retransmitWindow', 'repairLinger', 'heartbeatMin', 'heartbeatMax', 'busyPoll'
]

/** Options whose value is a count or a number of bytes. */
const COUNTS = [
  'maxPayloadSize', 'recvBufferSize', 'subscriptionBytes', 'maxMessageSize',
  'maxPartialBytes', 'maxPartialBytesPerSender', 'maxPartialMessagesPerSender',
  'maxSenders', 'retransmitWindowBytes', 'rateLimit', 'initialRate', 'minRate',
  'burst', 'maxSendQueueBytes', 'replMaxClients', 'maxRetransmitAttempts',
  'legacyMaxRetransmitAttempts'
]

const STRINGS = ['address', 'multicastMembership', 'multicastInterface', 'replHost', 'insecureLegacyKey']

const BOOLEANS = [
  'multicastLoopback', 'replEnabled', 'log', 'ordered', 'adaptiveRate', 'dangerReplAnyHost', 'sendOnly'
]

/** Options whose value is an array of numbers of bytes. */
const SIZE_LISTS = ['expectedEventSizes']

/** The 0.1.x defaults that the options object shows (`config`). */
const DEFAULTS = {
  address: '0.0.0.0',
  port: null,
  multicastMembership: '224.0.0.1',
  multicastInterface: null,
  multicastLoopback: true,
  multicastTtl: 1,
  replPort: null,
  replHost: 'localhost',
  replEnabled: false,
  encrypt: false,
  maxPayloadSize: 1024,
  messageTtl: 3000,
  log: false,
  logLevel: null,
  protocol: 'native'
}

const ENCRYPT_KEYS = ['key', 'decryptKeys', 'dangerAcceptPlaintext', 'dangerSkipHandshake']

function fail (name, what, value) {
  let shown
  try {
    shown = typeof value === 'string' ? JSON.stringify(value) : String(value)
  } catch (_) {
    shown = typeof value
  }
  return new TypeError(`eventcast option ${name} must be ${what}, got ${shown}`)
}

function isBytes (v) {
  return v instanceof Uint8Array
}

function checkKey (name, v) {
  if ((typeof v === 'string' && v !== '') || (isBytes(v) && v.length === 16)) {
    return typeof v === 'string' ? v : Buffer.from(v)
  }
  throw fail(name, 'a non-empty passphrase or a 16-byte Buffer', isBytes(v) ? `${v.length} bytes` : v)
}

function checkEncrypt (v, native) {
  if (v === false || v === null || v === undefined) return
  if (typeof v !== 'object') throw fail('encrypt', 'an object {key} or false', v)
  for (const k of Object.keys(v)) {
    if (!ENCRYPT_KEYS.includes(k)) throw new TypeError(`unknown eventcast option encrypt.${k}`)
  }
  native.key = checkKey('encrypt.key', v.key)
  if (v.decryptKeys !== undefined) {
    if (!Array.isArray(v.decryptKeys)) throw fail('encrypt.decryptKeys', 'an array of keys', v.decryptKeys)
    native.decryptKeys = v.decryptKeys.map((k, i) => checkKey(`encrypt.decryptKeys[${i}]`, k))
  }
  if (v.dangerAcceptPlaintext !== undefined) {
    if (typeof v.dangerAcceptPlaintext !== 'boolean') {
      throw fail('encrypt.dangerAcceptPlaintext', 'a boolean', v.dangerAcceptPlaintext)
    }
    native.dangerAcceptPlaintext = v.dangerAcceptPlaintext
  }
  if (v.dangerSkipHandshake !== undefined) {
    if (typeof v.dangerSkipHandshake !== 'boolean') {
      throw fail('encrypt.dangerSkipHandshake', 'a boolean', v.dangerSkipHandshake)
    }
    native.dangerSkipHandshake = v.dangerSkipHandshake
  }
}

function checkPort (name, v) {
  if (!Number.isInteger(v) || v < 1 || v > 65535) throw fail(name, 'an integer port in 1-65535', v)
  return v
}

/** A random port in [min, max] (default 49152-65535, RFC 6335's dynamic range). */
function getRandomPort (min, max) {
  if (min == null) min = 49152
  if (max == null) max = 65535
  return min + Math.floor(Math.random() * (max - min + 1))
}

/**
 * Checks the options given to `Eventcast(opts)` and returns `config` (what
 * the instance shows) and `native` (what the addon takes).
 */
function normalize (opts) {
  if (typeof opts === 'number') opts = { port: opts }
  if (opts === undefined || opts === null) opts = {}
  if (typeof opts !== 'object') {
    throw new TypeError(`eventcast options must be an object or a port number, got ${typeof opts}`)
  }
  const config = Object.assign({}, DEFAULTS)
  const native = {}
  for (const name of Object.keys(opts)) {
    let v = opts[name]
    if (name === 'messageRetransmitAttemps') {
      // 0.1.x's own default options spelled it so.
      if (v == null) continue
      if (!Number.isInteger(v) || v < 0) throw fail(name, 'a non-negative integer', v)
      native.maxRetransmitAttempts = v
      config[name] = v
      continue
    }
    if (!(name in DEFAULTS) && !MILLIS.includes(name) && !COUNTS.includes(name) &&
        !STRINGS.includes(name) && !BOOLEANS.includes(name) && !SIZE_LISTS.includes(name)) {
      throw new TypeError(`unknown eventcast option ${name}`)
    }
    if (v === undefined || v === null) continue
    if (name === 'port' || name === 'replPort') {
      native[name] = checkPort(name, v)
    } else if (name === 'multicastTtl') {
      if (!Number.isInteger(v) || v < 0 || v > 255) throw fail(name, 'an integer in 0-255', v)
      native[name] = v
    } else if (name === 'encrypt') {
      checkEncrypt(v, native)
      if (v === false) v = false
    } else if (name === 'protocol') {
      if (v !== 'native' && v !== 'legacy-v3') throw fail(name, "'native' or 'legacy-v3'", v)
      native[name] = v
    } else if (name === 'logLevel') {
      if (typeof v !== 'string' && typeof v !== 'number') throw fail(name, 'a level name or number', v)
    } else if (STRINGS.includes(name)) {
      if (typeof v !== 'string') throw fail(name, 'a string', v)
      native[name] = v
    } else if (BOOLEANS.includes(name)) {
      if (typeof v !== 'boolean') throw fail(name, 'a boolean', v)
      if (name !== 'log') native[name] = v
    } else if (MILLIS.includes(name)) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
        throw fail(name, 'a duration in milliseconds (a number >= 0)', v)
      }
      native[name] = v
    } else if (COUNTS.includes(name)) {
      if (!Number.isSafeInteger(v) || v < 0) throw fail(name, 'a non-negative integer', v)
      if (name.endsWith('Attempts') || name === 'replMaxClients') {
        if (v > 0xffffffff) throw fail(name, 'at most 4294967295', v)
      }
      native[name] = v
    } else if (SIZE_LISTS.includes(name)) {
      // How many, and in what range, the library checks (its message
      // names the option too).
      if (!Array.isArray(v)) throw fail(name, 'an array of sizes in bytes', v)
      v = v.map((n, i) => {
        if (!Number.isSafeInteger(n) || n < 0) throw fail(`${name}[${i}]`, 'a non-negative integer', n)
        return n
      })
      native[name] = v
    }
    config[name] = v
  }
  if (config.port == null) config.port = getRandomPort()
  native.port = config.port
  return { config, native }
}

module.exports = { normalize, getRandomPort }
