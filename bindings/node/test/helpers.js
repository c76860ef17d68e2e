'use strict'
// Shared by the test files: the namespace check, nodes in pairs, waiting for
// events. Every test that opens a socket runs inside the private network
// namespace made by scripts/netns (`npm test` enters it); outside it, the
// suite refuses to run.

const fs = require('node:fs')
const path = require('node:path')
const { once } = require('node:events')

const Eventcast = require('..')

function inPrivateNamespace () {
  const expected = process.env.EVENTCAST_NETNS_INODE
  if (!expected) return false
  try {
    return String(fs.statSync('/proc/self/ns/net').ino) === expected
  } catch (_) {
    return false
  }
}

if (!inPrivateNamespace()) {
  console.error('eventcast tests open sockets: run them in the private namespace (npm test, or ../../scripts/netns node --test test/*.test.js)')
  process.exit(1)
}

/** The CLI binary cargo builds (override with EVENTCAST_BIN). */
const CLI = process.env.EVENTCAST_BIN || path.resolve(__dirname, '../../../target/debug/eventcast')

/** The 0.1.2 wire captures, the same the Rust tests read. */
const VECTORS = path.resolve(__dirname, '../../../crates/proto/tests/vectors/eventcast-0.1.2')

/** Two started nodes on one port with these options. */
async function pair (opts = {}) {
  const port = Eventcast.getRandomPort()
  const a = new Eventcast({ ...opts, port })
  const b = Eventcast({ ...opts, port })
  await a.start()
  await b.start()
  return [a, b]
}

async function stopAll (...nodes) {
  for (const n of nodes) await n.stop()
}

/** Resolves with the argument lists of the first `count` `name` events of `node`. */
function collect (node, name, count, timeoutMs = 20000) {
  return new Promise((resolve, reject) => {
    const got = []
    const timer = setTimeout(() => {
      node.removeListener(name, on)
      reject(new Error(`${got.length} of ${count} '${name}' events in ${timeoutMs} ms`))
    }, timeoutMs)
    function on (...args) {
      got.push(args)
      if (got.length === count) {
        clearTimeout(timer)
        node.removeListener(name, on)
        resolve(got)
      }
    }
    node.on(name, on)
  })
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** The first 'error' event of `node` with `code`. */
function errorWithCode (node, code, timeoutMs = 20000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${code}' error in ${timeoutMs} ms`)), timeoutMs)
    node.on('error', function on (e) {
      if (e.code === code) {
        clearTimeout(timer)
        node.removeListener('error', on)
        resolve(e)
      }
    })
  })
}

module.exports = { Eventcast, CLI, VECTORS, pair, stopAll, collect, sleep, once, errorWithCode }
