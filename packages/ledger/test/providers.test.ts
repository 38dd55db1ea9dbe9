/**
 * Both crypto providers: a custodian running on noble (pure JS) and a
 * regulator's replica running on libsodium reach the same verdicts, on a
 * sound chain and on a damaged one.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { coreOf } from '@healthchain/ledger/testing'
import { buildErasure, buildGrant, buildUserEntry, nobleProvider, openSealed } from '@healthchain/core'
import { sodiumProvider } from '@healthchain/core/sodium'
import { verifyChain, type ChainReport } from '../src/index.js'
import {
  appendUser, enrol, link, makeConsortium, newUser, overwriteBlock, sampleSealed, writeExam, type TestConsortium
} from './helpers/consortium.js'

let c: TestConsortium
afterEach(async () => { await c.cleanup() })

const T0 = Date.UTC(2026, 0, 1)

/** The verdict of a report, without messages. */
function verdict (r: ChainReport): unknown {
  return {
    chainKey: r.chainKey,
    userId: r.userId,
    length: r.length,
    valid: r.valid,
    treeOk: r.tree.ok,
    verified: r.verified,
    erased: r.erased,
    missing: r.missing,
    problems: r.problems.map((p) => [p.seq, p.code])
  }
}

describe('crypto providers', () => {
  it('enrol → exam → verify on a noble ledger; a libsodium replica gives the same verdict', async () => {
    c = await makeConsortium({ crypto: nobleProvider, verifyWorkers: 0 })
    expect(c.ledger.crypto).toBe(nobleProvider)
    const user = newUser()
    const { hospitalA: a, hospitalB: b } = c.institutions
    const chain = await enrol(c.ledger, user)
    await writeExam(c.ledger, chain, a)
    await appendUser(chain, user, buildUserEntry('exercise', { start: T0, end: T0 + 1000, observations: [{ code: '55423-8', value: 5 }] }, { time: T0 }, nobleProvider))
    await appendUser(chain, user, buildGrant({ examiner: b.id, examinerBox: b.keys.box.publicKey, chainKey: chain.key, userBox: user.box, history: await chain.read({ types: ['exam'] }) }, nobleProvider))
    const sealedForB = await writeExam(c.ledger, chain, a)
    await appendUser(chain, user, buildErasure([2], {}, nobleProvider))
    const nobleReport = await c.ledger.verify(user.userId)
    expect(nobleReport).toMatchObject({ valid: true, length: 6, verified: 5, erased: [2], missing: [] })

    // A regulator's replica, on libsodium.
    const regulator = await c.openPeer('regulator', { institution: c.institutions.regulator.id, crypto: sodiumProvider, verifyWorkers: 0 })
    await regulator.followRegistry(c.ledger.registry.key)
    const wire = link(c.ledger, regulator)
    try {
      await wire.fetch(regulator.registry.core, c.ledger.registry.core.length)
      await regulator.registry.refresh()
      const replica = await regulator.replicaOf(user.userId, chain.key)
      // The erased block 2 is gone from the custodian: fetch around it.
      await wire.fetch(coreOf(replica), 2)
      await Promise.all([3, 4, 5].map(async (seq) => await coreOf(replica).get(seq, { timeout: 10_000 })))
    } finally {
      wire.destroy()
    }
    const replica = await regulator.chain(user.userId)
    // The replica has no block 2 either, and nothing erased it here yet: the erasure entry explains it.
    const sodiumReport = await regulator.verify(user.userId)
    expect(verdict(sodiumReport)).toEqual(verdict(nobleReport))

    // Both providers open what the other sealed.
    const exam = (await replica.get(sealedForB))!
    const ctx = { chainKey: chain.key, entryId: exam.id }
    expect(openSealed(exam.sealed!, b.keys.box, ctx, sodiumProvider)).toEqual(sampleSealed)
    expect(openSealed(exam.sealed!, b.keys.box, ctx, nobleProvider)).toEqual(sampleSealed)

    // And on a damaged copy, the same problems from either provider.
    const block = (await coreOf(replica).get(3, { wait: false }))!
    const damaged = new Uint8Array(block)
    damaged[damaged.length - 1]! ^= 0x01
    await overwriteBlock(coreOf(replica), 3, damaged)
    const bySodium = await verifyChain(coreOf(replica), regulator.registry.state, sodiumProvider)
    const byNoble = await verifyChain(coreOf(replica), regulator.registry.state, nobleProvider)
    expect(bySodium.valid).toBe(false)
    expect(bySodium.problems).toContainEqual(expect.objectContaining({ seq: 3, code: 'BAD_SIGNATURE' }))
    expect(verdict(byNoble)).toEqual(verdict(bySodium))
  })
})
