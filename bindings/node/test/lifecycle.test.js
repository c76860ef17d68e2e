'use strict'
// 0.1.x's "Start/stop": without callbacks, idempotent, 1000 cycles; the
// callback is always called; 'start' and 'stop' events; emit while stopped;
// a process exits when nothing else keeps it alive.

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const path = require('node:path')
const { Eventcast, sleep } = require('./helpers')

const PKG = path.resolve(__dirname, '..')

function runChild (code, timeout = 20000) {
  return spawnSync(process.execPath, ['-e', code], { timeout, encoding: 'utf8', env: { ...process.env, PKG } })
}

describe('start and stop', () => {
  it('do not require callbacks, and return Promises', async () => {
    const port = Eventcast.getRandomPort()
    const a = new Eventcast(port)
    const b = new Eventcast(port)
    const started = a.start()
    assert.ok(started instanceof Promise)
    b.start()
    await started
    await b.start()
    assert.ok(a.isRunning() && b.isRunning())
    await Promise.all([a.stop(), b.stop()])
    assert.ok(!a.isRunning() && !b.isRunning())
  })

  it('are idempotent, and each emits its event once per change', async () => {
    const a = new Eventcast(Eventcast.getRandomPort())
    let starts = 0
    let stops = 0
    a.on('start', () => starts++)
    a.on('stop', () => stops++)
    a.start(); a.start(); a.start(); a.start()
    await sleep(0)
    a.start(); a.stop(); a.stop(); a.stop()
    await a.stop()
    assert.equal(starts, 1)
    assert.equal(stops, 1)
    assert.ok(!a.isRunning())
  })

  it('always call the callback, started or stopped already', async () => {
    const a = new Eventcast(Eventcast.getRandomPort())
    const calls = []
    await new Promise((resolve) => a.stop((err) => { calls.push(['stop on stopped', err]); resolve() }))
    await new Promise((resolve) => a.start((err) => { calls.push(['start', err]); resolve() }))
    await new Promise((resolve) => a.start((err) => { calls.push(['start on started', err]); resolve() }))
    await new Promise((resolve) => a.stop((err) => { calls.push(['stop', err]); resolve() }))
    assert.deepEqual(calls.map(([what, err]) => [what, err]), [
      ['stop on stopped', null], ['start', null], ['start on started', null], ['stop', null]
    ])
  })

  it('a callback that is not a function throws, and nothing is started or stopped', async () => {
    const a = new Eventcast(Eventcast.getRandomPort())
    assert.throws(() => a.start('nofn'), { name: 'TypeError', message: /callback must be a function, got string/ })
    await sleep(100)
    assert.equal(a.isRunning(), false)
    await a.start()
    assert.throws(() => a.stop({}), TypeError)
    await sleep(100)
    assert.equal(a.isRunning(), true)
    await a.stop()
  })

  it('a start that fails calls back with the error (and the Promise rejects)', async () => {
    const a = new Eventcast({ port: Eventcast.getRandomPort(), multicastInterface: 'no_such_if0' })
    const err = await new Promise((resolve) => a.start(resolve))
    assert.ok(err instanceof Error)
    // The name as given (not camel-cased as an option name would be).
    assert.match(err.message, /"no_such_if0"/)
    await assert.rejects(a.start())
    assert.ok(!a.isRunning())
  })

  it('1000 start/stop cycles of two nodes, without leaks', async () => {
    const port = Eventcast.getRandomPort()
    const a = new Eventcast(port)
    const b = new Eventcast(port)
    const listeners = a.listenerCount('start')
    const rssBefore = process.memoryUsage().rss
    for (let i = 0; i < 1000; i++) {
      await a.start()
      await b.start()
      await Promise.all([a.stop(), b.stop()])
    }
    assert.equal(a.stats().starts, 1000)
    assert.equal(a.listenerCount('start'), listeners)
    const grown = process.memoryUsage().rss - rssBefore
    assert.ok(grown < 64 * 1024 * 1024, `rss grew by ${grown} bytes`)
    // Still works afterwards.
    await a.start(); await b.start()
    const got = new Promise((resolve) => b.once('after', resolve))
    a.emit('after', 1)
    assert.equal(await got, 1)
    await a.stop(); await b.stop()
  })

  it('emit while stopped fires the local listeners only', async () => {
    const a = new Eventcast()
    let got
    a.on('foo', (x) => { got = x })
    assert.equal(a.emit('foo', 42), true)
    assert.equal(got, 42)
    assert.equal(a.stats().emittedWhileStopped, 1)
  })
})

describe('the process exits when nothing else keeps it alive', () => {
  it('with a node never started', () => {
    const r = runChild("const E = require(process.env.PKG); const n = E(); n.on('x', () => {}); n.emit('x', 1)")
    assert.equal(r.signal, null, 'exited by itself')
    assert.equal(r.status, 0, r.stderr)
  })

  it('after stop()', () => {
    const r = runChild("const E = require(process.env.PKG); const n = E(); n.start(() => { n.emit('x', 1); n.stop(() => console.log('stopped')) })")
    assert.equal(r.signal, null, 'exited by itself')
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /stopped/)
  })

  it('but not while a node runs', () => {
    const r = runChild("const E = require(process.env.PKG); E().start(() => console.log('started'))", 3000)
    assert.match(r.stdout, /started/)
    assert.equal(r.signal, 'SIGTERM', 'still running when killed')
  })

  it('and a listener that throws is an uncaught exception, as from any emitter', () => {
    const r = runChild(`
      const E = require(process.env.PKG)
      const port = E.getRandomPort(); const a = E(port); const b = E(port)
      process.on('uncaughtException', (e) => { console.log('caught', e.message); a.stop(); b.stop() })
      b.on('boom', () => { throw new Error('from listener') })
      a.start(() => b.start(() => a.emit('boom')))
      b.on('boom', () => {})`)
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /caught from listener/)
  })
})
