/**
 * Light peers (a user's phone) against real nodes on 127.0.0.1, over
 * WebSockets and TCP, with Corestores on disk: a light peer fetches its own
 * chain and nothing else, takes no part in gossip, writes only to its own
 * chain; a peer that is neither a member nor a user held here cannot
 * connect; a phone with only its phrase finds its own chain's key
 * (/healthchain/my-chain), which no one else is told; served cores are
 * closed when idle and limited per peer, and held chains are closed when
 * idle and reopened when a head needs them.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromRaw } from '@libp2p/crypto/keys'
import { afterEach, describe, expect, it } from 'vitest'
import { buildUserEntry, bytesToHex, encodeCanonical, encodeEntry, newRecoveryPhrase, signEntry, userKeysFromPhrase, type UserKeys } from '@healthchain/core'
import { Ledger } from '@healthchain/ledger'
import {
  HEADS_TOPIC, LightPeer, MY_CHAIN_PROTOCOL, MAX_MY_CHAIN_RESPONSE_BYTES, MembershipGate, askMyChain, createHost, decodeMyChainResponse,
  findMyChain, readFrame, writeFrame, type InboundDecision, type NetworkNode
} from '@healthchain/net'
import { crypto, enrol, TestNet, waitFor, writeExam, type Cleanup } from '@healthchain/net/testing'
import { forwardAppend } from '@healthchain/net'
import { storeOf } from '@healthchain/ledger/testing'

const cleanup: Cleanup = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

async function tempDir (): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'healthchain-light-'))
  cleanup.push(async () => { await rm(dir, { recursive: true, force: true }) })
  return dir
}

/** A phone: its own ledger on disk (no institution) and a light peer with the user's key as its identity. */
async function phone (net: TestNet, user: UserKeys, bootstrap: NetworkNode): Promise<LightPeer> {
  const ledger = await Ledger.open({ dir: await tempDir(), crypto, verifyWorkers: 0 })
  cleanup.push(async () => { await ledger.close() })
  const peer = await LightPeer.start({ ledger, registryKey: net.registryKey, user: user.sign, bootstrapPeers: [bootstrap.peerId] })
  cleanup.push(async () => { await peer.stop() })
  return peer
}

function addressOf (node: NetworkNode, transport: 'ws' | 'tcp'): string {
  const address = node.addresses.find((a) => transport === 'ws' ? a.includes('/ws') : !a.includes('/ws'))
  if (address === undefined) throw new Error(`node has no ${transport} address`)
  return address
}

const TCP_AND_WS = ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws']

describe('light peers', () => {
  it('a light peer fetches only its own chain, verified, and nothing of another user\'s', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner'], ['hospital-b', 'examiner']], cleanup)
    const a = await net.start('hospital-a', { listen: TCP_AND_WS })
    const alice = await enrol(net, 'hospital-a')
    const bob = await enrol(net, 'hospital-a')
    for (let i = 0; i < 3; i++) await writeExam(a, net.party('hospital-a'), alice.user, alice.chainKey)
    await writeExam(a, net.party('hospital-a'), bob.user, bob.chainKey)

    const phoneOfAlice = await phone(net, alice.user, a)
    await phoneOfAlice.connect(addressOf(a, 'ws'))
    const { chain, ingest } = await phoneOfAlice.sync(alice.chainKey)
    expect(ingest.problem).toBeUndefined()
    expect(chain.verifiedLength).toBe(4)
    const entries = await phoneOfAlice.read({ start: 0 })
    expect(entries.map((e) => e.entry.type)).toEqual(['genesis', 'exam', 'exam', 'exam'])
    expect(a.status().lightPeers).toBe(1)

    // A hostile phone asking for Bob's chain by key: the node never pairs it, so nothing arrives and no block of it is stored.
    const asked = await phoneOfAlice.replication.fetchChain(bob.user.userId, bob.chainKey, { timeoutMs: 1_500 })
    expect(asked.chain.length).toBe(0)
    expect(asked.chain.verifiedLength).toBe(0)
    // Through the light peer's own API, another chain's key is refused at once.
    await expect(phoneOfAlice.sync(bob.chainKey, { timeoutMs: 1_500 })).rejects.toMatchObject({ code: 'INVALID_FIELD', field: 'key' })
    const bobsCopy = storeOf(phoneOfAlice.ledger).get({ key: bob.chainKey, active: false })
    await bobsCopy.ready()
    expect(bobsCopy.length).toBe(0)
    expect(bobsCopy.contiguousLength).toBe(0)
    await bobsCopy.close()
  })

  it('a light peer syncs over TCP too, writes to its own chain through the custodian, and may not write to another\'s', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner'], ['hospital-b', 'examiner']], cleanup)
    const a = await net.start('hospital-a')
    const b = await net.start('hospital-b')
    const alice = await enrol(net, 'hospital-a')
    const bob = await enrol(net, 'hospital-a')
    // hospital-b replicates every chain: Alice's phone may sync from it, not only from her custodian.
    await waitFor(() => b.ledger.hasChain(alice.user.userId), 'hospital-b to hold a replica of Alice\'s chain')

    const phoneOfAlice = await phone(net, alice.user, b)
    await phoneOfAlice.connect(addressOf(b, 'tcp'))
    const { chain } = await phoneOfAlice.sync(alice.chainKey)
    expect(chain.verifiedLength).toBe(1)
    // With the registry in hand, the phone may reach the custodian too (before, it trusted its bootstrap node only).
    await phoneOfAlice.connect(addressOf(a, 'tcp'))

    const steps = buildUserEntry('exercise', { start: Date.now() - 60_000, end: Date.now(), observations: [{ code: '55423-8', value: 1200, unit: '{steps}' }] }, {}, crypto)
    const written = await phoneOfAlice.append((seq) => signEntry(steps, { chainKey: alice.chainKey, seq }, alice.user.sign.secretKey, crypto))
    expect(written).toEqual({ seq: 1, duplicate: false })
    expect((await a.ledger.chain(alice.user.userId)).length).toBe(2)

    // The same kind of entry, signed by Alice, sent straight to the custodian for Bob's chain: refused before the ledger sees it.
    const bobsChain = await a.ledger.chain(bob.user.userId)
    const block = encodeEntry(signEntry(steps, { chainKey: bob.chainKey, seq: bobsChain.length }, alice.user.sign.secretKey, crypto))
    const answer = await forwardAppend(phoneOfAlice.host, a.peerId, { v: 1, chain: bob.chainKey, seq: bobsChain.length, block })
    expect(answer).toMatchObject({ ok: false, code: 'NOT_ADMITTED' })
    expect(bobsChain.length).toBe(1)
  })

  it('a light peer gets no gossip: a member sees the head announcement, the light peer nothing', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner'], ['hospital-b', 'examiner']], cleanup)
    const a = await net.start('hospital-a')
    const b = await net.start('hospital-b')
    const alice = await enrol(net, 'hospital-a')
    await net.meshed()

    // A hostile phone: the user's own key, but a host that speaks gossipsub and subscribes to the heads topic.
    const gate = new MembershipGate(a.ledger.registry)
    cleanup.push(async () => { gate.close() })
    const hostile = await createHost({ privateKey: privateKeyFromRaw(alice.user.sign.secretKey), listen: [], gate })
    cleanup.push(async () => { await hostile.stop() })
    const heardByPhone: unknown[] = []
    hostile.services.pubsub.subscribe(HEADS_TOPIC)
    hostile.services.pubsub.addEventListener('message', (event) => { if (event.detail.topic === HEADS_TOPIC) heardByPhone.push(event.detail) })
    await hostile.dial(a.host.getMultiaddrs()[0]!)
    // The gossip streams are up both ways once the phone knows hospital-a's subscription.
    await waitFor(() => hostile.services.pubsub.getSubscribers(HEADS_TOPIC).map(String).includes(a.peerId), 'the phone to see hospital-a\'s subscription')

    let heardByMember = 0
    b.host.services.pubsub.addEventListener('message', (event) => { if (event.detail.topic === HEADS_TOPIC) heardByMember++ })
    await writeExam(a, net.party('hospital-a'), alice.user, alice.chainKey)
    await waitFor(() => heardByMember > 0, 'hospital-b to hear the head')
    // The member heard it; give the phone the same time again before concluding it heard nothing.
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(heardByPhone).toEqual([])
  })

  it('a peer that is neither a member nor a user held here cannot connect', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner']], cleanup)
    const a = await net.start('hospital-a')
    const stranger = userKeysFromPhrase(newRecoveryPhrase(), crypto) // enrolled nowhere
    const strangerPhone = await phone(net, stranger, a)
    // (The dial itself may appear to succeed on the dialling side before hospital-a's refusal reaches it.)
    await strangerPhone.connect(addressOf(a, 'tcp')).catch(() => {})
    await waitFor(() => strangerPhone.host.getConnections().length === 0, 'the stranger\'s connection to be closed')
    await expect(strangerPhone.sync(a.ledger.registry.key, { timeoutMs: 1_000 })).rejects.toMatchObject({ code: 'NO_PEER' })
    // Nor can it ask which chain is its own: there is nobody to ask.
    await expect(strangerPhone.findChainKey({ timeoutMs: 1_000 })).rejects.toMatchObject({ code: 'NO_PEER' })

    const gate = new MembershipGate(a.ledger.registry)
    cleanup.push(async () => { gate.close() })
    const unknown = await createHost({ privateKey: await generateKeyPair('Ed25519'), listen: [], gate })
    cleanup.push(async () => { await unknown.stop() })
    await unknown.dial(a.host.getMultiaddrs()[0]!).catch(() => {})
    await waitFor(() => unknown.getConnections().length === 0, 'the unknown peer\'s connection to be closed')
    expect(a.host.getConnections().map((c) => c.remotePeer.toString())).not.toContain(unknown.peerId.toString())
    expect(a.host.getConnections().map((c) => c.remotePeer.toString())).not.toContain(strangerPhone.peerId)
    expect(a.status().lightPeers).toBe(0)
  })

  it('connections from one host beyond the gate\'s limit are refused before the handshake, and every refusal is reported', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner']], cleanup)
    const decisions: InboundDecision[] = []
    const a = await net.start('hospital-a', { inboundLimit: { connections: 2, seconds: 3600 }, onInbound: (d) => { decisions.push(d) } })
    const gate = new MembershipGate(a.ledger.registry)
    cleanup.push(async () => { gate.close() })
    for (let i = 0; i < 5; i++) {
      const unknown = await createHost({ privateKey: await generateKeyPair('Ed25519'), listen: [], gate })
      cleanup.push(async () => { await unknown.stop() })
      await unknown.dial(a.host.getMultiaddrs()[0]!).catch(() => {})
      await waitFor(() => decisions.length === i + 1, `connection ${i + 1}'s verdict`)
      await waitFor(() => unknown.getConnections().length === 0, 'the unknown peer\'s connection to be closed')
    }
    expect(decisions.map((d) => [d.admitted, d.reason, d.peer === undefined])).toEqual([
      [false, 'NOT_ADMITTED', false], [false, 'NOT_ADMITTED', false],
      [false, 'RATE_LIMITED', true], [false, 'RATE_LIMITED', true], [false, 'RATE_LIMITED', true]
    ])
    expect(decisions.every((d) => d.remote.startsWith('/ip4/127.0.0.1/tcp/'))).toBe(true)
  })

  it('a phone with only its phrase finds its chain key from any node holding it; a member asking is refused NOT_ADMITTED', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner'], ['hospital-b', 'examiner']], cleanup)
    const a = await net.start('hospital-a')
    const b = await net.start('hospital-b', { listen: TCP_AND_WS })
    const alice = await enrol(net, 'hospital-a')
    const bob = await enrol(net, 'hospital-a')
    await writeExam(a, net.party('hospital-a'), alice.user, alice.chainKey)
    await waitFor(() => b.ledger.hasChain(alice.user.userId), 'hospital-b to hold a replica of Alice\'s chain')
    await waitFor(async () => (await b.ledger.chain(alice.user.userId)).user !== undefined, 'hospital-b to verify Alice\'s genesis')

    // A fresh device: the keys from the phrase, an empty ledger, no chain key. Not connected yet: nobody to ask.
    const phoneOfAlice = await phone(net, alice.user, b)
    await expect(phoneOfAlice.findChainKey()).rejects.toMatchObject({ code: 'NO_PEER' })

    // Over WebSockets to a replica (not the custodian): it names her chain, and the custodian her genesis names.
    await phoneOfAlice.connect(addressOf(b, 'ws'))
    const found = await phoneOfAlice.findChainKey({ timeoutMs: 5_000 })
    expect(bytesToHex(found.chainKey)).toBe(bytesToHex(alice.chainKey))
    expect(found.custodian).toBe('hospital-a')
    expect(b.myChain.stats.answered).toBe(1)
    const { chain } = await phoneOfAlice.sync(found.chainKey)
    expect(chain.verifiedLength).toBeGreaterThanOrEqual(1)

    // With the custodian connected too, both are asked; the first answer wins, and it is the same.
    await phoneOfAlice.connect(addressOf(a, 'tcp'))
    expect(bytesToHex((await phoneOfAlice.findChainKey()).chainKey)).toBe(bytesToHex(alice.chainKey))

    // The request has no field to ask about anyone else with: naming Bob is a malformed request, not an answer about him.
    const stream = await phoneOfAlice.host.dialProtocol(b.host.peerId, MY_CHAIN_PROTOCOL)
    await writeFrame(stream, encodeCanonical({ v: 1, user: bob.user.sign.publicKey }))
    const refused = decodeMyChainResponse(await readFrame(stream, { maxBytes: MAX_MY_CHAIN_RESPONSE_BYTES }))
    expect(refused).toMatchObject({ ok: false, code: 'INVALID_FIELD' })
    await stream.close()

    // A full member has no chain of its own: refused, as an answer (askMyChain) and as an error (findMyChain).
    expect(await askMyChain(b.host, a.host.peerId)).toMatchObject({ ok: false, code: 'NOT_ADMITTED' })
    await expect(findMyChain(b.host, [a.host.peerId])).rejects.toMatchObject({ code: 'REFUSED', remoteCode: 'NOT_ADMITTED' })
    expect(a.myChain.stats.refused.get('NOT_ADMITTED')).toBe(2)
  })

  it('served cores are closed when idle, and a peer holds at most maxServedPerPeer open', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner'], ['hospital-b', 'examiner']], cleanup)
    const a = await net.start('hospital-a', { serving: { servedIdleMs: 400, maxServedPerPeer: 1 } })
    const users = [await enrol(net, 'hospital-a'), await enrol(net, 'hospital-a'), await enrol(net, 'hospital-a')]
    let mostServed = 0
    const sampler = setInterval(() => { mostServed = Math.max(mostServed, a.replication.servedCount) }, 5)
    cleanup.push(async () => { clearInterval(sampler) })

    // hospital-b joins late and replicates every chain from hospital-a, which serves them one at a time.
    const b = await net.start('hospital-b')
    for (const { user } of users) await waitFor(() => b.ledger.hasChain(user.userId), 'hospital-b to replicate every chain')
    for (const { user } of users) {
      await waitFor(async () => (await b.ledger.chain(user.userId)).verifiedLength === 1, 'every genesis verified at hospital-b')
    }
    expect(mostServed).toBeLessThanOrEqual(1)
    expect(mostServed).toBe(1)
    await waitFor(() => a.replication.servedCount === 0, 'hospital-a to close the idle served cores')
  })

  it('chains a node holds are closed when idle, and reopened when a new head needs them', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner'], ['hospital-b', 'examiner']], cleanup)
    const a = await net.start('hospital-a')
    const b = await net.start('hospital-b', { chainIdleMs: 300 })
    const users = [await enrol(net, 'hospital-a'), await enrol(net, 'hospital-a')]
    for (const { user } of users) {
      await waitFor(async () => b.ledger.hasChain(user.userId) && (await b.ledger.chain(user.userId)).verifiedLength === 1, 'hospital-b to replicate both chains')
    }
    await waitFor(() => b.status().openChains === 0, 'hospital-b to close the idle chains')
    expect(b.status().chains).toBe(2)

    const { user, chainKey } = users[0]!
    await writeExam(a, net.party('hospital-a'), user, chainKey)
    await waitFor(async () => (await b.ledger.chain(user.userId)).verifiedLength === 2, 'hospital-b to fetch the new entry into the reopened chain')
  })
})
