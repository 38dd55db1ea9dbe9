/**
 * A witness keeps at most `cosignaturesInMemory` cosignatures in memory (the
 * record is on disk, indexed by chain and length), and its promise holds past
 * that bound: a (chain, length) it cosigned long ago is never cosigned with
 * another root, and asked again it answers with the cosignature it made —
 * while it runs, after a restart, and after a cosignature was written to its
 * core but not to the index (a crash in between). Real nodes on 127.0.0.1.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Corestore from 'corestore'
import { afterEach, describe, expect, it } from 'vitest'
import { utf8ToBytes, type InstitutionRole } from '@healthchain/core'
import { cosign, encodeCosignature, headOf, type SignedHead } from '@healthchain/net'
import { converged, enrol, TestNet, writeExam, type Cleanup, type Party } from '@healthchain/net/testing'
import { coreOf, storeOf } from '@healthchain/ledger/testing'

const cleanup: Cleanup = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

const SPECS: Array<[string, InstitutionRole]> = [['hospital-a', 'examiner'], ['regulator-one', 'regulator']]
const BOUND = 2

describe('the witness\'s record of what it cosigned', () => {
  it('holds at most the bound in memory and keeps its promise for heads far older, also after a restart and a crash before the index write', async () => {
    const net = await TestNet.create(SPECS, cleanup)
    const [a, r] = net.parties as [Party, Party]
    await net.start(a.id)
    await net.start(r.id, { cosignaturesInMemory: BOUND })
    await net.meshed()
    const { user, chainKey } = await enrol(net, a.id)
    const chain = await net.node(a.id).ledger.chain(user.userId)

    // The custodian's key pair in a second store: another history, its heads at lengths 2 and 10 conflict with the real ones.
    const forkDir = await mkdtemp(join(tmpdir(), 'healthchain-witness-record-'))
    cleanup.push(async () => { await rm(forkDir, { recursive: true, force: true }) })
    const store = new Corestore(forkDir, { primaryKey: storeOf(net.node(a.id).ledger).primaryKey!, unsafe: true })
    cleanup.push(async () => { await store.close() })
    const twin = store.get({ name: `chain/${user.userId}` })
    await twin.ready()
    await twin.append((await coreOf(chain).get(0))!)
    await twin.append(utf8ToBytes('another second block'))
    const other2: SignedHead = await headOf(twin)

    let witness = net.node(r.id).witness!
    const real = new Map<number, SignedHead>()
    for (let length = 2; length <= 9; length++) {
      await writeExam(net.node(a.id), a, user, chainKey)
      await converged(net.nodes, user.userId, length, `the regulator to verify length ${length}`)
      real.set(length, await headOf(chain))
      expect(await witness.consider(real.get(length)!)).toMatchObject({ cosigned: true })
      expect(witness.cosignaturesHeld).toBeLessThanOrEqual(BOUND)
    }
    expect(witness.stats.cosigned).toBe(8)
    const newest = await witness.cosignaturesOf(chainKey, 0, 100)
    expect(newest.map((c) => c.head.length)).toEqual([9, 8, 7, 6, 5, 4, 3, 2])
    expect((await witness.cosignaturesOf(chainKey, 8)).map((c) => c.head.length)).toEqual([9, 8])
    expect(witness.cosignaturesHeld).toBeLessThanOrEqual(BOUND)
    const first = newest[7]!

    // Length 2 was cosigned six cosignatures ago: out of memory, its promise read from disk.
    expect(await witness.consider(other2)).toEqual({ cosigned: false, reason: 'CONFLICT' })
    expect(await witness.consider(real.get(2)!)).toEqual({ cosigned: true, cosignature: first })
    expect(witness.stats.cosigned).toBe(8)
    expect(witness.cosignaturesHeld).toBeLessThanOrEqual(BOUND)

    // A cosignature of length 10 reaches the core, and the process dies before the index write: written here as the witness does.
    await writeExam(net.node(a.id), a, user, chainKey)
    await converged(net.nodes, user.userId, 10, 'the regulator to verify length 10')
    const real10 = await headOf(chain)
    for (let seq = 2; seq < 10; seq++) await twin.append(utf8ToBytes(`another block ${seq}`))
    const other10: SignedHead = await headOf(twin)
    await net.stop(r.id)
    const cosignatures = await (await net.consortium.ledger(r.id)).localCore('local/cosignatures')
    const made10 = cosign(real10, r.id, r.keys.sign.secretKey)
    await cosignatures.append(encodeCosignature(made10))
    await cosignatures.close()
    await net.closeLedger(r.id)

    await net.start(r.id, { cosignaturesInMemory: BOUND })
    witness = net.node(r.id).witness!
    expect(witness.cosignaturesHeld).toBe(0)
    for (const other of [other2, other10]) expect(await witness.consider(other)).toEqual({ cosigned: false, reason: 'CONFLICT' })
    expect(await witness.consider(real.get(2)!)).toEqual({ cosigned: true, cosignature: first })
    expect(await witness.consider(real10)).toEqual({ cosigned: true, cosignature: made10 })
    expect(witness.stats.cosigned).toBe(0)
    expect((await witness.cosignaturesOf(chainKey, 9)).map((c) => c.head.length)).toEqual([10, 9])
    expect(witness.cosignaturesHeld).toBeLessThanOrEqual(BOUND)
  }, 60_000)
})
