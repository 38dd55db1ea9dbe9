/**
 * A phone's libp2p identity after a rotation, against a real node on
 * 127.0.0.1: the rotating phone reconnects under the revealed key; a new
 * phone that has only the phrase finds the generation in force by trying
 * the next generations' identities, connects and syncs; a light peer still
 * connected under the retired key is cut off as soon as the node folds the
 * rekey, a stolen phone holding only that key is refused when it dials,
 * and the user's phone that missed the rotation finds the new key.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { privateKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { buildRekey, signEntry, userKeysFromPhrase, type UserKeys } from '@healthchain/core'
import { Ledger } from '@healthchain/ledger'
import { LightPeer } from '@healthchain/net'
import { converged, TestNet, waitFor, type Cleanup } from '@healthchain/net/testing'
import { crypto, enrolledPhone, openPhone, tcpAddress, tempDir } from './helpers.js'

const cleanup: Cleanup = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

const HOUR = 3_600_000

function peerIdOf (phrase: string, generation: number): string {
  return peerIdFromPrivateKey(privateKeyFromRaw(userKeysFromPhrase(phrase, crypto, generation).sign.secretKey)).toString()
}

describe('a phone\'s identity after a rotation', () => {
  it('is the key in force: the rotating phone moves to it, and a new phone with the phrase finds it, connects and syncs', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner']], cleanup)
    const a = await net.start('hospital-a')
    const { phone, phrase } = await enrolledPhone(net, cleanup, 'hospital-a')
    expect(phone.peerId).toBe(peerIdOf(phrase, 0))
    expect(await phone.rotate()).toEqual({ generation: 1, seq: 1 })
    expect(phone.peerId).toBe(peerIdOf(phrase, 1))
    expect((await phone.status()).connectedNodes).toEqual([a.peerId])

    // A new phone replacing it knows no generation: generation 0's identity is refused, generation 1's is admitted.
    await phone.close()
    const freshDir = await tempDir(cleanup)
    const fresh = await openPhone(net, cleanup, { dir: freshDir, phrase })
    expect(fresh.generation).toBe(0)
    await fresh.connect(tcpAddress(a))
    expect(fresh.peerId).toBe(peerIdOf(phrase, 1))
    const report = await fresh.sync()
    expect(report.verifiedLength).toBe(2)
    expect(fresh.generation).toBe(1)
    await expect(fresh.writeExercise({ start: Date.now() - HOUR, end: Date.now(), steps: 5 })).resolves.toMatchObject({ entries: [{ state: 'sent', seq: 2 }] })
    expect((await a.ledger.verify(fresh.userId)).problems).toEqual([])

    // Reopened, it starts under the key in force at once (one device of a user at a time: they share the identity).
    await fresh.close()
    const reopened = await openPhone(net, cleanup, { dir: freshDir, phrase })
    expect(reopened.peerId).toBe(peerIdOf(phrase, 1))
  })

  it('a phone still connected under the retired key is cut off once the node folds the rekey, refused under it, and finds the new one', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner']], cleanup)
    const a = await net.start('hospital-a')
    const { phone, phrase, dir, chainKey } = await enrolledPhone(net, cleanup, 'hospital-a')
    const user = phone.userId
    expect(a.replication.peers).toContain(phone.peerId)

    // Another device of the user rotates (as `healthchain user rotate` would): the rekey lands at the custodian.
    const [keys1, keys2] = [1, 2].map((g) => userKeysFromPhrase(phrase, crypto, g)) as [UserKeys, UserKeys]
    await a.append(user, (seq) => signEntry(buildRekey(1, keys1, keys2, {}, crypto), { chainKey, seq }, keys1.sign.secretKey, crypto))
    await waitFor(() => !a.replication.peers.includes(peerIdOf(phrase, 0)), 'the node to drop the retired key\'s channel')
    await waitFor(async () => (await phone.status()).connectedNodes.length === 0, 'the node to close the retired key\'s connection')
    expect(a.gate.lightUserOf(peerIdOf(phrase, 0))).toBeUndefined()
    await phone.close()

    // A stolen phone holds generation 0's key only, not the phrase: refused at the handshake, nothing of the chain arrives.
    const ledger = await Ledger.open({ dir: await tempDir(cleanup), crypto, verifyWorkers: 0 })
    cleanup.push(async () => { await ledger.close() })
    const thief = await LightPeer.start({ ledger, registryKey: net.registryKey, user: userKeysFromPhrase(phrase, crypto, 0).sign, bootstrapPeers: [a.peerId] })
    cleanup.push(async () => { await thief.stop() })
    await thief.connect(tcpAddress(a)).catch(() => {})
    await waitFor(() => thief.host.getConnections().length === 0, 'the node to refuse the retired key')
    await expect(thief.sync(chainKey, { quorum: 0, timeoutMs: 1_000 })).rejects.toMatchObject({ code: expect.stringMatching(/^(NO_PEER|TIMEOUT)$/) })
    expect(ledger.hasChain(user)).toBe(false)
    await thief.stop()

    // The user's own phone, reopened, missed the rotation: it finds generation 1's identity and syncs to it.
    const again = await openPhone(net, cleanup, { dir, phrase })
    expect(again.generation).toBe(0)
    await again.reconnect()
    expect(again.peerId).toBe(peerIdOf(phrase, 1))
    await again.sync()
    expect(again.generation).toBe(1)
    expect(a.replication.peers).toContain(again.peerId)
  })

  it('after a rotation, a transfer signs the migrate with the key in force and the phone keeps writing at the new custodian', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner'], ['hospital-b', 'examiner']], cleanup)
    const a = await net.start('hospital-a')
    const b = await net.start('hospital-b')
    await net.meshed()
    const { phone } = await enrolledPhone(net, cleanup, 'hospital-a')
    expect((await phone.rotate()).generation).toBe(1)
    await converged([a, b], phone.userId, 2, 'hospital-b to replicate the rekey')
    await phone.connect(tcpAddress(b))

    const moved = await phone.transfer('hospital-b')
    expect(moved).toMatchObject({ length: 2, custodian: 'hospital-b' })
    expect((await b.ledger.verify(phone.userId)).problems).toEqual([])
    await expect(phone.writeExercise({ start: Date.now() - HOUR, end: Date.now(), steps: 7 })).resolves.toMatchObject({ entries: [{ state: 'sent', seq: 3 }] })
    expect(phone.generation).toBe(1)
  })
})
