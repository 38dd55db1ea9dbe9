/**
 * Crash safety: a writer process killed with SIGKILL while appending loses
 * nothing it acknowledged, and the chain it leaves verifies.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { coreOf } from '@healthchain/ledger/testing'
import { bytesToHex } from '@healthchain/core'
import { storedTreeHash, treeSignable } from '../src/index.js'
import {
  crypto, enrol, makeConsortium, newUser, writeExam, type TestConsortium
} from './helpers/consortium.js'
import { killWriterAfter } from './helpers/crash-writer.js'

let c: TestConsortium | undefined
afterEach(async () => {
  await c?.cleanup()
})

describe('crash safety', () => {
  it('every entry acknowledged before SIGKILL is present after reopening, and the chain verifies', async () => {
    c = await makeConsortium({ verifyWorkers: 0 })
    const user = newUser()
    const chain = await enrol(c.ledger, user)
    await writeExam(c.ledger, chain, c.institutions.hospitalA)
    await c.ledger.close()

    const { acked, signal } = await killWriterAfter(c.ledgerDir, user.userId, c.institutions.hospitalA.keys.sign.secretKey, 300)
    expect(signal).toBe('SIGKILL')
    expect(new Set(acked).size).toBe(acked.length)
    expect(Math.min(...acked)).toBeGreaterThanOrEqual(2)

    const ledger = await c.reopen()
    // What a restarting node seeds its head log with, read before the chain is opened: the signed head of what was written.
    const { head: stored, contiguousLength } = (await ledger.storedHeads([user.userId])).get(user.userId)!
    expect(ledger.openChainCount).toBe(0)
    const reopened = await ledger.chain(user.userId)
    expect(reopened.length).toBeGreaterThan(Math.max(...acked))
    expect(stored.length).toBe(reopened.length)
    expect(contiguousLength).toBe(reopened.length)
    expect(bytesToHex(stored.root)).toBe(bytesToHex(await storedTreeHash(coreOf(reopened), stored.length)))
    expect(crypto.verify(treeSignable(stored.key, stored.root, stored.length, stored.fork), stored.sig, stored.signer)).toBe(true)
    for (const seq of acked) {
      const entry = await reopened.get(seq)
      expect(entry?.type).toBe('exam')
      expect(entry?.author).toBe('hospital-a')
    }
    const report = await ledger.verify(user.userId)
    expect(report).toMatchObject({ valid: true, missing: [], problems: [] })
    expect(report.verified).toBe(reopened.length)

    // The custodian carries on at the next position.
    const next = reopened.length
    expect(await writeExam(ledger, reopened, c.institutions.hospitalA)).toBe(next)
  })
})
