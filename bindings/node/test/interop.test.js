'use strict'
// Interop: this package and the CLI (target/debug/eventcast) exchange events
// both ways; `protocol: 'legacy-v3'` reads 0.1.2's wire captures.

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const dgram = require('node:dgram')
const { spawn } = require('node:child_process')
const readline = require('node:readline')
const { Eventcast, CLI, VECTORS, collect } = require('./helpers')

function waitFor (stream, re, timeoutMs = 20000) {
  return new Promise((resolve, reject) => {
    let text = ''
    const timer = setTimeout(() => reject(new Error(`no ${re} in: ${text}`)), timeoutMs)
    stream.on('data', function on (chunk) {
      text += chunk
      if (re.test(text)) {
        clearTimeout(timer)
        stream.removeListener('data', on)
        resolve(text)
      }
    })
  })
}

/** Extended JSON of the captures ($date, $regularExpression) as JS values. */
function fromExtJson (v) {
  if (Array.isArray(v)) return v.map(fromExtJson)
  if (v && typeof v === 'object') {
    if ('$date' in v) return new Date(Number(v.$date.$numberLong ?? Date.parse(v.$date)))
    if ('$regularExpression' in v) return new RegExp(v.$regularExpression.pattern, v.$regularExpression.options)
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fromExtJson(x)]))
  }
  return v
}

describe('with the CLI', { skip: !fs.existsSync(CLI) && `no ${CLI} (cargo build -p eventcast-cli)` }, () => {
  it('the CLI hears what this package emits', async () => {
    const port = Eventcast.getRandomPort()
    const cli = spawn(CLI, ['listen', '-p', String(port), '-n', '1', '-t', '30'], { stdio: ['ignore', 'pipe', 'pipe'] })
    const exited = new Promise((resolve) => cli.once('exit', resolve))
    cli.stderr.setEncoding('utf8')
    await waitFor(cli.stderr, /listening/)
    const node = new Eventcast(port)
    await node.start()
    const line = new Promise((resolve) => readline.createInterface({ input: cli.stdout }).once('line', resolve))
    node.emit('greet', 'hello', 5, { a: [1, 2.5] }, new Date(1383000000000), 7n)
    const ev = JSON.parse(await line)
    assert.equal(ev.event, 'greet')
    assert.equal(ev.sender, node.id)
    assert.deepEqual(ev.args.slice(0, 3), ['hello', 5, { a: [1, 2.5] }])
    assert.deepEqual(ev.args[3], { $date: '2013-10-28T22:40:00Z' })
    assert.equal(Number(ev.args[4]), 7)
    await node.stop()
    assert.equal(await exited, 0)
  })

  it('this package hears what the CLI emits', async () => {
    const port = Eventcast.getRandomPort()
    const node = new Eventcast(port)
    await node.start()
    const got = collect(node, 'greet', 1)
    const cli = spawn(CLI, ['emit', '-p', String(port), 'greet', '"hi"', '7', '{"$date":"2013-10-28T22:40:00Z"}', '[1,{"b":null}]'], { stdio: 'ignore' })
    const exited = new Promise((resolve) => cli.once('exit', resolve))
    const [args] = await got
    assert.deepEqual(args.slice(0, 2), ['hi', 7])
    assert.ok(args[2] instanceof Date && args[2].getTime() === 1383000000000)
    assert.deepEqual(args[3], [1, { b: null }])
    assert.equal(await exited, 0)
    await node.stop()
  })

  it("names the node emits itself, from the network, are dropped and counted", async () => {
    const port = Eventcast.getRandomPort()
    const node = new Eventcast(port)
    await node.start()
    const fired = []
    for (const name of ['error', 'start', 'stop', 'loss', 'replConnected']) node.on(name, () => fired.push(name))
    const done = collect(node, 'done', 1)
    for (const name of ['stop', 'loss', 'error', 'start', 'replConnected', 'done']) {
      const cli = spawn(CLI, ['emit', '-p', String(port), name, '1'], { stdio: 'ignore' })
      assert.equal(await new Promise((resolve) => cli.once('exit', resolve)), 0)
    }
    await done
    assert.deepEqual(fired, [], 'no listener of the node\'s own events fired')
    assert.equal(node.stats().reservedDropped, 5)
    assert.ok(node.isRunning())
    await node.stop()
    assert.deepEqual(fired, ['stop'], 'the real stop')
  })
})

describe("protocol: 'legacy-v3' reads 0.1.2's wire format", () => {
  for (const file of ['plain', 'enc', 'seg', 'encseg']) {
    it(`${file}.json`, async () => {
      const vector = JSON.parse(fs.readFileSync(path.join(VECTORS, `${file}.json`), 'utf8'))
      const port = Eventcast.getRandomPort()
      const opts = { port, protocol: 'legacy-v3' }
      if (vector.key) opts.insecureLegacyKey = vector.key
      const node = new Eventcast(opts)
      await node.start()
      const seen = []
      node.on('error', (e) => seen.push(e))
      const got = []
      const want = vector.events
      const all = new Promise((resolve) => {
        for (const name of new Set(want.map((e) => e.name))) {
          node.on(name, (...args) => {
            got.push({ name, args })
            if (got.length === want.length) resolve()
          })
        }
      })
      const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true })
      await new Promise((resolve) => sock.bind(0, '127.0.0.1', resolve))
      sock.setMulticastTTL(0)
      for (const hex of vector.packets) {
        await new Promise((resolve, reject) => sock.send(Buffer.from(hex, 'hex'), port, '224.0.0.1', (e) => e ? reject(e) : resolve()))
      }
      let timer
      await Promise.race([all, new Promise((resolve) => { timer = setTimeout(resolve, 15000) })])
      clearTimeout(timer)
      sock.close()
      await node.stop()
      assert.deepEqual(seen, [])
      assert.deepEqual(got, want.map((e) => ({ name: e.name, args: fromExtJson(e.args) })))
    })
  }

  it('and two legacy-v3 nodes of this package talk, encrypted', async () => {
    const port = Eventcast.getRandomPort()
    const opts = { port, protocol: 'legacy-v3', insecureLegacyKey: 'NSA-KEY' }
    const a = Eventcast(opts)
    const b = Eventcast(opts)
    await a.start(); await b.start()
    const got = collect(b, 'old', 1)
    a.emit('old', { obj: 2 }, 'x'.repeat(5000))
    const [[obj, long]] = await got
    assert.deepEqual(obj, { obj: 2 })
    assert.equal(long.length, 5000)
    await a.stop(); await b.stop()
  })
})
