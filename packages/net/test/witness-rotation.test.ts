/**
 * A witness's keys rotate, between real nodes on 127.0.0.1: a phone that
 * demands a quorum of two regulators reaches it right after one of them
 * rotates (the regulator cosigns again, with its new key, the head it had
 * cosigned with the old one), and a cosignature made with the rotated-out
 * key after the rotation counts for nobody. Restarted, the regulator
 * answers the cosignature made under its new key from disk.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { generatePartyKeys, type SigningKeyPair, type UserKeys } from '@healthchain/core'
import {
  LightPeer, MAX_WITNESS_REQUEST_BYTES, WITNESS_PROTOCOL, cosign, decodeWitnessRequest, encodeWitnessResponse, headOf, readFrame,
  verifyCosignature, writeFrame, type NetworkNode
} from '@healthchain/net'
import { converged, crypto, enrol, TestNet, waitFor, writeExam, type Cleanup, type Party } from '@healthchain/net/testing'
import { lightPhone, tcpAddressOf } from './helpers/light-phone.js'

const cleanup: Cleanup = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

const phoneOf = async (net: TestNet, user: UserKeys, bootstrap: readonly NetworkNode[]): Promise<LightPeer> => await lightPhone(net, cleanup, user, bootstrap)
const tcp = tcpAddressOf

describe('a witness whose keys rotate', () => {
  it('counts toward a phone\'s quorum right after the rotation; its rotated-out key does not count after it', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner'], ['regulator-one', 'regulator'], ['regulator-two', 'regulator']], cleanup)
    const [a, r1, r2] = net.parties as [Party, Party, Party]
    // regulator-one's node reads its signer on each use, as a daemon does through its keyring.
    let signer: SigningKeyPair = r1.keys.sign
    const old = r1.keys.sign
    await net.start(a.id)
    const first = await net.start(r1.id, { signer: { get publicKey () { return signer.publicKey }, get secretKey () { return signer.secretKey } } })
    const two = await net.start(r2.id)
    await net.meshed()
    const { user, chainKey, chain } = await enrol(net, a.id)
    await writeExam(net.node(a.id), a, user, chainKey)
    await converged(net.nodes, user.userId, 2, 'every node to replicate the chain')
    const head = await headOf(chain)

    const phone = await phoneOf(net, user, net.nodes)
    for (const node of net.nodes) await phone.connect(tcp(node))
    const before = await phone.witnessedHead(chainKey, { quorum: 2, timeoutMs: 5_000 })
    expect(before.head).toEqual(head)
    expect(verifyCosignature(before.cosignatures.find((c) => c.witness === r1.id)!, old.publicKey, crypto)).toBe(true)

    // Governance rotates regulator-one's keys; its node takes the new key once the registry lists it.
    const fresh = generatePartyKeys(crypto)
    const registry = await net.hostRegistry()
    await registry.append('rotate', { institution: r1.id, sign: fresh.sign.publicKey, box: fresh.box.publicKey }, net.governance.sign)
    await waitFor(() => [first, two].every((n) => n.ledger.registry.length === registry.length), 'the regulators to have the rotation')
    signer = fresh.sign

    // The chain has not grown: the phone still gets its quorum, regulator-one's cosignature now under the new key.
    const after = await phone.witnessedHead(chainKey, { quorum: 2, timeoutMs: 5_000 })
    expect(phone.ledger.registry.length).toBe(registry.length)
    expect(after.head).toEqual(head)
    const again = after.cosignatures.find((c) => c.witness === r1.id)!
    expect(verifyCosignature(again, fresh.sign.publicKey, crypto)).toBe(true)
    expect(verifyCosignature(again, old.publicKey, crypto)).toBe(false)
    // Asked again: the cosignature made under the new key is the answer, not yet another one.
    const made = first.witness!.stats.cosigned
    await phone.witnessedHead(chainKey, { quorum: 2, timeoutMs: 5_000 })
    expect(first.witness!.stats.cosigned).toBe(made)

    // Restarted, regulator-one answers from disk the cosignature made under its new key: nothing is cosigned again.
    await net.stop(r1.id)
    const restarted = await net.start(r1.id, { signer: fresh.sign })
    await phone.connect(tcp(restarted))
    const fromDisk = (await phone.witnessedHead(chainKey, { quorum: 2, timeoutMs: 5_000 })).cosignatures.find((c) => c.witness === r1.id)!
    expect(verifyCosignature(fromDisk, fresh.sign.publicKey, crypto)).toBe(true)
    expect(restarted.witness!.stats.cosigned).toBe(0)

    // Whoever still holds the rotated-out key now answers for regulator-one, cosigning with it: nobody counts that.
    const one = restarted
    await one.host.unhandle(WITNESS_PROTOCOL)
    await one.host.handle(WITNESS_PROTOCOL, (stream) => {
      void (async () => {
        const request = decodeWitnessRequest(await readFrame(stream, { maxBytes: MAX_WITNESS_REQUEST_BYTES }))
        const answer = await one.witness!.answer(request)
        const cosignatures = answer.cosignatures.map((c) => cosign(c.head, r1.id, old.secretKey, crypto))
        await writeFrame(stream, encodeWitnessResponse({ ...answer, cosignatures }))
        await stream.close()
      })().catch((err: unknown) => { stream.abort(err as Error) })
    })
    await expect(phone.witnessedHead(chainKey, { quorum: 2, timeoutMs: 5_000 })).rejects.toMatchObject({ code: 'NO_QUORUM' })
    const client = net.node(a.id)
    await expect(client.headWithQuorum(chainKey, { quorum: 1, witnesses: [r1.id], timeoutMs: 5_000 })).rejects.toMatchObject({ code: 'NO_QUORUM' })
    const rest = await client.headWithQuorum(chainKey, { quorum: 1, timeoutMs: 5_000 })
    expect(rest.cosignatures.map((c) => c.witness)).toEqual([r2.id])
  }, 60_000)
})
