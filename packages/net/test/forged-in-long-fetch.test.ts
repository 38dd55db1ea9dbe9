/**
 * A replica catching up on a long chain checks the blocks' author
 * signatures on its verification workers while later blocks still transfer.
 * A custodian that put an entry with a forged author signature in the middle
 * of the chain (position FORGED, inside a verification chunk, with valid
 * entries after it) must still have it refused with BAD_SIGNATURE at that
 * position, and nothing after it folded or served: the same refusal a
 * replica checking on one thread gives, and after a restart from the same
 * directory too. Real nodes on 127.0.0.1, data on disk.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { buildExam, signEntry, type UserId } from '@healthchain/core'
import type { IngestResult, Ledger } from '@healthchain/ledger'
import { LedgerConsortium, coreOf, enrolWithExams } from '@healthchain/ledger/testing'
import { NetworkNode } from '@healthchain/net'
import { crypto, makeParty, waitFor, type Party } from '@healthchain/net/testing'
import { MaliciousCustodian } from './helpers/malicious-custodian.js'

const cleanup: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

/** Valid exams before the forged entry: position 1 + HONEST is the forged one, past the first chunks of 32. */
const HONEST = 150
const FORGED = 1 + HONEST
/** Valid entries after the forged one, so the fetch is long past it. */
const AFTER = 120

async function start (ledger: Ledger, p: Party, bootstrap: Party): Promise<NetworkNode> {
  const node = await NetworkNode.start({ ledger, privateKey: p.p2p, bootstrapPeers: [bootstrap.peer], replicateAll: false })
  cleanup.push(async () => { await node.stop().catch(() => {}) })
  return node
}

/** What a replica offers as valid: its verified length and the entries its node serves (with how many blocks it stores). */
async function served (node: NetworkNode, user: UserId): Promise<{ verified: number, stored: number, entries: number }> {
  const chain = await node.ledger.chain(user)
  return { verified: chain.verifiedLength, stored: chain.length, entries: (await node.read(user, { start: 0 })).entries.length }
}

describe('a replica catching up with its verification workers', () => {
  it('refuses a forged author signature in the middle of a long fetch at its position, like a one-thread check, and after a restart', async () => {
    const [a, b, c] = await Promise.all([makeParty('hospital-a', 'examiner'), makeParty('hospital-b', 'examiner'), makeParty('hospital-c', 'examiner')])
    // hospital-b checks on one verification worker (and its calling thread); hospital-c on its calling thread alone.
    const net = await LedgerConsortium.create({
      parties: [a, b, c], name: 'Forged entry in a long fetch', prefix: 'healthchain-long-forged-', ledger: { crypto, verifyWorkers: 1 }, onCleanup: cleanup
    })
    const ledgerA = await net.ledger(a.id)
    const { user, chainKey, chain } = await enrolWithExams(ledgerA, a, HONEST, crypto)
    const liar = new MaliciousCustodian(ledgerA, a)
    const exam = (slot: { chainKey: Uint8Array, seq: number }, signer: Party): ReturnType<typeof signEntry> => signEntry(buildExam({
      author: a.id,
      reg: ledgerA.registry.length,
      chainKey: slot.chainKey,
      plain: { observations: [{ code: '8480-6', value: 130, unit: 'mm[Hg]' }] },
      sealed: { notes: 'later visit' },
      recipients: chain.examRecipients(a.keys.box.publicKey)
    }, crypto), slot, signer.keys.sign.secretKey, crypto)
    // Written by hospital-a, signed with hospital-b's key.
    expect(await liar.rawAppend(user.userId, (slot) => exam(slot, b))).toBe(FORGED)
    for (let i = 0; i < AFTER; i++) await liar.rawAppend(user.userId, (slot) => exam(slot, a))
    const length = coreOf(chain).length
    expect(length).toBe(FORGED + 1 + AFTER)

    const nodeA = await start(ledgerA, a, a)
    const fetchAt = async (id: string, ledger: Ledger): Promise<{ node: NetworkNode, ingest: IngestResult }> => {
      const node = await start(ledger, net.party(id), a)
      await node.dial(nodeA.addresses[0]!)
      await waitFor(() => ledger.registry.length === ledgerA.registry.length, `${id} to receive the registry`)
      // A long fetch starts the workers; from the sources that takes seconds, and until then the calling thread checks alone.
      // Started and awaited here, so that this fetch is checked on them.
      ledger.warmVerifyWorkers()
      if (ledger.verifyWorkers > 0) await waitFor(() => ledger.verifyWorkersReady, `${id}'s verification worker to start`, 60_000)
      return { node, ingest: (await node.replication.fetchChain(user.userId, chainKey, { length, timeoutMs: 60_000 })).ingest }
    }

    let ledgerB = await net.ledger(b.id)
    expect(ledgerB.verifyWorkers).toBe(1)
    const pooled = await fetchAt(b.id, ledgerB)
    expect(pooled.ingest.problem?.code).toBe('BAD_SIGNATURE')
    expect(pooled.ingest.problem?.seq).toBe(FORGED)
    expect(pooled.ingest.added).toBe(FORGED)
    const expected = { verified: FORGED, stored: length, entries: FORGED }
    expect(await served(pooled.node, user.userId)).toEqual(expected)

    // A replica checking every block on its calling thread refuses the same block with the same code.
    const ledgerC = await net.openLedger(c.id, { crypto, institution: c.id, verifyWorkers: 0 })
    await ledgerC.followRegistry(net.registryKey)
    const inline = await fetchAt(c.id, ledgerC)
    expect(inline.ingest.problem).toEqual(pooled.ingest.problem)
    expect(await served(inline.node, user.userId)).toEqual(expected)

    // A restart from the same directory: the blocks past the refusal are on disk, and still neither folded nor served.
    await pooled.node.stop()
    await ledgerB.close()
    ledgerB = await net.reopen(b.id)
    const again = await (await ledgerB.chain(user.userId)).ingest()
    expect(again).toEqual({ added: 0, problem: pooled.ingest.problem })
    const nodeB = await start(ledgerB, b, a)
    expect(await served(nodeB, user.userId)).toEqual(expected)
    expect((await ledgerB.verify(user.userId)).problems.map((p) => [p.seq, p.code])).toContainEqual([FORGED, 'BAD_SIGNATURE'])
  }, 120_000)
})
