'use strict'
// Arguments between JS values and BSON: what travels how, and what cannot
// travel (a TypeError at the call, and nothing is sent).

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { pair, stopAll, collect, sleep } = require('./helpers')

describe('argument conversion', () => {
  let a, b
  before(async () => { [a, b] = await pair() })
  after(() => stopAll(a, b))

  async function roundTrip (...args) {
    const got = collect(b, 'rt', 1)
    a.emit('rt', ...args)
    return (await got)[0]
  }

  it('integers in int32 range and beyond come back as numbers; BigInt as BigInt', async () => {
    const [small, neg, big, frac, huge] = await roundTrip(7, -2147483648, 2 ** 40, 0.5, 2n ** 62n)
    assert.equal(small, 7)
    assert.equal(neg, -2147483648)
    assert.equal(big, 2 ** 40)
    assert.equal(frac, 0.5)
    assert.equal(huge, 2n ** 62n)
  })

  it('undefined keeps the argument count', async () => {
    const args = await roundTrip(undefined, 1, undefined)
    assert.equal(args.length, 3)
    assert.deepEqual(args, [undefined, 1, undefined])
  })

  it('objects keep their key order; undefined properties are left out', async () => {
    const [obj] = await roundTrip({ z: 1, a: 2, m: { y: 1, b: 2 }, u: undefined })
    assert.deepEqual(Object.keys(obj), ['z', 'a', 'm'])
    assert.deepEqual(Object.keys(obj.m), ['y', 'b'])
  })

  it('Date, RegExp with flags, Buffer and Uint8Array', async () => {
    const d = new Date(1383000000000)
    const [date, rx, buf, u8, nested] = await roundTrip(d, /a.b/su, Buffer.from('hi'), new Uint8Array([1, 2]), { when: d, list: [/x/i] })
    assert.equal(date.getTime(), d.getTime())
    assert.equal(rx.source, 'a.b')
    assert.equal(rx.flags, 'su')
    assert.ok(Buffer.isBuffer(buf))
    assert.equal(buf.toString(), 'hi')
    assert.deepEqual([...u8], [1, 2])
    assert.ok(nested.when instanceof Date)
    assert.ok(nested.list[0] instanceof RegExp && nested.list[0].flags === 'i')
  })

  it('a lone large Buffer (a frame) is sent without a copy, emit and emitAsync alike', async () => {
    const frame = Buffer.alloc(300000)
    for (let i = 0; i < frame.length; i++) frame[i] = (i * 31) & 0xff
    const shared = a.stats().protocol.messagesSentShared
    const [got] = await roundTrip(frame)
    assert.ok(Buffer.isBuffer(got) && got.equals(frame))
    const later = collect(b, 'rt', 1)
    await a.emitAsync('rt', new Uint8Array(frame))
    const [[viaAsync]] = await later
    assert.ok(viaAsync.equals(frame))
    assert.equal(a.stats().protocol.messagesSentShared, shared + 2)
    // Beside another argument: copied, as any argument is.
    const [again, n] = await roundTrip(frame, 1)
    assert.ok(again.equals(frame) && n === 1)
    assert.equal(a.stats().protocol.messagesSentShared, shared + 2)
  })

  it('a stream of large frames is put together in buffers made ready after the first', async () => {
    // A sender's first message reserves nothing: this one makes it known
    // (when the test runs alone).
    await roundTrip(1)
    const frame = Buffer.alloc(400000, 7)
    const before = b.stats().messagesReceivedInSpare
    for (let i = 0; i < 3; i++) {
      const [got] = await roundTrip(frame)
      assert.ok(got.equals(frame))
      // Idle past the 5 ms after a delivery when the node makes the next one.
      await sleep(500)
    }
    // The first of this size finds no spare of its size; the two after it do.
    assert.equal(b.stats().messagesReceivedInSpare, before + 2)
  })

  it('strings with any unicode, and empty values', async () => {
    const args = await roundTrip('héllo wörld ✓ 日本 🎉', '', [], {})
    assert.deepEqual(args, ['héllo wörld ✓ 日本 🎉', '', [], {}])
  })

  for (const [what, make] of [
    ['a function', () => () => 1],
    ['a symbol', () => Symbol('s')],
    ['a cyclic object', () => { const o = { a: 1 }; o.self = o; return o }],
    ['a cyclic array deep inside', () => { const arr = [1]; arr.push({ back: arr }); return { x: arr } }],
    ['a BigInt beyond int64', () => 2n ** 64n],
    ['a Float64Array', () => new Float64Array(2)]
  ]) {
    it(`${what} throws a TypeError at the call and nothing is sent`, async () => {
      const before = a.stats().protocol.messagesSent
      let heardLocally = 0
      let heardRemotely = 0
      const onA = () => heardLocally++
      const onB = () => heardRemotely++
      a.on('bad', onA)
      b.on('bad', onB)
      assert.throws(() => a.emit('bad', 'fine', make()), TypeError)
      await sleep(200)
      assert.equal(a.stats().protocol.messagesSent, before)
      assert.equal(heardLocally, 0)
      assert.equal(heardRemotely, 0)
      a.off('bad', onA)
      b.off('bad', onB)
    })
  }

  it('emitAsync rejects with a TypeError for what cannot be sent', async () => {
    await assert.rejects(a.emitAsync('bad', () => 1), TypeError)
  })

  it('the same object twice (not a cycle) is fine', async () => {
    const shared = { s: 1 }
    const [x] = await roundTrip({ a: shared, b: shared })
    assert.deepEqual(x, { a: { s: 1 }, b: { s: 1 } })
  })
})
