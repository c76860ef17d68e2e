// Type definitions for eventcast 0.2: Node's EventEmitter API over UDP
// multicast, on the Rust eventcast core.

import { EventEmitter } from 'node:events'

declare namespace Eventcast {
  /**
   * An argument that can travel: what JSON carries, plus these. `object`
   * admits a value typed by an interface or a class (which has no index
   * signature); a function, a symbol or a cycle inside one throws a
   * TypeError at `emit`, and nothing is sent.
   */
  type Arg =
    | string | number | boolean | null | undefined | bigint
    | Date | RegExp | Uint8Array
    | readonly Arg[] | { readonly [key: string]: Arg } | object

  /** Encryption: AES-128-GCM with a key stretched by Argon2id (not 0.1.x's cipher). */
  interface EncryptOptions {
    /** The group key: a passphrase, or 16 bytes of raw key. */
    key: string | Uint8Array
    /** More keys that open received datagrams, during a rotation. */
    decryptKeys?: Array<string | Uint8Array>
    /** Also accept unencrypted datagrams (anyone on the group can then send events). */
    dangerAcceptPlaintext?: boolean
    /** Accept senders without the challenge against replays (one-way links only): recorded sealed traffic is then delivered again. */
    dangerSkipHandshake?: boolean
  }

  /** Options: 0.1.x's, with its defaults, and every other field of the Rust `Config`. */
  interface Options {
    /** Address to bind. Default '0.0.0.0'. */
    address?: string
    /** UDP port shared by the group. Default: random in 49152-65535, drawn at construction. */
    port?: number | null
    /** Multicast group. Default '224.0.0.1'. */
    multicastMembership?: string
    /** Interface to join and send on: an address or a name ('eth0'). Default: the system's choice. */
    multicastInterface?: string | null
    /** Whether this host's other sockets hear this node. Default true. */
    multicastLoopback?: boolean
    /** Multicast TTL: 1 this segment (default), 0 this host only. */
    multicastTtl?: number
    /** REPL port. Default: one the system picks. */
    replPort?: number | null
    /** REPL address. Default 'localhost' (127.0.0.1). */
    replHost?: string
    /** Serve the REPL, listening from construction. Default false. */
    replEnabled?: boolean
    /** Let the REPL listen on an address that is not loopback. */
    dangerReplAnyHost?: boolean
    /** REPL clients served at once. */
    replMaxClients?: number
    /** Encryption, off by default (false). */
    encrypt?: EncryptOptions | false | null
    /** Bytes of payload per datagram. Default 1024. */
    maxPayloadSize?: number
    /** Milliseconds a partial message lives without progress. Default 3000. */
    messageTtl?: number
    /** Log to stderr (at `logLevel`, default 'error'). Default false. */
    log?: boolean
    /** Level when `log` is on: a name ('trace' ... 'fatal', 'off') or a bunyan number (10 ... 60). */
    logLevel?: string | number | null
    /** 'native' (default) or 'legacy-v3' to talk with eventcast 0.1.x nodes. */
    protocol?: 'native' | 'legacy-v3'
    /** 0.1.x's encryption passphrase, legacy-v3 only. Insecure: fixed IV, no authentication. */
    insecureLegacyKey?: string
    /** legacy-v3: retransmission requests per partial message. Default 1. */
    legacyMaxRetransmitAttempts?: number
    /** 0.1.x's spelling, accepted: the same as `maxRetransmitAttempts`. */
    messageRetransmitAttemps?: number
    /** Receive buffer to ask the kernel for, bytes. Default 4 MiB. */
    recvBufferSize?: number
    /** Bytes of events a Rust subscription holds for a slow reader. Default 64 MiB. */
    subscriptionBytes?: number
    /**
     * Milliseconds the node polls its socket for the next datagram before
     * its thread sleeps, while a reply to its own emit is expected (one
     * window after the emit, or until a datagram comes), at most 1 (0.15:
     * 150 us). For request and reply: the reply is taken without a
     * thread's wake-up, at the price of a CPU spinning up to that long
     * after each emit (the package always listens for JavaScript, so any
     * node that emits may poll; the window shrinks to nothing when no
     * datagram comes within it). A node that never emits never polls; one
     * that emits for every event of a stream polls through the stream's
     * short gaps. Ignored on a host of one CPU (the addon's runtime then
     * has one worker). Default 0.15; 0: never.
     */
    busyPoll?: number
    /**
     * Sizes in bytes of the large events this node expects to send and
     * receive (a camera's frame, a lidar scan's): at most 2, each from
     * 262144 (256 KiB) to 67108864 (64 MiB). Each start makes a buffer ready
     * for each size to receive in (none with `sendOnly` or
     * `protocol: 'legacy-v3'`) before it resolves, so that the node's first
     * such message takes no fresh memory, and a buffer for the next one is
     * made after each, as for every event of 256 KiB to 4.5 MiB without it.
     * The sending side is left as it is (an `emit` of one large Buffer
     * sends its bytes as they are). A buffer takes an event of 0.9 to
     * 1.125 times its size; each costs about 1.125 times its size from the
     * start. A size above `maxMessageSize` is refused. `stats().messagesReceivedInSpare`
     * counts the messages received in one. Default none.
     */
    expectedEventSizes?: number[]
    /** Largest message body sent or accepted, bytes. Default 64 MiB. */
    maxMessageSize?: number
    /** Memory of all partial messages, bytes. Default 256 MiB. */
    maxPartialBytes?: number
    /** Memory of one sender's partial messages, bytes. Default 128 MiB. */
    maxPartialBytesPerSender?: number
    /** Partial messages per sender. Default 256. */
    maxPartialMessagesPerSender?: number
    /** Senders tracked at once. Default 1024. */
    maxSenders?: number
    /** Deliver each sender's events in order. Default true. */
    ordered?: boolean
    /** Only send: other nodes' events are not reassembled (NACKs to this node are still served). */
    sendOnly?: boolean
    /** NACKs without an answer before a sender's data is given up. Default 3. */
    maxRetransmitAttempts?: number
    /** Milliseconds. Default 1. */
    nackBackoffMin?: number
    /** Milliseconds. Default 6. */
    nackBackoffMax?: number
    /** Milliseconds. Default 40. */
    repairTimeout?: number
    /** Milliseconds a sender keeps what it sent, for repairs. Default 3000. */
    retransmitWindow?: number
    /** Bytes a sender keeps for repairs. Default 64 MiB. */
    retransmitWindowBytes?: number
    /** Milliseconds. Default 10. */
    repairLinger?: number
    /** Milliseconds. Default 4. */
    heartbeatMin?: number
    /** Milliseconds. Default 1000. */
    heartbeatMax?: number
    /** Bytes per second, at most. Default 16 GiB/s. */
    rateLimit?: number
    /** Bytes per second at the start. Default 16 MiB/s. */
    initialRate?: number
    /** Bytes per second, at least. Default 256 KiB/s. */
    minRate?: number
    /** Bytes sent at once after a quiet spell. Default 64 KiB. */
    burst?: number
    /** Adapt the rate to NACKs. Default true. */
    adaptiveRate?: boolean
    /** Bytes waiting to be sent before emit throws EQUEUEFULL. Default 32 MiB. */
    maxSendQueueBytes?: number
  }

  /** A problem from the network, or a failed call, with its code. */
  interface EventcastError extends Error {
    /**
     * 'EPRVERSION' (another protocol or version), 'EAUTH' (authentication
     * failed), 'ENOKEY', 'EUNENCRYPTED', 'EREPLAY', 'EDECRYPT' (legacy-v3),
     * 'EKEYLIMIT'; from calls: 'EMSGSIZE', 'EQUEUEFULL', 'EADDRINUSE', 'EKEY', ...
     */
    code: string
    /** The address it came from, for problems from the network. */
    from?: string
    /** Replays: how many datagrams. */
    count?: number
  }

  /** Events of another node lost for good. */
  interface Loss {
    type: 'loss'
    message: string
    /** The sender's id. */
    sender: string
    /** The first message lost (its number in the sender's stream). */
    first: number
    /** How many in a row. */
    count: number
    /** Why. */
    reason: string
  }

  /** An event, as `events()` yields it. */
  interface Event {
    name: string
    args: unknown[]
  }

  /** A node heard. */
  interface Peer {
    id: string
    address: string
    /** Milliseconds since it was last heard. */
    sinceHeard: number
    lead: number
    delivered: number
    lost: number
  }

  /** A key of the ring (never the key itself). */
  interface KeyInfo {
    fingerprint: string
    primary: boolean
    sealed: number
  }

  /** Counters: the node's own, `protocol` (with `dropped` by reason) and `legacy`. */
  interface Stats {
    running: boolean
    starts: number
    recvBufferSize: number
    sendErrors: number
    recvErrors: number
    /** System calls that sent datagrams (a Linux `sendmmsg` sends many), and the datagrams they sent. */
    sendCalls: number
    sendCallDatagrams: number
    sendBatchErrors: number
    batchFallbacks: number
    gsoFallbacks: number
    /** A datagram larger than the route's MTU, refused with the don't-fragment bit (Linux): sent again fragmented, and all after it (0 or 1 a run). */
    fragmentFallbacks: number
    /** Full send buffer, and no wait for room could be set up (no descriptor left): retried after 5 ms. */
    sendWaitFailures: number
    /** System calls that read datagrams (a Linux `recvmmsg` reads many), and the datagrams they read. */
    recvCalls: number
    recvCallDatagrams: number
    /** Messages read that held several datagrams of one sender, handed over together by the kernel (Linux `UDP_GRO`). */
    recvCoalesced: number
    /** Messages read whose control data the kernel cut short (Linux `MSG_CTRUNC`): dropped, since they may hold several datagrams; loss recovery repairs them. */
    recvTruncated: number
    kernelDrops: number
    /** Polls of the socket before the node's task parked (the `busyPoll` option), and those that found a datagram. */
    busyPolls: number
    busyPollHits: number
    /** Large messages (256 KiB to 4.5 MiB, or of an `expectedEventSizes` size) put together in a buffer the node made ready after an earlier one, or at start for `expectedEventSizes`. */
    messagesReceivedInSpare: number
    emittedWhileStopped: number
    listenerPanics: number
    subscriptionLagged: number
    /** Events dropped because JavaScript did not keep up. */
    undelivered: number
    /** Events from the network named as one the node emits itself ('error', 'start', 'stop', 'loss', 'replConnected', 'replDisconnected', 'newListener', 'removeListener'): dropped. */
    reservedDropped: number
    protocol: { [counter: string]: number } & { dropped: { [reason: string]: number } }
    legacy: { [counter: string]: number } & { dropped: { [reason: string]: number } }
  }

  interface Address {
    host: string
    port: number
  }
}

interface Eventcast extends EventEmitter {
  /** This node's sender id: 16 hex digits. Read-only. */
  readonly id: string
  /** The options in force, defaults filled in. */
  readonly config: Eventcast.Options & { port: number }

  /** Sends to the group and fires the local listeners once; while stopped, local only. The names the node emits itself ('error', 'start', 'stop', 'loss', ...) stay local. Throws a TypeError for an argument that cannot travel. */
  emit (event: string | symbol, ...args: Eventcast.Arg[]): boolean
  /** Resolves once the event is queued (waiting for room when the queue is full), after firing the local listeners. */
  emitAsync (event: string, ...args: Eventcast.Arg[]): Promise<boolean>

  /** Starts: idempotent; calls `cb` (always) or returns a Promise; emits 'start'. */
  start (): Promise<void>
  start (cb: (err: Error | null) => void): void
  /** Stops: idempotent; calls `cb` (always) or returns a Promise; emits 'stop'. */
  stop (): Promise<void>
  stop (cb: (err: Error | null) => void): void
  isRunning (): boolean

  /**
   * `host:port`, as 0.1.x: the address bound, or this host's first IPv4
   * address that is not a loopback one when bound to every address; the
   * port bound, or the configured one while stopped.
   */
  getAddress (): string
  /** REPL clients connected now. */
  clients (): number
  /** Where the REPL listens, while open. */
  replAddress (): Eventcast.Address | null

  /** Every component's level (eventcast, repl) in bunyan numbers; 70 is off. */
  logLevel (): number[]
  /** Sets every component's level. */
  logLevel (level: string | number): void
  /** Sets one component's level. */
  logLevel (component: 'eventcast' | 'repl', level: string | number): void

  stats (): Eventcast.Stats
  peers (): Promise<Eventcast.Peer[]>
  addKey (key: string | Uint8Array): Promise<string>
  useKey (fingerprint: string): Promise<void>
  removeKey (fingerprint: string): Promise<void>
  keys (): Promise<Eventcast.KeyInfo[]>

  /** Events with these names or patterns ('a.*', 'a.**'), every event with none. */
  events (...names: string[]): AsyncIterableIterator<Eventcast.Event>

  on (event: 'error', listener: (err: Eventcast.EventcastError) => void): this
  on (event: 'loss', listener: (loss: Eventcast.Loss) => void): this
  on (event: 'start' | 'stop', listener: () => void): this
  on (event: 'replConnected' | 'replDisconnected', listener: (clients: number) => void): this
  on (event: string | symbol, listener: (...args: any[]) => void): this
  once (event: 'error', listener: (err: Eventcast.EventcastError) => void): this
  once (event: string | symbol, listener: (...args: any[]) => void): this
}

interface EventcastConstructor {
  new (opts?: Eventcast.Options | number): Eventcast
  (opts?: Eventcast.Options | number): Eventcast
  readonly prototype: Eventcast
  /** The wire protocol version of the native protocol (0.1.x's was 3). */
  readonly protocolVersion: number
  /** A random port in [min, max], 49152-65535 by default. */
  getRandomPort (min?: number, max?: number): number
  Eventcast: EventcastConstructor
  default: EventcastConstructor
}

declare const Eventcast: EventcastConstructor
export = Eventcast
