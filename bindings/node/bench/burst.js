'use strict'
// npm run bench: a burst of small events from another process into a JS
// listener; prints how many arrived, whether in order, and the rate.
//
//   node bench/burst.js [--count N] [--cli PATH]
//
// The sender is a child Node process using this package (emitAsync in a
// loop), or with --cli the eventcast binary's `emit --stdin`. The rate is
// counted from the first event received to the last. Run it inside
// scripts/netns (npm run bench does).

const { spawn } = require('node:child_process')
const path = require('node:path')
const Eventcast = require('..')

function option (name, fallback) {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1] : fallback
}

const COUNT = Number(option('--count', 100000))
const CLI = option('--cli', null)

async function main () {
  if (!process.env.EVENTCAST_NETNS_INODE) {
    console.error('run the benchmark inside scripts/netns (npm run bench does)')
    process.exit(1)
  }
  const port = Eventcast.getRandomPort()
  const node = new Eventcast(port)
  let received = 0
  let inOrder = true
  let first = 0n
  let last = 0n
  /** @type {Promise<void>} */
  const done = new Promise((resolve) => {
    node.on('tick', (i) => {
      if (received === 0) first = process.hrtime.bigint()
      if (i !== received) inOrder = false
      received++
      if (received === COUNT) {
        last = process.hrtime.bigint()
        resolve()
      }
    })
  })
  await node.start()
  let sender
  if (CLI) {
    sender = spawn(CLI, ['emit', '--stdin', '-p', String(port)], { stdio: ['pipe', 'ignore', 'inherit'] })
    const lines = []
    for (let i = 0; i < COUNT; i++) lines.push(`{"event":"tick","args":[${i}]}`)
    sender.stdin.end(lines.join('\n') + '\n')
  } else {
    sender = spawn(process.execPath, [path.join(__dirname, 'sender.js'), String(port), String(COUNT)], { stdio: 'inherit' })
  }
  const exited = new Promise((resolve) => sender.once('exit', resolve))
  const timeout = new Promise((resolve) => setTimeout(resolve, 120000).unref())
  await Promise.race([done, exited.then(() => Promise.race([done, new Promise((resolve) => setTimeout(resolve, 5000))])), timeout])
  if (last === 0n) last = process.hrtime.bigint()
  const seconds = Number(last - first) / 1e9
  const stats = node.stats()
  console.log(`${received} of ${COUNT} events received, ${inOrder ? 'in order' : 'OUT OF ORDER'}, ` +
    `${seconds.toFixed(3)} s, ${Math.round(received / seconds)} events/s ` +
    `(lost for good: ${stats.protocol.messagesLost}, NACKs sent: ${stats.protocol.nacksSent}, ` +
    `undelivered: ${stats.undelivered})`)
  sender.kill()
  await node.stop()
  process.exitCode = received === COUNT && inOrder ? 0 : 1
}

main()
