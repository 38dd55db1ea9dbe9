/**
 * Crashes as a machine would have them: a custodian in its own process takes
 * concurrent writes for two users and is killed with SIGKILL at a random
 * moment — after a random number of acknowledgements, with other writes in
 * flight — then started again from its data directory, while a replica in
 * this process (which hosts the registry) keeps running. Checked each time:
 *   I3 every acknowledged write is in the custodian's chain, at its
 *      position, with its id; the chain verifies;
 *   I4 the replica reaches the custodian's verified length, with a chain
 *      that verifies, and then reports no lag.
 * fast-check draws the writers, the kill point and the kills per run
 * (HEALTHCHAIN_CRASH_RUNS, default 3; a fixed seed by default).
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { buildGenesis, bytesToHex, encodeEntry, newRecoveryPhrase, signEntry, userKeysFromPhrase, type UserKeys } from '@healthchain/core'
import { HEADS_TOPIC } from '@healthchain/net'
import type { NodeProcess } from './fixtures/net-node-process.js'
import { childNode } from './helpers/child-node.js'
import { crypto, TestNet, waitFor, type Cleanup, type Party } from '@healthchain/net/testing'

const RUNS = Number(process.env.HEALTHCHAIN_CRASH_RUNS ?? 3)
const SEED = Number(process.env.HEALTHCHAIN_CRASH_SEED ?? 20261206)

interface ChainView { held: boolean, length: number, verifiedLength: number, ids: string[], valid: boolean }
interface Ack { user: number, seq: number, id: string }

const cleanup: Cleanup = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

async function crashRun (writers: number, killAfter: readonly number[], totals: { acked: number, kills: number, inFlight: number }): Promise<void> {
  const local: Cleanup = []
  try {
    const net = await TestNet.create([['hospital-b', 'examiner'], ['hospital-a', 'examiner']], local)
    const [b, a] = net.parties as [Party, Party]
    const dir = await mkdtemp(join(tmpdir(), 'healthchain-crash-'))
    await chmod(dir, 0o700)
    local.push(async () => { await rm(dir, { recursive: true, force: true, maxRetries: 3 }) })
    const spawner = await childNode(net, a, b.id, dir, local)
    const replica = await net.start(b.id)
    let custodian: NodeProcess = await spawner.spawn(replica.addresses[0]!)
    await custodian.ready()
    await waitFor(() => replica.replication.peers.includes(a.peer) && replica.host.services.pubsub.getSubscribers(HEADS_TOPIC).map(String).includes(a.peer), 'the custodian to join the replica')

    const users: UserKeys[] = []
    for (let i = 0; i < 2; i++) {
      const user = userKeysFromPhrase(newRecoveryPhrase(), crypto)
      const chainKey = Uint8Array.from(Buffer.from(await custodian.request<string>('chainKey', { user: user.userId }), 'hex'))
      await custodian.request('enrol', { genesis: bytesToHex(encodeEntry(signEntry(buildGenesis(user, a.id, {}, crypto), { chainKey, seq: 0 }, user.sign.secretKey, crypto))) })
      users.push(user)
    }

    const acks: Ack[] = []
    let label = 0
    for (const after of killAfter) {
      const target = acks.length + after
      let stopping = false
      const node = custodian
      // Writers loop until the kill; a write the kill cuts off is not acknowledged and counts for nothing.
      const loops = Array.from({ length: writers }, async (_, w) => {
        // eslint-disable-next-line no-unmodified-loop-condition -- set by the kill below, while these loops await
        while (!stopping) {
          const user = (w + label) % users.length
          const mine = `w${label++}`
          try {
            const result = await node.request<{ seq: number, entryId: string }>('write', { label: mine, user: users[user]!.userId, userBox: bytesToHex(users[user]!.box.publicKey) })
            acks.push({ user, seq: result.seq, id: result.entryId })
          } catch {
            // In flight when the kill came (the only way a write fails here).
            totals.inFlight++
            return
          }
        }
      })
      await waitFor(() => acks.length >= target, `${after} acknowledgements before the kill`, 30_000)
      stopping = true
      await custodian.kill()
      expect(custodian.exit?.signal).toBe('SIGKILL')
      totals.kills++
      await Promise.all(loops)
      custodian = await spawner.spawn(undefined)
      const { addresses } = await custodian.ready()
      await replica.dial(addresses[0]!)
    }
    totals.acked += acks.length

    for (const [i, user] of users.entries()) {
      // I3: every acknowledged write, at its position, with its id, in a chain that verifies.
      const view = await custodian.request<ChainView>('chain', { user: user.userId })
      expect(view.valid, `chain ${i} verifies at the custodian`).toBe(true)
      for (const ack of acks.filter((k) => k.user === i)) {
        expect(view.ids[ack.seq], `chain ${i}: acknowledged write at ${ack.seq}`).toBe(ack.id)
      }
      // I4: the replica reaches it, verified.
      await waitFor(async () => replica.ledger.hasChain(user.userId) && (await replica.ledger.chain(user.userId)).verifiedLength === view.verifiedLength,
        `the replica to reach chain ${i}'s ${view.verifiedLength} entries`, 30_000)
      expect((await replica.ledger.verify(user.userId)).valid).toBe(true)
    }
    await waitFor(() => replica.heads.replicationLag().chainsBehind === 0, 'the replica to report no lag once level')
    await custodian.stop()
  } finally {
    for (const fn of local.splice(0).reverse()) await fn().catch(() => {})
  }
}

describe('a custodian killed with SIGKILL', () => {
  it('loses no acknowledged write, and its replica converges, whenever the kill comes', async () => {
    const totals = { acked: 0, kills: 0, inFlight: 0 }
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 1, max: 6 }),
      fc.array(fc.integer({ min: 0, max: 25 }), { minLength: 1, maxLength: 2 }),
      async (writers, killAfter) => { await crashRun(writers, killAfter, totals) }
    ), { numRuns: RUNS, seed: SEED })
    console.info(`crash runs: ${RUNS} runs, ${totals.kills} SIGKILLs, ${totals.acked} writes acknowledged, 0 lost, ${totals.inFlight} writes in flight at a kill (unacknowledged, allowed either way)`)
    expect(totals.kills).toBeGreaterThanOrEqual(RUNS)
  }, 300_000)
})
