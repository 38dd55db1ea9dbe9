/**
 * `/healthchain/continuation/1.0.0` between a user's light peer and real
 * nodes on 127.0.0.1: the node offers the move of the asker's own chain
 * only (a full member is refused NOT_ADMITTED, a request naming anything is
 * malformed), writes the continuation for the user's signed migrate (a
 * retry answers the same), and refuses with the ledger's code a migrate for
 * another offer, one not signed by the user, and a second migrate from the
 * same head. A light peer then fetches the continuation to its migrate and
 * its ledger follows it.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { buildMigrate, bytesToHex, encodeCanonical, signEntry, userKeysFromPhrase, newRecoveryPhrase, type UserKeys } from '@healthchain/core'
import {
  CONTINUATION_PROTOCOL, LightPeer, MAX_CONTINUATION_RESPONSE_BYTES, askContinuation, askOffer, decodeContinuationResponse, readFrame, sendMigrate,
  writeFrame, type NetworkNode, type OfferedContinuation
} from '@healthchain/net'
import { converged, crypto, enrol, TestNet, writeExam, type Cleanup } from '@healthchain/net/testing'
import { lightPhone, tcpAddressOf } from './helpers/light-phone.js'

const cleanup: Cleanup = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

async function lightPeer (net: TestNet, user: UserKeys, node: NetworkNode): Promise<LightPeer> {
  const peer = await lightPhone(net, cleanup, user, [node])
  await peer.connect(tcpAddressOf(node))
  return peer
}

function signed (offer: OfferedContinuation, keys: UserKeys, plain = offer.plain): ReturnType<typeof signEntry> {
  return signEntry(buildMigrate(plain, {}, crypto), { chainKey: offer.key, seq: offer.length }, keys.sign.secretKey, crypto)
}

describe('the continuation protocol', () => {
  it('offers and writes the move of the asker\'s own chain only, refusing with the ledger\'s codes, and a light peer follows', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner'], ['hospital-b', 'examiner']], cleanup)
    const a = await net.start('hospital-a')
    const b = await net.start('hospital-b')
    await net.meshed()
    const { user, chainKey } = await enrol(net, 'hospital-a')
    await writeExam(a, net.party('hospital-a'), user, chainKey)
    await converged([a, b], user.userId, 2, 'hospital-b to replicate the chain')
    const peer = await lightPeer(net, user, b)

    // A full member has no chain to move: refused. A request naming a chain is malformed, not an answer about it.
    expect(await askContinuation(a.host, b.host.peerId, { v: 1, op: 'offer' })).toMatchObject({ ok: false, code: 'NOT_ADMITTED' })
    const stream = await peer.host.dialProtocol(b.host.peerId, CONTINUATION_PROTOCOL)
    await writeFrame(stream, encodeCanonical({ v: 1, op: 'offer', chain: chainKey }))
    expect(decodeContinuationResponse(await readFrame(stream, { maxBytes: MAX_CONTINUATION_RESPONSE_BYTES }))).toMatchObject({ ok: false, code: 'INVALID_FIELD' })
    await stream.close()

    const offer = await askOffer(peer.host, b.peerId)
    expect(offer).toMatchObject({ length: 2, plain: { length: 2, to: 'hospital-b', lineage: [] } })
    expect(bytesToHex(offer.plain.from)).toBe(bytesToHex(chainKey))

    // Another offer's plain, and a migrate the user did not sign: refused, nothing moved.
    await expect(sendMigrate(peer.host, b.peerId, signed(offer, user, { ...offer.plain, to: 'hospital-a' as typeof offer.plain.to })))
      .rejects.toMatchObject({ code: 'REFUSED', remoteCode: 'INVALID_FIELD' })
    const stranger = userKeysFromPhrase(newRecoveryPhrase(), crypto)
    await expect(sendMigrate(peer.host, b.peerId, signed(offer, stranger))).rejects.toMatchObject({ code: 'REFUSED', remoteCode: 'BAD_SIGNATURE' })
    expect(bytesToHex((await b.ledger.chain(user.userId)).key)).toBe(bytesToHex(chainKey))

    const migrate = signed(offer, user)
    expect(await sendMigrate(peer.host, b.peerId, migrate)).toEqual({ key: offer.key, length: 2 })
    expect(await sendMigrate(peer.host, b.peerId, migrate)).toEqual({ key: offer.key, length: 2 })
    await expect(sendMigrate(peer.host, b.peerId, signed(offer, user))).rejects.toMatchObject({ code: 'REFUSED', remoteCode: 'ALREADY_ENROLLED' })

    // The light peer held the old chain: it fetches the continuation to its migrate, and its ledger follows it.
    await peer.sync(chainKey, { quorum: 0 })
    const held = await peer.ledger.chain(user.userId)
    await peer.replication.fetchContinuation(offer.key, held.erasedPositions)
    const followed = await peer.ledger.followContinuation(user.userId, offer.key)
    expect(followed?.user?.custodian).toBe('hospital-b')
    expect(followed?.verifiedLength).toBe(3)
  })
})
