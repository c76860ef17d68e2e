'use strict'
// 0.1.x's "Log level", "REPL" and "Utilities", and the keyring.

const { describe, it, after } = require('node:test')
const assert = require('node:assert/strict')
const net = require('node:net')
const os = require('node:os')
const { Eventcast, pair, stopAll, collect, once } = require('./helpers')

describe('log levels', () => {
  // Levels apply to the process's log output while their node lives: turn
  // them off again so that the other tests stay quiet.
  const nodes = []
  const Node = (opts) => { const n = new Eventcast(opts); nodes.push(n); return n }
  after(() => nodes.forEach((n) => n.logLevel('off')))

  it('get: with log on, every component at error (50), as 0.1.x', () => {
    assert.deepEqual(Node({ log: true }).logLevel(), [50, 50])
    assert.deepEqual(Node().logLevel(), [70, 70])
  })

  it('set a level, by number or name', () => {
    const n = Node({ log: true })
    n.logLevel(30)
    assert.deepEqual(n.logLevel(), [30, 30])
    n.logLevel('debug')
    assert.deepEqual(n.logLevel(), [20, 20])
  })

  it('set a level for one component', () => {
    const n = Node({ log: true })
    n.logLevel('eventcast', 40)
    n.logLevel('repl', 'trace')
    assert.deepEqual(n.logLevel(), [40, 10])
  })

  it('logLevel option', () => {
    assert.deepEqual(Node({ log: true, logLevel: 'warn' }).logLevel(), [40, 40])
  })

  it('an unknown level is ignored with a warning', async () => {
    const n = Node({ log: true })
    const warned = once(process, 'warning')
    n.logLevel(9001)
    const [w] = await warned
    assert.match(w.message, /9001/)
    assert.deepEqual(n.logLevel(), [50, 50])
  })
})

describe('REPL', () => {
  it('accepts connections, with replConnected and replDisconnected', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000)
    const node = new Eventcast({ replPort: port, replEnabled: true })
    const events = []
    const connected = new Promise((resolve) => node.on('replConnected', () => { events.push(['connected', node.clients()]); resolve() }))
    const disconnected = new Promise((resolve) => node.on('replDisconnected', () => { events.push(['disconnected', node.clients()]); resolve() }))
    let sock
    for (let i = 0; i < 50; i++) {
      try {
        sock = net.connect(port, '127.0.0.1')
        await once(sock, 'connect')
        break
      } catch (_) {
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
    await connected
    sock.end()
    await disconnected
    assert.deepEqual(events, [['connected', 1], ['disconnected', 0]])
    assert.deepEqual(node.replAddress(), { host: '127.0.0.1', port })
    await node.stop()
  })
})

describe('utilities', () => {
  it('getRandomPort', () => {
    for (let i = 0; i < 100000; i++) {
      const p = Eventcast.getRandomPort()
      assert.ok(p >= 49152 && p <= 65535)
    }
    for (let i = 0; i < 10000; i++) {
      const p = Eventcast.getRandomPort(1, 10)
      assert.ok(p >= 1 && p <= 10)
    }
  })

  it('protocolVersion, and getAddress() while running', async () => {
    assert.equal(typeof Eventcast.protocolVersion, 'number')
    const [a, b] = await pair()
    // 0.1.x's form: this host's first IPv4 address that is not a
    // loopback one (the namespace's veth), and the port.
    const external = Object.values(os.networkInterfaces()).flat()
      .find((i) => i.family === 'IPv4' && !i.internal)
    assert.equal(a.getAddress(), `${external ? external.address : '127.0.0.1'}:${a.config.port}`)
    const bound = new Eventcast({ address: '127.0.0.1', port: a.config.port + 1 })
    assert.equal(bound.getAddress(), `127.0.0.1:${a.config.port + 1}`)
    const v6 = new Eventcast({ address: '::1', multicastMembership: 'ff02::1', port: a.config.port + 2 })
    assert.equal(v6.getAddress(), `[::1]:${a.config.port + 2}`)
    const anyV6 = new Eventcast({ address: '::', multicastMembership: 'ff02::1', port: a.config.port + 3 })
    assert.equal(anyV6.getAddress(), `${external ? external.address : '127.0.0.1'}:${a.config.port + 3}`)
    await stopAll(a, b)
  })

  it('ES modules import the package by default and by name', () => {
    const file = require('node:url').pathToFileURL(require('node:path').resolve(__dirname, '..', 'index.js')).href
    const code = `
      import Default, { Eventcast, getRandomPort, protocolVersion } from '${file}'
      if (Eventcast !== Default || getRandomPort !== Default.getRandomPort || protocolVersion !== Default.protocolVersion) process.exit(2)
      if (!(Eventcast(9000) instanceof Default)) process.exit(3)`
    const r = require('node:child_process').spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 20000 })
    assert.equal(r.status, 0, r.stderr)
  })
})

describe('keys', () => {
  it('addKey, useKey, removeKey rotate the group key while running', async () => {
    const [a, b] = await pair({ encrypt: { key: 'old' } })
    const [oldA] = await a.keys()
    assert.equal(oldA.primary, true)
    assert.match(oldA.fingerprint, /^[0-9a-f]{16}$/)
    const fa = await a.addKey('new')
    const fb = await b.addKey('new')
    assert.equal(fa, fb)
    await a.useKey(fa)
    await b.useKey(fb)
    await a.removeKey(oldA.fingerprint)
    await b.removeKey(oldA.fingerprint)
    assert.deepEqual((await a.keys()).map((k) => k.fingerprint), [fa])
    const got = collect(b, 'rotated', 1)
    a.emit('rotated', 1)
    assert.deepEqual((await got)[0], [1])
    await assert.rejects(a.removeKey(fa), (e) => e.code === 'EKEY')
    await assert.rejects(a.useKey('nope'), TypeError)
    await stopAll(a, b)
  })

  it('a key or fingerprint of the wrong type is a TypeError naming the method and what it takes', async () => {
    const n = new Eventcast({ port: Eventcast.getRandomPort(), encrypt: { key: 'k' } })
    for (const bad of [5, undefined, {}, null]) {
      await assert.rejects(n.addKey(bad), { name: 'TypeError', message: /^addKey: the key must be a passphrase \(a string\) or 16 bytes/ })
    }
    await assert.rejects(n.useKey(5), { name: 'TypeError', message: /^useKey: the fingerprint must be a string .*got number$/ })
    await assert.rejects(n.removeKey(null), { name: 'TypeError', message: /^removeKey: the fingerprint must be a string .*got null$/ })
    assert.match(await n.addKey(Buffer.alloc(16, 7)), /^[0-9a-f]{16}$/)
    // Options named as JavaScript spells them.
    const legacy = new Eventcast({ port: Eventcast.getRandomPort(), protocol: 'legacy-v3' })
    await assert.rejects(legacy.addKey('k'), (e) => e instanceof TypeError && /\binsecureLegacyKey\b/.test(e.message) && !/legacy\.|_/.test(e.message))
  })
})

describe('a full send queue', () => {
  it('emit throws EQUEUEFULL; emitAsync waits for room instead', async () => {
    const port = Eventcast.getRandomPort()
    const slow = { port, maxSendQueueBytes: 8192, initialRate: 262144, minRate: 262144, adaptiveRate: false }
    const a = new Eventcast(slow)
    const b = new Eventcast(port)
    await a.start()
    await b.start()
    const payload = 'x'.repeat(2000)
    let sent = 0
    let error
    try {
      for (; sent < 1000; sent++) a.emit('big', payload)
    } catch (e) {
      error = e
    }
    assert.equal(error && error.code, 'EQUEUEFULL')
    const total = sent + 20
    const got = collect(b, 'big', total, 60000)
    for (let i = 0; i < 20; i++) await a.emitAsync('big', payload)
    assert.equal((await got).length, total)
    await stopAll(a, b)
  })
})

describe('busyPoll', () => {
  // The addon's runtime has a worker per CPU, and one worker never polls.
  const skip = os.availableParallelism() < 2 && 'one CPU: the option is ignored'
  it('reaches the node: one that answers polls its socket before it parks and counts it, by default too; one with busyPoll 0 never', { skip }, async () => {
    const polling = await pair({ busyPoll: 0.2 })
    const byDefault = await pair()
    const parking = await pair({ busyPoll: 0 })
    try {
      for (const [ping, pong] of [polling, byDefault, parking]) {
        pong.on('ping', (n) => pong.emit('pong', n))
        for (let i = 0; i < 20; i++) {
          const got = once(ping, 'pong')
          ping.emit('ping', i)
          assert.deepEqual(await got, [i])
        }
      }
      for (const [, pong] of [polling, byDefault]) {
        const s = pong.stats()
        assert.ok(s.busyPolls > 0, `no poll: ${JSON.stringify(s)}`)
      }
      assert.equal(parking[1].stats().busyPolls, 0)
    } finally {
      await stopAll(...polling, ...byDefault, ...parking)
    }
  })
})

describe('expectedEventSizes', () => {
  it('reaches the node: its first large message lands in the buffer made at start, and not at a node without it', async () => {
    const MIB = 1 << 20
    const port = Eventcast.getRandomPort()
    const a = new Eventcast({ port })
    const told = new Eventcast({ port, expectedEventSizes: [MIB] })
    const untold = new Eventcast({ port })
    assert.deepEqual(told.config.expectedEventSizes, [MIB])
    try {
      for (const n of [a, told, untold]) await n.start()
      // A sender's first message to a receiver reserves nothing: this one
      // introduces a to both, so that its large one may take a buffer.
      const hellos = [collect(told, 'hello', 1), collect(untold, 'hello', 1)]
      a.emit('hello', 1)
      await Promise.all(hellos)
      const frame = Buffer.alloc(MIB)
      for (let i = 0; i < frame.length; i++) frame[i] = (i * 7) & 0xff
      const frames = [collect(told, 'frame', 1), collect(untold, 'frame', 1)]
      a.emit('frame', frame)
      for (const [[got]] of await Promise.all(frames)) assert.ok(got.equals(frame))
      assert.equal(told.stats().messagesReceivedInSpare, 1)
      assert.equal(untold.stats().messagesReceivedInSpare, 0)
    } finally {
      await stopAll(a, told, untold)
    }
  })
})
