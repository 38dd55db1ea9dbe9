/**
 * Local cores (the catalog, erased leaves, cosignatures, fork proofs, the
 * outbox, the audit log) are the node's own: a peer that asks for one's key
 * over replication gets nothing, and neither the heads announcements nor
 * the reconciliation on connect ever name one. Real nodes on 127.0.0.1.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  buildExam, buildGenesis, bytesToHex, generatePartyKeys, newRecoveryPhrase, signEntry, userKeysFromPhrase, utf8ToBytes
} from '@healthchain/core'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import { LOCAL_CORES, Ledger, type LocalCoreName } from '@healthchain/ledger'
import { NetworkNode } from '@healthchain/net'
import { makeParty, waitFor, type Party } from '@healthchain/net/testing'

const cleanup: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

async function ledgerFor (dir: string, who: Party): Promise<Ledger> {
  const ledger = await Ledger.open({ dir: join(dir, who.id), institution: who.id, crypto, verifyWorkers: 0 })
  cleanup.push(async () => { await ledger.close() })
  return ledger
}

async function nodeFor (ledger: Ledger, who: Party, bootstrapPeers: string[] = []): Promise<NetworkNode> {
  const node = await NetworkNode.start({ ledger, privateKey: who.p2p, bootstrapPeers })
  cleanup.push(async () => { await node.stop() })
  return node
}

describe('local cores', () => {
  it('are never served to a peer, announced or reconciled', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'healthchain-local-'))
    cleanup.push(async () => { await rm(dir, { recursive: true, force: true }) })
    const governance = generatePartyKeys(crypto)
    const a = await makeParty('hospital-a', 'examiner')
    const b = await makeParty('hospital-b', 'examiner')

    const ledgerA = await ledgerFor(dir, a)
    const registry = await ledgerA.createRegistry(governance.sign, 'Local cores test')
    for (const p of [a, b]) {
      const admitted = { institution: p.id, name: p.id, role: p.role, sign: p.keys.sign.publicKey, box: p.keys.box.publicKey, peer: p.peer }
      await registry.append('admit', admitted, governance.sign)
    }
    const user = userKeysFromPhrase(newRecoveryPhrase(), crypto)
    const chainKey = await ledgerA.chainKeyFor(user.userId)
    const chain = await ledgerA.enrol(signEntry(buildGenesis(user, a.id, {}, crypto), { chainKey, seq: 0 }, user.sign.secretKey, crypto))
    await chain.appendSigned(buildExam({
      author: a.id,
      reg: registry.length,
      chainKey,
      plain: { observations: [{ code: '8480-6', value: 120, unit: 'mm[Hg]' }] },
      sealed: { notes: 'visit' },
      recipients: chain.examRecipients(a.keys.box.publicKey)
    }, crypto), a.keys.sign)

    // Every local core of hospital-a holds a block, so there would be something to serve.
    const localKeys = new Map<LocalCoreName, Uint8Array>()
    for (const name of Object.keys(LOCAL_CORES) as LocalCoreName[]) {
      const core = await ledgerA.localCore(name)
      if (core.length === 0) await core.append(utf8ToBytes(`a block of ${name}`))
      localKeys.set(name, new Uint8Array(core.key!))
      await core.close()
    }
    expect([...localKeys.keys()].every((name) => name.startsWith('local/'))).toBe(true)

    const ledgerB = await ledgerFor(dir, b)
    await ledgerB.followRegistry(registry.key)
    const nodeA = await nodeFor(ledgerA, a)
    const nodeB = await nodeFor(ledgerB, b, [a.peer])
    await nodeB.dial(`${nodeA.addresses[0]!}`)
    await waitFor(() => ledgerB.registry.length === registry.length, 'hospital-b to receive the registry')
    // The chain's head reaches hospital-b (by reconciliation on connect, or by announcement), and the chain replicates.
    await waitFor(() => nodeB.heads.log.since(0, 1_000).heads.some((h) => bytesToHex(h.key) === bytesToHex(chainKey)), 'hospital-b to learn the chain\'s head')
    const { ingest } = await nodeB.replication.fetchChain(user.userId, chainKey, { length: chain.length })
    expect(ingest.problem).toBeUndefined()

    // Asked for by key, a local core is not served: nothing arrives.
    for (const [name, key] of localKeys) {
      await expect(nodeB.replication.fetchGenesis(key, { timeoutMs: 1_500 }), name)
        .rejects.toMatchObject({ code: expect.stringMatching(/^(NO_PEER|TIMEOUT)$/) })
    }
    // Nor is any named by a head, on either side.
    const local = new Set([...localKeys.values()].map(bytesToHex))
    for (const node of [nodeA, nodeB]) {
      const named = node.heads.log.since(0, 100_000).heads.map((h) => bytesToHex(h.key))
      expect(named).toContain(bytesToHex(chainKey))
      expect(named.filter((key) => local.has(key))).toEqual([])
    }
  }, 60_000)
})
