/**
 * Length-prefixed frames for the request/response protocols (append,
 * heads-sync) over a libp2p v3 stream: an unsigned LEB128 varint byte count
 * (as it-length-prefixed writes it; minimal, at most 9 bytes) followed by
 * that many bytes.
 *
 * readFrame takes exactly one frame off the stream and pushes back anything
 * read past it (`stream.unshift`), so frames can be read one after another.
 * It refuses a frame longer than `maxBytes` as soon as the prefix says so,
 * before the body arrives (TOO_LARGE), and a prefix that is not a minimal
 * varint (MALFORMED); in both cases the stream's framing is lost, so the
 * stream is aborted with that error. A stream that ends or is reset before a
 * whole frame arrives is STREAM_ENDED; an aborted `signal` is TIMEOUT when
 * its reason is a TimeoutError (AbortSignal.timeout), else STOPPED — the
 * stream is then left to the caller.
 */
import type { MessageStream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'
import * as lp from 'it-length-prefixed'
import { Uint8ArrayList } from 'uint8arraylist'
import { NetError } from '../errors.js'

/** Longest varint prefix accepted (9 × 7 bits covers every safe integer). */
const MAX_PREFIX_BYTES = 9

export interface FrameOptions {
  /** Refuse frames whose body is longer than this (TOO_LARGE). */
  readonly maxBytes: number
  readonly signal?: AbortSignal
}

function abortError (signal: AbortSignal): NetError {
  const reason: unknown = signal.reason
  const timedOut = reason instanceof Error && reason.name === 'TimeoutError'
  return new NetError(timedOut ? 'TIMEOUT' : 'STOPPED', timedOut ? 'reading a frame timed out' : 'reading a frame was aborted', { cause: reason })
}

function isAborted (signal: AbortSignal | undefined): signal is AbortSignal {
  return signal?.aborted === true
}

/**
 * Writes `bytes` as one frame, waiting for the stream to drain if its buffer
 * is full. TOO_LARGE if `opts.maxBytes` is given and exceeded, STREAM_ENDED
 * if the stream cannot be written to.
 */
export async function writeFrame (stream: MessageStream, bytes: Uint8Array, opts: Partial<FrameOptions> = {}): Promise<void> {
  if (opts.maxBytes !== undefined && bytes.length > opts.maxBytes) {
    throw new NetError('TOO_LARGE', `frame is ${bytes.length} bytes, the limit is ${opts.maxBytes}`)
  }
  if (opts.signal?.aborted === true) throw abortError(opts.signal)
  let drained: boolean
  try {
    drained = stream.send(lp.encode.single(bytes))
  } catch (cause) {
    throw new NetError('STREAM_ENDED', 'the stream cannot be written to', { cause })
  }
  if (drained) return
  try {
    await stream.onDrain(opts.signal === undefined ? {} : { signal: opts.signal })
  } catch (cause) {
    // (not narrowed by the check above: the signal may have fired while waiting)
    if (isAborted(opts.signal)) throw abortError(opts.signal)
    throw new NetError('STREAM_ENDED', 'the stream closed while a frame was being written', { cause })
  }
}

/** The frame length and prefix size, or null if the prefix is incomplete; throws TOO_LARGE or MALFORMED. */
function readPrefix (list: Uint8ArrayList, maxBytes: number): { length: number, prefixBytes: number } | null {
  let value = 0
  let scale = 1
  for (let i = 0; i < list.byteLength; i++) {
    const b = list.get(i)
    value += (b & 0x7f) * scale
    if (value > maxBytes) throw new NetError('TOO_LARGE', `frame is longer than the limit of ${maxBytes} bytes`)
    if ((b & 0x80) === 0) {
      if (b === 0 && i > 0) throw new NetError('MALFORMED', 'frame length is not a minimal varint')
      return { length: value, prefixBytes: i + 1 }
    }
    if (i + 1 >= MAX_PREFIX_BYTES) throw new NetError('MALFORMED', 'frame length prefix is too long')
    scale *= 128
  }
  return null
}

/** Reads one frame's body (a fresh copy); see the header for the errors. */
export async function readFrame (stream: MessageStream, opts: FrameOptions): Promise<Uint8Array> {
  const { maxBytes, signal } = opts
  if (signal?.aborted === true) throw abortError(signal)
  if (stream.readableEnded || stream.status === 'aborted' || stream.status === 'reset' || stream.status === 'closed') {
    throw new NetError('STREAM_ENDED', 'the stream has no more data')
  }
  return await new Promise<Uint8Array>((resolve, reject) => {
    const buffer = new Uint8ArrayList()
    let prefix: { length: number, prefixBytes: number } | null = null

    const cleanup = (): void => {
      stream.removeEventListener('message', onMessage)
      stream.removeEventListener('end', onEnd)
      stream.removeEventListener('close', onClose)
      signal?.removeEventListener('abort', onAbort)
    }
    const fail = (err: NetError, abortStream: boolean): void => {
      cleanup()
      if (abortStream) stream.abort(err)
      reject(err)
    }
    function onMessage (event: StreamMessageEvent): void {
      buffer.append(event.data)
      try {
        prefix ??= readPrefix(buffer, maxBytes)
      } catch (err) {
        fail(err as NetError, true)
        return
      }
      if (prefix === null) return
      const end = prefix.prefixBytes + prefix.length
      if (buffer.byteLength < end) return
      const frame = buffer.slice(prefix.prefixBytes, end)
      cleanup()
      if (buffer.byteLength > end) stream.unshift(buffer.sublist(end))
      resolve(frame)
    }
    function onEnd (): void {
      fail(new NetError('STREAM_ENDED', 'the stream ended before a whole frame arrived'), false)
    }
    function onClose (event: StreamCloseEvent): void {
      fail(new NetError('STREAM_ENDED', 'the stream closed before a whole frame arrived', { cause: event.error }), false)
    }
    function onAbort (): void {
      fail(abortError(signal!), false)
    }

    stream.addEventListener('message', onMessage)
    stream.addEventListener('end', onEnd)
    stream.addEventListener('close', onClose)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
