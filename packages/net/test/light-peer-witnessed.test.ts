/**
 * A light peer that demands witnessed heads, against real nodes on
 * 127.0.0.1: a custodian's second node (same chain key pair) shows the phone
 * another history at the length the regulator cosigned, and the sync is
 * refused with NO_QUORUM; the same phone with quorum 0 would take it, which
 * is why 0 is an opt-out; a quorum that is not a count is refused before
 * anything is asked; a witness answers a light peer about its own chain only.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { bytesToHex, type UserKeys } from '@healthchain/core'
import { coreOf } from '@healthchain/ledger/testing'
import { LightPeer, headOf, type NetworkNode } from '@healthchain/net'
import { enrol, TestNet, waitFor, writeExam, type Cleanup, type Party } from '@healthchain/net/testing'
import { blocksOf, examBlocks, seedTwinLedger } from './helpers/equivocation.js'
import { lightPhone, tcpAddressOf } from './helpers/light-phone.js'

const cleanup: Cleanup = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

const phoneOf = async (net: TestNet, user: UserKeys, bootstrap: readonly NetworkNode[]): Promise<LightPeer> => await lightPhone(net, cleanup, user, bootstrap)
const tcp = tcpAddressOf

describe('a light peer demanding witnessed heads', () => {
  it('refuses a history the witnesses did not cosign, shown by the custodian\'s second node', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner'], ['regulator', 'regulator'], ['hospital-m', 'examiner']], cleanup)
    const [a, r, m] = net.parties as [Party, Party, Party]
    await net.start(a.id)
    const regulator = await net.start(r.id)
    await net.meshed()
    const { user, chainKey, chain } = await enrol(net, a.id)
    await writeExam(net.node(a.id), a, user, chainKey)
    await waitFor(async () => (await regulator.ledger.chain(user.userId).catch(() => undefined))?.verifiedLength === 2, 'the regulator to verify the chain')
    const cosigned = await headOf(chain)
    // The phone's first question makes the regulator cosign the head at 2.
    const phone = await phoneOf(net, user, [regulator])
    await phone.connect(tcp(regulator))
    expect((await phone.witnessedHead(chainKey, { quorum: 1, timeoutMs: 5_000 })).head).toEqual(cosigned)
    // From now on the regulator answers witness requests but serves no blocks.
    await regulator.replication.stop()

    // hospital-m holds the custodian's key pair and history B: the same genesis, then another exam at position 1. It gets the
    // registry from the custodian, which then goes away: hospital-m is the only node that can serve the phone blocks.
    const genesis = await blocksOf(coreOf(chain), 1)
    await seedTwinLedger(net, m.id, a.id, user, chainKey, [...genesis, ...examBlocks(net, a, user, chainKey, 1, 1, 'history B')])
    const twin = await net.start(m.id, {}, [a.id])
    await net.stop(a.id)
    const other = await headOf(await twin.ledger.chain(user.userId))
    expect(other.length).toBe(cosigned.length)
    expect(bytesToHex(other.root)).not.toBe(bytesToHex(cosigned.root))
    await phone.connect(tcp(twin))
    await expect(phone.sync(chainKey, { quorum: 1, timeoutMs: 5_000 })).rejects.toMatchObject({ code: 'NO_QUORUM' })
    // The device's copy is history B, verified to the witnessed length (its blocks are validly signed): refused for its root alone.
    const copy = await phone.ledger.chain(user.userId)
    expect(copy.verifiedLength).toBe(2)
    expect(bytesToHex(await copy.treeHashAt(2))).toBe(bytesToHex(other.root))
    // Only an explicit opt-out takes it.
    expect((await phone.sync(chainKey, { quorum: 0, timeoutMs: 5_000 })).witnessed).toBeUndefined()

    for (const quorum of [-1, 0.5]) {
      await expect(phone.sync(chainKey, { quorum, timeoutMs: 5_000 })).rejects.toMatchObject({ code: 'INVALID_FIELD', field: 'quorum' })
    }
  }, 60_000)

  it('a witness answers a light peer about its own chain only', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner'], ['regulator', 'regulator']], cleanup)
    const a = await net.start('hospital-a')
    const regulator = await net.start('regulator')
    await net.meshed()
    const alice = await enrol(net, 'hospital-a')
    const bob = await enrol(net, 'hospital-a')
    for (const u of [alice, bob]) {
      await waitFor(async () => (await regulator.ledger.chain(u.user.userId).catch(() => undefined))?.verifiedLength === 1, 'the regulator to verify the chain')
    }
    const bobsPhone = await phoneOf(net, bob.user, [a, regulator])
    await bobsPhone.connect(tcp(a))
    await bobsPhone.connect(tcp(regulator))
    expect((await bobsPhone.witnessedHead(bob.chainKey, { quorum: 1, timeoutMs: 5_000 })).head.length).toBe(1)
    const served = regulator.witness!.stats.served
    // Alice's chain: the regulator holds it and would cosign it, but not for Bob's phone.
    await expect(bobsPhone.witnessedHead(alice.chainKey, { quorum: 1, timeoutMs: 5_000 })).rejects.toMatchObject({ code: 'NO_QUORUM' })
    expect(regulator.witness!.stats.served).toBe(served)
    expect(await regulator.witness!.cosignaturesOf(alice.chainKey)).toEqual([])
  }, 60_000)
})
