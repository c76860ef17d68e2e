'use strict'
// 0.1.x's "Sending events": two nodes see each other's events with no, one
// and many arguments, plain and encrypted; each node fires its own listeners
// once for its own emit (its datagram, heard back, is not delivered again).

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { Eventcast, pair, stopAll, collect, sleep } = require('./helpers')

for (const [kind, opts] of [['plain', {}], ['encrypted', { encrypt: { key: 'NSA-KEY' } }]]) {
  describe(`sending events, ${kind}`, () => {
    let a, b
    before(async () => { [a, b] = await pair(opts) })
    after(() => stopAll(a, b))

    it('two nodes have different ids of 16 hex digits', () => {
      assert.notEqual(a.id, b.id)
      assert.match(a.id, /^[0-9a-f]{16}$/)
      assert.ok(a instanceof Eventcast && b instanceof require('node:events').EventEmitter)
    })

    it('no arguments: each node hears both emits, exactly once each', async () => {
      const got = [collect(a, 'none', 2), collect(b, 'none', 2)]
      const extra = []
      a.on('none', (...args) => extra.push(args))
      a.emit('none')
      b.emit('none')
      for (const lists of await Promise.all(got)) {
        for (const args of lists) assert.deepEqual(args, [])
      }
      await sleep(300)
      assert.equal(extra.length, 2, 'no duplicate delivery of the own emit')
      a.removeAllListeners('none')
    })

    it('one argument', async () => {
      const got = [collect(a, 'one', 2), collect(b, 'one', 2)]
      a.emit('one', 'howdy neighborino!')
      b.emit('one', 'howdy neighborino!')
      for (const lists of await Promise.all(got)) {
        for (const args of lists) assert.deepEqual(args, ['howdy neighborino!'])
      }
    })

    it('many arguments of every type', async () => {
      const date = new Date()
      const rx = /serialize me please/gim
      const sent = [{ obj: 2 }, [1, 2, 3], null, 'yay', 5, 2.5, true, date, rx, Buffer.from([0, 1, 255]), 12n]
      const got = [collect(a, 'many', 2), collect(b, 'many', 2)]
      a.emit('many', ...sent)
      b.emit('many', ...sent)
      for (const lists of await Promise.all(got)) {
        for (const args of lists) {
          assert.equal(args.length, sent.length)
          assert.deepEqual(args[0], { obj: 2 })
          assert.deepEqual(args[1], [1, 2, 3])
          assert.equal(args[2], null)
          assert.equal(args[3], 'yay')
          assert.equal(args[4], 5)
          assert.equal(args[5], 2.5)
          assert.equal(args[6], true)
          assert.ok(args[7] instanceof Date)
          assert.equal(args[7].getTime(), date.getTime())
          assert.ok(args[8] instanceof RegExp)
          assert.equal(args[8].toString(), rx.toString())
          assert.ok(Buffer.isBuffer(args[9]) || args[9] instanceof Uint8Array)
          assert.deepEqual([...args[9]], [0, 1, 255])
          assert.equal(args[10], 12n)
        }
      }
    })
  })
}

describe('multipart events', () => {
  let a, b
  before(async () => { [a, b] = await pair() })
  after(() => stopAll(a, b))

  for (const kb of [1, 10, 100, 1000]) {
    it(`${kb} KB arrives whole`, async () => {
      const text = 'a'.repeat(1024 * kb)
      const got = [collect(a, 'long', 2), collect(b, 'long', 2)]
      a.emit('long', text)
      b.emit('long', text)
      for (const lists of await Promise.all(got)) {
        for (const args of lists) assert.ok(args[0] === text, `${kb} KB string intact`)
      }
    })
  }
})

describe('async iteration and emitAsync', () => {
  let a, b
  before(async () => { [a, b] = await pair() })
  after(() => stopAll(a, b))

  it('events(pattern) yields matching events in order, local and received', async () => {
    const seen = []
    const done = (async () => {
      for await (const ev of b.events('sensor.**')) {
        seen.push(ev)
        if (seen.length === 3) break
      }
    })()
    await a.emitAsync('other', 0)
    await a.emitAsync('sensor.a', 1)
    await a.emitAsync('sensor.a.b', 2)
    b.emit('sensor', 3)
    await done
    assert.deepEqual(seen.map((e) => [e.name, e.args]).sort(), [['sensor', [3]], ['sensor.a', [1]], ['sensor.a.b', [2]]])
  })

  it('a bad pattern is a TypeError', () => {
    assert.throws(() => a.events('a.**b'), TypeError)
  })

  it('a burst arrives whole and in order', async () => {
    const n = 5000
    const got = collect(b, 'seq', n, 60000)
    for (let i = 0; i < n; i++) await a.emitAsync('seq', i)
    const lists = await got
    assert.deepEqual(lists.map((args) => args[0]), Array.from({ length: n }, (_, i) => i))
  })

  it('stats() and peers() report what happened', async () => {
    const s = a.stats()
    assert.equal(s.running, true)
    assert.ok(s.protocol.messagesSent > 0)
    assert.equal(typeof s.protocol.dropped.replayed, 'number')
    const peers = await b.peers()
    assert.ok(peers.some((p) => p.id === a.id), 'b lists a')
  })
})
