/**
 * Length-prefixed frames over real libp2p streams: two hosts on 127.0.0.1
 * (TCP, Noise, Yamux), a gate that admits everyone, one test protocol whose
 * server side each test sets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Stream } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import { createHost, type Host } from '../src/host.js'
import type { MembershipGate } from '../src/membership-gate.js'
import { NetError } from '../src/errors.js'
import {
  APPEND_PROTOCOL, decodeAppendRequest, decodeAppendResponse, encodeAppendRequest, encodeAppendResponse,
  MAX_APPEND_REQUEST_BYTES, MAX_APPEND_RESPONSE_BYTES, readFrame, writeFrame
} from '../src/wire/index.js'

const PROTOCOL = '/healthchain/test-frames/1.0.0'

/** The part of MembershipGate that createHost uses, admitting every peer. */
const admitAll = {
  connectionGater: () => ({}),
  admits: () => true
} as unknown as MembershipGate

type ServerSide = (stream: Stream) => Promise<void>

let server: Host
let client: Host
let serve: ServerSide = async () => {}
/** Settles with what the current server side ended with: undefined, or the error it threw. */
let served: Promise<unknown> = Promise.resolve()
let settle: (outcome: unknown) => void = () => {}

beforeAll(async () => {
  server = await createHost({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], gate: admitAll })
  client = await createHost({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], gate: admitAll })
  const handler = (stream: Stream): void => {
    const done = settle
    serve(stream).then(() => { done(undefined) }, (err: unknown) => { done(err) })
  }
  await server.handle(PROTOCOL, handler)
  await server.handle(APPEND_PROTOCOL, handler)
})

afterAll(async () => {
  await client?.stop()
  await server?.stop()
})

/** Opens a stream whose server side is `side`; `served` settles when that side ends (set before dialing, so no test sees an older one). */
async function open (side: ServerSide, protocol = PROTOCOL): Promise<Stream> {
  serve = side
  served = new Promise((resolve) => { settle = resolve })
  return await client.dialProtocol(server.getMultiaddrs()[0]!, protocol)
}

async function rejection (promise: Promise<unknown>): Promise<NetError> {
  const err = await promise.then(() => undefined, (e: unknown) => e)
  if (!(err instanceof NetError)) throw new Error(`expected a NetError, got ${String(err)}`)
  return err
}

function filled (n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff
  return out
}

describe('framing over libp2p', () => {
  it('echoes frames of many sizes, in order, on one stream', async () => {
    const sizes = [0, 1, 127, 128, 16_383, 16_384, 200_000]
    const stream = await open(async (s) => {
      for (let i = 0; i < sizes.length; i++) await writeFrame(s, await readFrame(s, { maxBytes: 256 * 1024 }))
      await s.close()
    })
    for (const [i, n] of sizes.entries()) await writeFrame(stream, filled(n, i))
    for (const [i, n] of sizes.entries()) expect(await readFrame(stream, { maxBytes: 256 * 1024 })).toEqual(filled(n, i))
    await stream.close()
    expect(await served).toBeUndefined()
  })

  it('reads two frames that arrive in one chunk, one at a time', async () => {
    const stream = await open(async (s) => {
      const a = await readFrame(s, { maxBytes: 64 })
      const b = await readFrame(s, { maxBytes: 64 })
      await writeFrame(s, new Uint8Array([...a, ...b]))
      await s.close()
    })
    stream.send(new Uint8Array([3, 1, 2, 3, 2, 4, 5]))
    expect(await readFrame(stream, { maxBytes: 64 })).toEqual(new Uint8Array([1, 2, 3, 4, 5]))
    await stream.close()
    expect(await served).toBeUndefined()
  })

  it('carries an append request and its response', async () => {
    const chain = filled(32, 7)
    const stream = await open(async (s) => {
      const request = decodeAppendRequest(await readFrame(s, { maxBytes: MAX_APPEND_REQUEST_BYTES }))
      await writeFrame(s, encodeAppendResponse({ v: 1, ok: false, code: 'STALE_POSITION', message: 'stale', length: request.seq + 2 }))
      await s.close()
    }, APPEND_PROTOCOL)
    await writeFrame(stream, encodeAppendRequest({ v: 1, chain, seq: 5, block: filled(1000, 1) }))
    const response = decodeAppendResponse(await readFrame(stream, { maxBytes: MAX_APPEND_RESPONSE_BYTES }))
    expect(response).toEqual({ v: 1, ok: false, code: 'STALE_POSITION', message: 'stale', length: 7 })
    await stream.close()
    expect(await served).toBeUndefined()
  })

  it('refuses an oversized frame (TOO_LARGE) and aborts the stream', async () => {
    const stream = await open(async (s) => { await readFrame(s, { maxBytes: 100 }) })
    await writeFrame(stream, filled(101, 0))
    expect((await served as NetError).code).toBe('TOO_LARGE')
    // The reader aborted: the writer's side ends.
    expect((await rejection(readFrame(stream, { maxBytes: 100 }))).code).toBe('STREAM_ENDED')
  })

  it('refuses as soon as the prefix announces too much, without waiting for the body', async () => {
    const stream = await open(async (s) => { await readFrame(s, { maxBytes: 1024 }) })
    stream.send(new Uint8Array([0xff, 0xff, 0xff, 0x7f])) // 2^28 - 1 bytes announced, none sent
    expect((await served as NetError).code).toBe('TOO_LARGE')
    stream.abort(new Error('done'))
  })

  it('refuses a non-minimal length prefix (MALFORMED)', async () => {
    const stream = await open(async (s) => { await readFrame(s, { maxBytes: 1024 }) })
    stream.send(new Uint8Array([0x81, 0x00, 0x2a]))
    expect((await served as NetError).code).toBe('MALFORMED')
    stream.abort(new Error('done'))
  })

  it('reports a stream that ends mid-frame (STREAM_ENDED)', async () => {
    const stream = await open(async (s) => { await readFrame(s, { maxBytes: 1024 }) })
    stream.send(new Uint8Array([10, 1, 2, 3]))
    await stream.close()
    expect((await served as NetError).code).toBe('STREAM_ENDED')
  })

  it('reports a stream that ends before any frame (STREAM_ENDED)', async () => {
    const stream = await open(async (s) => { await readFrame(s, { maxBytes: 1024 }) })
    await stream.close()
    expect((await served as NetError).code).toBe('STREAM_ENDED')
  })

  it('gives up when its signal times out (TIMEOUT)', async () => {
    const stream = await open(async (s) => { await readFrame(s, { maxBytes: 1024 }); await s.close() })
    const err = await rejection(readFrame(stream, { maxBytes: 1024, signal: AbortSignal.timeout(50) }))
    expect(err.code).toBe('TIMEOUT')
    stream.abort(new Error('done'))
    await served
  })

  it('writeFrame refuses a body over maxBytes (TOO_LARGE)', async () => {
    const stream = await open(async () => {})
    expect((await rejection(writeFrame(stream, filled(11, 0), { maxBytes: 10 }))).code).toBe('TOO_LARGE')
    stream.abort(new Error('done'))
  })

  it('writes the same prefix it-length-prefixed does', async () => {
    const stream = await open(async (s) => {
      const received = new Uint8ArrayList()
      for await (const chunk of s) received.append(chunk)
      await writeFrame(s, received.subarray())
      await s.close()
    })
    await writeFrame(stream, filled(300, 3))
    await stream.close()
    const raw = await readFrame(stream, { maxBytes: 1024 })
    expect(Array.from(raw.subarray(0, 2))).toEqual([0xac, 0x02]) // 300 as a varint
    expect(raw.subarray(2)).toEqual(filled(300, 3))
  })
})
