/**
 * A custodian that appends raw blocks: a consent grant "from the user" signed
 * with its own key, then an exam sealed for the examiner it named. Replicas
 * refuse the grant when they fetch it (BAD_SIGNATURE) and never serve it or
 * what follows — and that refusal must hold after the chain is closed when
 * idle and reopened, and after the node restarts: Hypercore stores a
 * replicated block before the ledger checks it, so what is on disk is not
 * what was verified. Real nodes on 127.0.0.1, data on disk.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { UserId } from '@healthchain/core'
import type { NetworkNode } from '@healthchain/net'
import { MaliciousCustodian } from './helpers/malicious-custodian.js'
import { enrol, TestNet, waitFor, writeExam, type Cleanup } from '@healthchain/net/testing'

const cleanup: Cleanup = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

/** What a node offers as valid of a chain, and whether it would cosign the custodian's head. */
async function servedState (
  node: NetworkNode, user: UserId, examiner: string
): Promise<{ verified: number, served: number, granted: boolean, recipients: number }> {
  const chain = await node.ledger.chain(user)
  const read = await node.read(user)
  return {
    verified: chain.verifiedLength,
    served: read.entries.length,
    granted: chain.consent.isGranted(examiner, Date.now()),
    recipients: chain.examRecipients(new Uint8Array(32).fill(7)).length
  }
}

describe('a replica facing a lying custodian', () => {
  it('refuses a forged grant and the exam sealed for its grantee, and still refuses them after an idle close and a restart', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner'], ['hospital-m', 'examiner'], ['hospital-b', 'examiner'], ['regulator', 'regulator']], cleanup)
    const nodeA = await net.start('hospital-a')
    await net.start('hospital-b')
    let regulator = await net.start('regulator')
    await net.meshed()
    const { user, chainKey } = await enrol(net, 'hospital-a')
    await writeExam(nodeA, net.party('hospital-a'), user, chainKey)
    for (const id of ['hospital-b', 'regulator']) {
      await waitFor(async () => (await net.node(id).ledger.chain(user.userId).catch(() => undefined))?.verifiedLength === 2, `${id} to verify the honest prefix`)
    }

    const liar = MaliciousCustodian.at(nodeA, net.party('hospital-a'))
    const m = net.party('hospital-m')
    await liar.forgedGrant(user.userId, m)
    await liar.examSealedFor(user.userId, [user.box.publicKey, net.party('hospital-a').keys.box.publicKey, m.keys.box.publicKey])
    for (const id of ['hospital-b', 'regulator']) {
      await waitFor(() => (net.node(id).heads.stats.fetch.failed.get('BAD_SIGNATURE') ?? 0) > 0, `${id} to refuse the forged grant`)
    }

    const expected = { verified: 2, served: 1, granted: false, recipients: 2 }
    const check = async (when: string): Promise<void> => {
      for (const id of ['hospital-b', 'regulator']) {
        const node = net.node(id)
        const chain = await node.ledger.chain(user.userId)
        // The blocks are on disk (Hypercore stored them before the ledger refused them) …
        expect(chain.length, `${id} ${when}: stored length`).toBe(4)
        // … and still refused: nothing past the forged grant is served or folded.
        expect(await servedState(node, user.userId, m.id), `${id} ${when}`).toEqual(expected)
      }
      const head = await nodeA.heads.log.get(Buffer.from(chainKey).toString('hex'))
      expect(head?.length).toBe(4)
      const verdict = await regulator.witness!.consider(head!)
      expect(verdict, `regulator ${when}: cosigns the forged head`).toEqual({ cosigned: false, reason: 'NOT_VERIFIED' })
      const report = await regulator.ledger.verify(user.userId)
      expect(report.valid).toBe(false)
    }
    await check('at first')

    // Closed when idle (every node does it after 60 s unused), then reopened on the next use.
    for (const id of ['hospital-b', 'regulator']) {
      await waitFor(async () => (await net.node(id).ledger.closeIdle(0)) >= 0 && net.node(id).ledger.openChainCount === 0, `${id} to close its idle chains`)
    }
    await check('after an idle close')

    // A restart from the same data directory.
    for (const id of ['hospital-b', 'regulator']) {
      await net.stop(id)
      await net.closeLedger(id)
    }
    await net.start('hospital-b')
    regulator = await net.start('regulator')
    await check('after a restart')
  }, 90_000)
})
