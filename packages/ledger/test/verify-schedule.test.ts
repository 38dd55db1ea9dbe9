/**
 * Verification in chunks (src/verify-schedule.ts) over workers and the
 * calling thread, the compact form verdicts cross threads in
 * (src/verify-codec.ts) and batched block reads (readBlocks in
 * src/tree-audit.ts): whatever thread verifies which chunk, the report must
 * be the one the calling thread alone makes — on a chain of many chunks
 * mixing entry types, consent, erasures, and then damage.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { coreOf } from '@healthchain/ledger/testing'
import { buildErasure, buildGrant, buildRevoke, buildUserEntry, type UserKeys } from '@healthchain/core'
import { sodiumProvider } from '@healthchain/core/sodium'
import { VerifyPool, verifyChain, type UserChain } from '../src/index.js'
import { readBlocks } from '../src/tree-audit.js'
import { verifyBlocks } from '../src/verify-blocks.js'
import { packJob, packVerdict, unpackVerdict } from '../src/verify-codec.js'
import { CHUNK, verifyInChunks } from '../src/verify-schedule.js'
import { appendUser, crypto, enrol, examEntry, makeConsortium, newUser, overwriteBlock, signerOf, within, type TestConsortium } from './helpers/consortium.js'

let c: TestConsortium
let user: UserKeys
let chain: UserChain
const pools: VerifyPool[] = []
const T0 = Date.UTC(2026, 0, 1)

beforeAll(async () => {
  c = await makeConsortium()
  user = newUser()
  chain = await enrol(c.ledger, user)
  const { hospitalA: a, hospitalB: b } = c.institutions
  const exams = async (n: number): Promise<void> => {
    await Promise.all(Array.from({ length: n }, async () => await chain.appendSigned(examEntry(c.ledger, chain, a), signerOf(a))))
  }
  await exams(150)
  await appendUser(chain, user, buildUserEntry('exercise', { start: T0, end: T0 + 1000, observations: [{ code: '55423-8', value: 4000 }] }, { time: T0 }, crypto))
  await appendUser(chain, user, buildGrant({ examiner: b.id, examinerBox: b.keys.box.publicKey, chainKey: chain.key, userBox: user.box }, crypto))
  await exams(100)
  await Promise.all(Array.from({ length: 40 }, async () => await chain.appendSigned(examEntry(c.ledger, chain, b), signerOf(b))))
  for (let i = 0; i < 30; i++) {
    await appendUser(chain, user, buildUserEntry('location', { points: [{ lat: 45 + i / 100, lon: 7, acc: 10, time: T0 + i }] }, { time: T0 + i }, crypto))
  }
  await appendUser(chain, user, buildRevoke(b.id, {}, crypto))
  await exams(200)
  // Erased blocks on both sides of chunk boundaries.
  await appendUser(chain, user, buildErasure([CHUNK - 1, CHUNK, 3 * CHUNK + 5, 400], {}, crypto))
  await exams(80)
  for (const size of [1, 2, 3]) pools.push(new VerifyPool(size))
}, 60_000)
afterAll(async () => {
  await Promise.all(pools.map(async (p) => await p.close()))
  await c.cleanup()
})

async function expectSameEverywhere (): Promise<Awaited<ReturnType<typeof verifyChain>>> {
  const opts = { erasedLeaves: chain.erasedLeaves }
  const inline = await verifyChain(coreOf(chain), c.ledger.registry.state, sodiumProvider, opts)
  for (const pool of pools) {
    // twice: the second run starts with warm workers, so chunks are shared out differently
    for (let run = 0; run < 2; run++) expect(await verifyChain(coreOf(chain), c.ledger.registry.state, sodiumProvider, { ...opts, pool })).toEqual(inline)
  }
  return inline
}

describe('verification in chunks, over workers and the calling thread', () => {
  it('gives the same report as the calling thread alone, on a valid chain of many chunks', async () => {
    expect(chain.length).toBeGreaterThan(8 * CHUNK)
    const report = await expectSameEverywhere()
    expect(report).toMatchObject({ valid: true, problems: [], missing: [], erased: [CHUNK - 1, CHUNK, 3 * CHUNK + 5, 400] })
    expect(report.verified).toBe(chain.length - 4)
    expect(report.tree.ok).toBe(true)
  })

  it('and on damage: a bad signature, a malformed block, a block missing without an erasure', async () => {
    const block = (await coreOf(chain).get(2 * CHUNK + 3, { wait: false }))!
    const damaged = new Uint8Array(block)
    damaged[damaged.length - 1]! ^= 0x01
    await overwriteBlock(coreOf(chain), 2 * CHUNK + 3, damaged)
    await overwriteBlock(coreOf(chain), 5 * CHUNK, new Uint8Array([0x83, 0x01, 0x40, 0x40]))
    await coreOf(chain).clear(7 * CHUNK + 1)
    const report = await expectSameEverywhere()
    expect(report.valid).toBe(false)
    expect(report.missing).toEqual([7 * CHUNK + 1])
    expect(report.problems).toContainEqual(expect.objectContaining({ seq: 2 * CHUNK + 3, code: 'BAD_SIGNATURE' }))
    expect(report.problems).toContainEqual(expect.objectContaining({ seq: 5 * CHUNK, code: 'MALFORMED' }))
    expect(report.problems).toContainEqual(expect.objectContaining({ seq: 7 * CHUNK + 1, code: 'MISSING_BLOCK' }))
  })
})

describe('what crosses threads', () => {
  it('batched reads return what core.get returns, null where a block is cleared', async () => {
    const blocks = await readBlocks(coreOf(chain), 0, chain.length)
    for (let seq = 0; seq < chain.length; seq++) {
      const one = await coreOf(chain).get(seq, { wait: false })
      if (one === null) expect(blocks[seq]).toBeNull()
      else expect(Buffer.from(blocks[seq]!).equals(one)).toBe(true)
    }
    expect(blocks.filter((b) => b === null).length).toBeGreaterThan(0)
  })

  it('a packed job and a packed verdict come out as they went in', async () => {
    const blocks = await readBlocks(coreOf(chain), 0, 160)
    const registry = c.ledger.registry.state.institutions().map(({ id, sign, since }) => ({ id, sign, since }))
    const job = { segments: [{ key: chain.key, start: 0 }], start: 0, blocks, userSigns: [user.sign.publicKey], registry }
    const { message, transfer } = packJob(job)
    const received = structuredClone(message, { transfer })
    expect(received.blocks.map((b) => b === null ? null : Buffer.from(b).toString('hex'))).toEqual(blocks.map((b) => b === null ? null : Buffer.from(b).toString('hex')))
    const verdict = verifyBlocks(received, sodiumProvider)
    // genesis, consent and refusals are cloned; exams, exercise and location go in columns
    expect(new Set(verdict.results.map((r) => r.status === 'decoded' ? r.view.type : r.status))).toEqual(new Set(['genesis', 'exam', 'exercise', 'consent', 'absent', 'invalid']))
    const packed = packVerdict(verdict)
    expect(unpackVerdict(structuredClone(packed.message, { transfer: packed.transfer }))).toEqual(verdict)
  })
})

describe('who verifies', () => {
  it('the calling thread leaves every chunk to a ready worker while callerVerifies says no, and takes its share from the moment it says yes', async () => {
    const pool = pools[0]!
    pool.warm()
    await within(new Promise<void>((resolve) => {
      const poll = setInterval(() => { if (pool.ready) { clearInterval(poll); resolve() } }, 20)
    }), 60_000, 'a verification worker to start')
    const registry = c.ledger.registry.state.institutions().map(({ id, sign, since }) => ({ id, sign, since }))
    const run = async (callerVerifies: () => boolean, onFold: () => void): Promise<{ toPool: number, folded: number }> => {
      const spy = vi.spyOn(pool, 'run')
      let folded = 0
      try {
        await verifyInChunks({
          length: chain.length,
          read: async ({ start, end }) => ({ blocks: await readBlocks(coreOf(chain), start, end) }),
          job: ({ start }, blocks) => ({ segments: [{ key: chain.key, start: 0 }], start, blocks, userSigns: [user.sign.publicKey], registry }),
          fold: () => { folded++; onFold() },
          crypto: sodiumProvider,
          pool,
          callerVerifies,
          whenReady: true
        })
        return { toPool: spy.mock.calls.length, folded }
      } finally {
        spy.mockRestore()
      }
    }
    const chunks = Math.ceil(chain.length / CHUNK)
    expect(chunks).toBeGreaterThan(8)
    // A transfer under way the whole time: every chunk goes to the worker.
    expect(await run(() => false, () => {})).toEqual({ toPool: chunks, folded: chunks })
    // The transfer ends after the first chunk: the calling thread verifies some of the rest itself.
    let transferring = true
    const ended = await run(() => !transferring, () => { transferring = false })
    expect(ended.folded).toBe(chunks)
    expect(ended.toPool).toBeLessThan(chunks - 1)
  }, 90_000)
})
