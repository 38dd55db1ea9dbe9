/**
 * A phone's libp2p identity is its user's signing key in force. After a
 * rekey, nodes holding the chain admit the phone's new key and refuse the
 * rotated-out one (a thief's phone), also after a restart; and after a
 * transfer, my-chain answers the continuation and its new custodian, and
 * custodianPeerOf follows it. Real nodes on 127.0.0.1.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { privateKeyFromRaw } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import {
  buildGenesis, buildMigrate, buildRekey, bytesToHex, newRecoveryPhrase, nextKeyDigest, signEntry, userKeysFromPhrase, type UserKeys
} from '@healthchain/core'
import { MembershipGate, askMyChain, createLightHost, custodianPeerOf, type NetworkNode } from '@healthchain/net'
import { crypto, TestNet, waitFor, type Cleanup } from '@healthchain/net/testing'

const cleanup: Cleanup = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

/** A phone with `keys` as its identity connects to `node`: my-chain's answer, or undefined once the node closed the connection. */
async function phoneAsks (node: NetworkNode, keys: UserKeys): Promise<{ chain: string, custodian: string } | undefined> {
  const gate = new MembershipGate(node.ledger.registry)
  const host = await createLightHost({ privateKey: privateKeyFromRaw(keys.sign.secretKey), listen: [], gate })
  try {
    await host.dial(multiaddr(node.addresses.find((a) => !a.includes('/ws'))!)).catch(() => undefined)
    const answer = await askMyChain(host, peerIdFromString(node.peerId), { timeoutMs: 2_000 }).catch(() => undefined)
    return answer?.ok === true ? { chain: bytesToHex(answer.chain), custodian: answer.custodian } : undefined
  } finally {
    await host.stop()
    gate.close()
  }
}

describe('a phone after its user rekeyed or moved', () => {
  it('is admitted with its new key and refused with the rotated-out one, also after a restart; my-chain follows a transfer', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner'], ['hospital-b', 'examiner'], ['regulator', 'regulator']], cleanup)
    const a = await net.start('hospital-a')
    let b = await net.start('hospital-b')
    await net.start('regulator')
    await net.meshed()
    const phrase = newRecoveryPhrase()
    const [keys0, keys1, keys2] = [0, 1, 2].map((g) => userKeysFromPhrase(phrase, crypto, g)) as [UserKeys, UserKeys, UserKeys]
    const user = keys0.userId
    const chainKey = await a.ledger.chainKeyFor(user)
    const genesis = buildGenesis(keys0, net.party('hospital-a').id, { next: nextKeyDigest(keys1) }, crypto)
    await a.enrol(signEntry(genesis, { chainKey, seq: 0 }, keys0.sign.secretKey, crypto))
    await waitFor(async () => (await b.ledger.chain(user).catch(() => undefined))?.verifiedLength === 1, 'hospital-b to replicate the chain')
    expect(await phoneAsks(b, keys0)).toEqual({ chain: bytesToHex(chainKey), custodian: 'hospital-a' })

    // The user rotates to generation 1 (the phone that held generation 0 is lost).
    const rekey = signEntry(buildRekey(1, keys1, keys2, {}, crypto), { chainKey, seq: 1 }, keys1.sign.secretKey, crypto)
    await (await a.ledger.chain(user)).append(rekey, 1)
    await waitFor(async () => (await b.ledger.chain(user)).verifiedLength === 2, 'hospital-b to fold the rekey')
    for (const node of [a, b]) {
      await waitFor(() => node.ledger.userOfSignKey(keys1.sign.publicKey) === user, 'the new key to be recorded')
      expect(node.ledger.userOfSignKey(keys0.sign.publicKey)).toBeUndefined()
      expect(node.gate.lightUserOf(peerIdFromRaw(keys1))).toBe(user)
      expect(node.gate.lightUserOf(peerIdFromRaw(keys0))).toBeUndefined()
    }
    expect(await phoneAsks(b, keys1)).toEqual({ chain: bytesToHex(chainKey), custodian: 'hospital-a' })
    expect(await phoneAsks(b, keys0)).toBeUndefined()

    // A restart from the same directory: the catalog still knows the key in force.
    await net.stop('hospital-b')
    await net.closeLedger('hospital-b')
    b = await net.start('hospital-b')
    expect(b.ledger.userOfSignKey(keys1.sign.publicKey)).toBe(user)
    expect(b.ledger.userOfSignKey(keys0.sign.publicKey)).toBeUndefined()
    expect(await phoneAsks(b, keys1)).toEqual({ chain: bytesToHex(chainKey), custodian: 'hospital-a' })
    expect(await phoneAsks(b, keys0)).toBeUndefined()

    // The chain moves to hospital-b, the migrate signed with the key in force: my-chain and custodianPeerOf follow.
    const offer = await b.ledger.offerContinuation(user)
    const migrate = signEntry(buildMigrate(offer.plain, {}, crypto), { chainKey: offer.key, seq: offer.length }, keys1.sign.secretKey, crypto)
    await b.ledger.continueChain(user, migrate)
    const regulator = net.node('regulator')
    await waitFor(async () => bytesToHex((await regulator.ledger.chain(user)).key) === bytesToHex(offer.key), 'the regulator to follow')
    for (const node of [b, regulator]) {
      expect(await phoneAsks(node, keys1)).toEqual({ chain: bytesToHex(offer.key), custodian: 'hospital-b' })
      expect(await custodianPeerOf(node.ledger, user)).toBe(b.peerId)
    }
    expect(await phoneAsks(regulator, keys0)).toBeUndefined()
  }, 90_000)
})

function peerIdFromRaw (keys: UserKeys): string {
  return peerIdFromPrivateKey(privateKeyFromRaw(keys.sign.secretKey)).toString()
}
