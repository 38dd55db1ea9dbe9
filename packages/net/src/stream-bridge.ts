/**
 * A libp2p stream as a Node Duplex, so Hypercore's replication protocol can
 * run over it (inside libp2p's Noise, Hypercore runs its own, which its
 * capability proofs need).
 *
 * Why not a plain pass-through: every Hypercore message would become its own
 * yamux frame and socket write (STACK notes measured 0.45x of plain TCP).
 * Writes are gathered and sent once per turn of the event loop, as one frame;
 * reads respect backpressure by pausing the libp2p stream while the Duplex's
 * buffer is full.
 */
import { Duplex } from 'node:stream'
import type { Stream } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'

export class StreamBridge extends Duplex {
  private readonly stream: Stream
  private pending: Uint8Array[] = []
  private pendingBytes = 0
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
    // Accept more at once unless libp2p's buffer is full: then the Duplex buffers and the writer sees backpressure.
    if (this.stream.writableNeedsDrain) this.callbacks.push(callback)
    else callback()
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(() => { this.flushWrites() })
    }
  }

  private flushWrites (): void {
    this.scheduled = false
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
