'use strict'
// Problems from the network are 'error' events with a code (never thrown);
// bad options are TypeErrors naming the option.

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const dgram = require('node:dgram')
const { spawnSync } = require('node:child_process')
const path = require('node:path')
const { Eventcast, pair, stopAll, collect, sleep, errorWithCode } = require('./helpers')

describe('errors from the network', () => {
  it('a node of another protocol version gives EPRVERSION, and its event is not delivered', async () => {
    const port = Eventcast.getRandomPort()
    const native = new Eventcast(port)
    const legacy = new Eventcast({ port, protocol: 'legacy-v3' })
    await native.start()
    await legacy.start()
    let foo = 0
    native.on('foo', () => foo++)
    const both = [errorWithCode(native, 'EPRVERSION'), errorWithCode(legacy, 'EPRVERSION')]
    legacy.emit('foo', 'bar')
    native.emit('foo', 'bar')
    const [e] = await Promise.all(both)
    assert.ok(e instanceof Error)
    assert.match(e.message, /version/)
    await sleep(200)
    assert.equal(foo, 1, 'only the own emit')
    await stopAll(native, legacy)
  })

  it('with no error listener, problems are logged, never thrown', () => {
    const code = `
      const E = require(process.env.PKG)
      const port = E.getRandomPort(); const a = E(port); const b = E({port, protocol: 'legacy-v3'})
      a.start(() => b.start(() => {
        b.emit('x')
        // Stopped once a has counted it (then its log is a tick away).
        const heard = setInterval(() => {
          if (a.stats().protocol.dropped.unsupportedVersion < 1) return
          clearInterval(heard)
          setTimeout(() => a.stop(() => b.stop()), 100)
        }, 20)
      }))`
    const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', timeout: 20000, env: { ...process.env, PKG: path.resolve(__dirname, '..') } })
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stderr, /EPRVERSION/)
  })

  it("emit of a name the node emits itself ('error', 'stop', ...) stays local", async () => {
    const [a, b] = await pair()
    const heard = []
    for (const name of ['error', 'stop', 'loss']) {
      a.on(name, () => heard.push(`a ${name}`))
      b.on(name, () => heard.push(`b ${name}`))
    }
    a.emit('error', new Error('mine'))
    a.emit('stop')
    await a.emitAsync('loss', {})
    const after = collect(b, 'after', 1)
    a.emit('after')
    await after
    await sleep(200)
    assert.deepEqual(heard, ['a error', 'a stop', 'a loss'])
    assert.equal(b.stats().reservedDropped, 0, 'nothing of them sent')
    assert.ok(a.isRunning())
    await stopAll(a, b)
  })

  it('a datagram that fails authentication is EAUTH; a replayed one EREPLAY', async () => {
    const port = Eventcast.getRandomPort()
    const a = new Eventcast({ port, encrypt: { key: 'shared secret' } })
    const b = new Eventcast({ port, encrypt: { key: 'shared secret' } })
    await a.start()
    await b.start()
    const sniffer = dgram.createSocket({ type: 'udp4', reuseAddr: true })
    await new Promise((resolve) => sniffer.bind(port, resolve))
    sniffer.addMembership('224.0.0.1')
    const captured = []
    sniffer.on('message', (msg) => captured.push(msg))
    const got = collect(b, 'sealed', 1)
    a.emit('sealed', 'x')
    await got
    await sleep(100)
    assert.ok(captured.length > 0, 'captured the sealed datagram')
    const original = captured[0]
    const replay = errorWithCode(b, 'EREPLAY')
    sniffer.send(original, port, '224.0.0.1')
    const replayed = await replay
    assert.ok(replayed.count >= 1)
    const auth = errorWithCode(b, 'EAUTH')
    const tampered = Buffer.from(original)
    tampered[tampered.length - 1] ^= 0xff
    sniffer.send(tampered, port, '224.0.0.1')
    await auth
    sniffer.close()
    await stopAll(a, b)
  })

  it('plaintext at a node that requires encryption is EUNENCRYPTED', async () => {
    const port = Eventcast.getRandomPort()
    const a = new Eventcast({ port })
    const b = new Eventcast({ port, encrypt: { key: 'k' } })
    await a.start()
    await b.start()
    const e = errorWithCode(b, 'EUNENCRYPTED')
    a.emit('clear', 1)
    await e
    await stopAll(a, b)
  })
})

describe('lost events', () => {
  const hasNft = spawnSync('sh', ['-c', 'command -v nft']).status === 0
  it("a lost event is a 'loss' event", { skip: !hasNft && 'needs nftables (NETNS_LOSS)' }, () => {
    // A namespace of its own inside this one, dropping 30% of incoming UDP.
    const netns = path.resolve(__dirname, '../../../scripts/netns')
    const r = spawnSync(netns, [process.execPath, path.join(__dirname, 'fixtures/loss.js')], {
      encoding: 'utf8', timeout: 60000, env: { ...process.env, NETNS_LOSS: '30' }
    })
    assert.equal(r.status, 0, r.stderr)
    const loss = JSON.parse(r.stdout.split('\n')[0])
    assert.match(loss.sender, /^[0-9a-f]{16}$/)
    assert.ok(loss.count >= 1)
    assert.equal(typeof loss.first, 'number')
    assert.equal(typeof loss.reason, 'string')
  })
})

describe('bad options', () => {
  for (const [opts, name] of [
    [{ prot: 9000 }, 'prot'],
    [{ port: 'x' }, 'port'],
    [{ port: 70000 }, 'port'],
    [{ multicastTtl: 300 }, 'multicastTtl'],
    [{ multicastLoopback: 'yes' }, 'multicastLoopback'],
    [{ address: 'nowhere' }, 'address'],
    [{ multicastMembership: '10.0.0.1' }, 'multicastMembership'],
    [{ maxPayloadSize: -1 }, 'maxPayloadSize'],
    [{ maxPayloadSize: 1 }, 'maxPayloadSize'],
    // Accepted alone, but its segments' bookkeeping outgrows the default budgets.
    [{ maxPayloadSize: 16 }, 'maxPayloadSize (16 bytes)'],
    [{ messageTtl: 'soon' }, 'messageTtl'],
    [{ busyPoll: 2 }, 'busyPoll'],
    [{ busyPoll: 'fast' }, 'busyPoll'],
    [{ expectedEventSizes: 1 << 20 }, 'expectedEventSizes'],
    [{ expectedEventSizes: '1M' }, 'expectedEventSizes'],
    [{ expectedEventSizes: [1.5] }, 'expectedEventSizes[0]'],
    [{ expectedEventSizes: [1 << 20, -1] }, 'expectedEventSizes[1]'],
    [{ expectedEventSizes: ['1M'] }, 'expectedEventSizes[0]'],
    [{ messageTtl: 1e300 }, 'messageTtl'],
    [{ heartbeatMax: 1e12 }, 'heartbeatMax'],
    [{ encrypt: { key: '' } }, 'encrypt.key'],
    [{ encrypt: { kee: 'x' } }, 'encrypt.kee'],
    [{ encrypt: { key: Buffer.alloc(3) } }, 'encrypt.key'],
    [{ protocol: 'v4' }, 'protocol'],
    [{ replHost: '0.0.0.0' }, 'replHost'],
    [{ log: 1 }, 'log']
  ]) {
    it(`${JSON.stringify(opts)} is a TypeError naming ${name}`, () => {
      assert.throws(() => Eventcast(opts), (e) => e instanceof TypeError && e.message.includes(name))
    })
  }

  it("expectedEventSizes: the library's limits, in the option's name", () => {
    const refused = (sizes) => {
      try {
        Eventcast({ expectedEventSizes: sizes })
      } catch (e) {
        assert.ok(e instanceof TypeError, String(e))
        return e.message
      }
      assert.fail(`${JSON.stringify(sizes)} accepted`)
    }
    assert.match(refused([1 << 20, 1 << 20, 1 << 20]), /^expectedEventSizes takes at most 2 sizes, got 3$/)
    for (const size of [0, (256 << 10) - 1, (64 << 20) + 1]) {
      assert.match(refused([size]), new RegExp(`^expectedEventSizes must be from 262144 bytes \\(256 KiB\\) to 67108864 \\(64 MiB\\), got ${size}$`))
    }
    for (const sizes of [[], [256 << 10], [256 << 10, 64 << 20]]) {
      assert.deepEqual(Eventcast({ expectedEventSizes: sizes }).config.expectedEventSizes, sizes)
    }
  })

  it('0.1.x options and the Rust Config fields are accepted', () => {
    const n = Eventcast({
      address: '0.0.0.0', port: 9000, multicastMembership: '224.0.0.1', multicastInterface: null,
      multicastLoopback: true, multicastTtl: 1, replPort: null, replHost: 'localhost', replEnabled: false,
      encrypt: false, maxPayloadSize: 1024, messageTtl: 3000, log: false, messageRetransmitAttemps: 3,
      recvBufferSize: 1 << 20, maxMessageSize: 1 << 20, ordered: true, heartbeatMax: 500, adaptiveRate: true,
      expectedEventSizes: [1 << 20, 300 << 10]
    })
    assert.equal(n.config.port, 9000)
    assert.match(n.getAddress(), /:9000$/)
  })

  it('the defaults are 0.1.x\'s', () => {
    const c = Eventcast().config
    assert.equal(c.address, '0.0.0.0')
    assert.ok(c.port >= 49152 && c.port <= 65535)
    assert.equal(c.multicastMembership, '224.0.0.1')
    assert.equal(c.multicastLoopback, true)
    assert.equal(c.multicastTtl, 1)
    assert.equal(c.replHost, 'localhost')
    assert.equal(c.replEnabled, false)
    assert.equal(c.maxPayloadSize, 1024)
    assert.equal(c.messageTtl, 3000)
    assert.equal(c.log, false)
  })

  it('id is read-only', () => {
    const n = Eventcast()
    const id = n.id
    assert.throws(() => { 'use strict'; n.id = 'x' }, TypeError)
    assert.equal(n.id, id)
  })
})
