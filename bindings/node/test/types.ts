// Compiled by `npm run typecheck` (tsc --noEmit), never run: the README's
// usage type-checks against index.d.ts.
import Eventcast = require('..')

const ec1 = Eventcast(9000)
ec1.start()
ec1.on('myevent', (a: unknown) => a)
const ec2 = new Eventcast({ port: 9000, encrypt: { key: 'k' }, protocol: 'legacy-v3' })
ec2.emit('myevent', 'hello', 1, 2n, new Date(), /x/g, Buffer.from('a'), { a: [null] })
ec2.on('error', (e) => e.code.toUpperCase())
ec2.start((err) => { if (err) throw err })
async function f (): Promise<void> {
  await ec2.stop()
  for await (const ev of ec2.events('sensor.*')) ev.args.length
  const levels: number[] = ec2.logLevel()
  ec2.logLevel('repl', 'debug')
  const s = ec2.stats().protocol.messagesSent
  const p = Eventcast.getRandomPort(1, 10) + Eventcast.protocolVersion + s + levels.length
  await ec2.emitAsync('x', p)
}
void f
