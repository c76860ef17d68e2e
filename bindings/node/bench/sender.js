'use strict'
// The benchmark's sender: `node sender.js PORT COUNT` emits COUNT events
// `tick` (0, 1, ...) as fast as the send queue takes them, then stays a
// moment to answer repair requests.

const Eventcast = require('..')

async function main () {
  const [port, count] = process.argv.slice(2).map(Number)
  const node = new Eventcast(port)
  await node.start()
  for (let i = 0; i < count; i++) {
    try {
      node.emit('tick', i)
    } catch (e) {
      if (e.code !== 'EQUEUEFULL') throw e
      await node.emitAsync('tick', i)
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 3000))
  await node.stop()
}

main()
