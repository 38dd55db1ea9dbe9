/**
 * The ledger's one change event: an enrolment, every batch written here,
 * every ingest of blocks fetched from a peer — each told once, with the
 * user, the length reached and the kind; nothing for a retry or a refusal.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { coreOf } from '@healthchain/ledger/testing'
import type { ChainChange } from '../src/index.js'
import {
  enrol, examEntry, expectCode, link, makeConsortium, newUser, signAs, signerOf, writeExam, type TestConsortium
} from './helpers/consortium.js'

let c: TestConsortium
afterEach(async () => { await c.cleanup() })

describe('Ledger.onChange', () => {
  it('tells an enrolment, each written batch once, and nothing for a retry, a refusal or after unsubscribing', async () => {
    c = await makeConsortium()
    const a = c.institutions.hospitalA
    const changes: ChainChange[] = []
    const stop = c.ledger.onChange((change) => { changes.push(change) })
    // A listener that throws changes nothing for the others, or for the write.
    const stopThrowing = c.ledger.onChange(() => { throw new Error('listener') })
    const user = newUser()
    const chain = await enrol(c.ledger, user)
    expect(changes).toEqual([{ user: user.userId, length: 1, kind: 'enrol' }])

    // Three appends made in one turn share a batch: one change, at the length they reach.
    await Promise.all([0, 1, 2].map(async () => await chain.appendSigned(examEntry(c.ledger, chain, a), signerOf(a))))
    expect(changes.slice(1)).toEqual([{ user: user.userId, length: 4, kind: 'append' }])

    // A retry of an entry already there, and a refused entry, write nothing and tell nothing.
    const entry = signAs(a, examEntry(c.ledger, chain, a), chain.key, chain.length)
    expect((await chain.append(entry, chain.length)).duplicate).toBe(false)
    expect((await chain.append(entry, chain.length - 1)).duplicate).toBe(true)
    await expectCode(chain.append(signAs(a, examEntry(c.ledger, chain, a), chain.key, 1), 1), 'STALE_POSITION')
    expect(changes.slice(2)).toEqual([{ user: user.userId, length: 5, kind: 'append' }])

    stop()
    stopThrowing()
    await writeExam(c.ledger, chain, a)
    expect(changes).toHaveLength(3)
  })

  it('tells a replica\'s ingest of fetched blocks, at the verified length', async () => {
    c = await makeConsortium()
    const chain = await enrol(c.ledger, newUser())
    for (let i = 0; i < 3; i++) await writeExam(c.ledger, chain, c.institutions.hospitalA)
    const peer = await c.openPeer('regulator', { institution: c.institutions.regulator.id, verifyWorkers: 0 })
    await peer.followRegistry(c.ledger.registry.key)
    const changes: ChainChange[] = []
    peer.onChange((change) => { changes.push(change) })
    const wire = link(c.ledger, peer)
    try {
      await wire.fetch(peer.registry.core, c.ledger.registry.core.length)
      const replica = await peer.replicaOf(chain.userId!, chain.key)
      await wire.fetch(coreOf(replica), chain.length)
      expect((await replica.ingest()).added).toBe(chain.length)
      // Nothing new: no change.
      expect((await replica.ingest()).added).toBe(0)
      expect(changes).toEqual([{ user: chain.userId, length: chain.length, kind: 'ingest' }])
    } finally {
      wire.destroy()
    }
  })
})
