/**
 * A libp2p stream as a Node Duplex, so Hypercore's replication protocol can
 * run over it (inside libp2p's Noise, Hypercore runs its own, which its
 * capability proofs need).
 *
 * Why not a plain pass-through: every Hypercore message would become its own
 * yamux frame (STACK notes measured 0.45x of plain TCP). A frame costs far
 * more than a plain socket write: a Noise encryption, two to four socket
 * writes, and a yamux window update sent back by the reader (a frame of its
 * own). So writes are gathered into one frame until the writer goes quiet.
 * Once per turn of the event loop is not enough: Hypercore answers a batch of
 * requests over several turns, as its storage reads complete. Fetching 10,000
 * blocks then took 2,566 data frames (about 8 blocks in each) and as many
 * window updates, 0.76x the speed of plain TCP; waiting for a turn without new
 * writes (at most MAX_GATHER_TURNS) takes 828 frames (about 30 blocks in
 * each), 1.0x. A lone message still leaves at the end of its turn; only a
 * burst waits, MAX_GATHER_TURNS turns at most.
 *
 * Reads respect backpressure by pausing the libp2p stream while the Duplex's
 * buffer is full.
 */
import { Duplex } from 'node:stream'
import type { Stream } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'

/** Turns of the event loop a frame waits at most for more writes: bounds the delay under a steady stream of writes. */
const MAX_GATHER_TURNS = 4
/** Pending bytes sent at once, without waiting for the writer to go quiet (a frame of this size amortises its costs). */
const MAX_FRAME_BYTES = 64 * 1024

export class StreamBridge extends Duplex {
  private readonly stream: Stream
  private pending: Uint8Array[] = []
  private pendingBytes = 0
  /** Chunks written so far: tells whether a turn of the event loop brought new writes. */
  private writes = 0
  private scheduled = false
  private callbacks: Array<(err?: Error | null) => void> = []

  constructor (stream: Stream) {
    super({ allowHalfOpen: true })
    this.stream = stream
    stream.addEventListener('message', (event) => {
      const data = event.data as Uint8Array | Uint8ArrayList
      const bytes = data instanceof Uint8Array ? data : data.subarray()
      if (!this.push(bytes)) stream.pause()
    })
    stream.addEventListener('remoteCloseWrite', () => { this.push(null) })
    stream.addEventListener('close', (event) => {
      const err = (event as unknown as { error?: Error }).error
      if (err !== undefined) this.destroy(err)
      else {
        this.push(null)
        this.destroy()
      }
    })
  }

  override _read (): void {
    this.stream.resume()
  }

  override _write (chunk: Uint8Array, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.pending.push(chunk)
    this.pendingBytes += chunk.byteLength
    this.writes++
    // Accept more at once unless libp2p's buffer is full: then the Duplex buffers and the writer sees backpressure.
    if (this.stream.writableNeedsDrain) this.callbacks.push(callback)
    else callback()
    if (this.pendingBytes >= MAX_FRAME_BYTES) this.flushWrites()
    else if (!this.scheduled) {
      this.scheduled = true
      this.gather(this.writes, MAX_GATHER_TURNS)
    }
  }

  /** Flushes at the first check phase with no write since the last one (or since scheduling), or after `turns` of them. */
  private gather (seen: number, turns: number): void {
    setImmediate(() => {
      if (this.writes !== seen && turns > 1) {
        this.gather(this.writes, turns - 1)
        return
      }
      this.scheduled = false
      this.flushWrites()
    })
  }

  private flushWrites (): void {
    if (this.pending.length === 0) return
    const chunks = this.pending
    const callbacks = this.callbacks
    const size = this.pendingBytes
    this.pending = []
    this.callbacks = []
    this.pendingBytes = 0
    let frame: Uint8Array
    if (chunks.length === 1) {
      frame = chunks[0]!
    } else {
      frame = new Uint8Array(size)
      let offset = 0
      for (const c of chunks) { frame.set(c, offset); offset += c.byteLength }
    }
    const done = (err?: Error | null): void => { for (const cb of callbacks) cb(err) }
    try {
      if (this.stream.send(frame)) done()
      else this.stream.onDrain().then(() => done(), done)
    } catch (err) {
      done(err as Error)
    }
  }

  override _final (callback: (err?: Error | null) => void): void {
    this.flushWrites()
    this.stream.close().then(() => callback(), callback)
  }

  override _destroy (err: Error | null, callback: (err?: Error | null) => void): void {
    if (err !== null) this.stream.abort(err)
    else if (this.stream.status === 'open') this.stream.close().catch(() => {})
    callback(err)
  }
}
