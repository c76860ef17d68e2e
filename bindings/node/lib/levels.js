'use strict'
// Log levels as 0.1.x (bunyan) spelled them: numbers 10 (trace) to 60
// (fatal), or names. The Rust side has no `fatal`: it is `error` there.
// `off` (70 here) silences a component.

const BY_NAME = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, off: 70 }
const NATIVE = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'error', 70: 'off' }

/** The native level name for a bunyan number or name, or undefined. */
function toNative (level) {
  if (typeof level === 'string') {
    const n = BY_NAME[level.toLowerCase()]
    return n === undefined ? undefined : NATIVE[n]
  }
  if (typeof level === 'number') return NATIVE[level]
  return undefined
}

/** The bunyan number of a native level name. */
function toNumber (name) {
  return BY_NAME[name]
}

module.exports = { toNative, toNumber }
