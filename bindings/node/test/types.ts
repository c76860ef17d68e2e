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

// Values typed by an interface or a class, and readonly arrays, can be emitted.
interface Reading { temp: number, at: Date }
const reading: Reading = { temp: 1, at: new Date() }
class Point { x = 1 }
ec1.emit('reading', reading, new Point(), [1, 2] as readonly number[])
const address: string = ec1.getAddress()
const dropped: number = ec1.stats().reservedDropped + address.length
void dropped

// A list option: the sizes of the large events a node expects.
const framed = Eventcast({ expectedEventSizes: [1 << 20], sendOnly: true })
const sizes: number[] | undefined = framed.config.expectedEventSizes
void sizes
