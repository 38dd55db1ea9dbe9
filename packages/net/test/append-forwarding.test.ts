/**
 * Append forwarding between real nodes on 127.0.0.1 (libp2p over TCP,
 * Corestores on disk): hospital-a is the custodian of a user's chain;
 * hospital-b (and, for the race, hospital-c) write exams there through
 * `/healthchain/append/1.0.0`.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { peerIdFromString } from '@libp2p/peer-id'
import {
  MAX_ENTRY_BYTES, buildExam, buildGenesis, bytesToHex, encodeCanonical, encodeEntry, generatePartyKeys, newRecoveryPhrase,
  signEntry, userKeysFromPhrase, type Entry, type UnsignedEntry, type UserKeys
} from '@healthchain/core'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import type { Ledger, UserChain } from '@healthchain/ledger'
import { LedgerConsortium } from '@healthchain/ledger/testing'
import {
  APPEND_PROTOCOL, MAX_APPEND_REQUEST_BYTES, MAX_APPEND_RESPONSE_BYTES, NetError, NetworkNode, decodeAppendResponse, readFrame, writeFrame
} from '@healthchain/net'
import { makeParty, waitFor, type Party } from '@healthchain/net/testing'
import { custodianPeerOf, forwardAppend } from '@healthchain/net'
import { appendViaCustodian } from '@healthchain/net/testing'

const party = makeParty

const cleanup: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

interface Net {
  a: Party
  b: Party
  c: Party
  inquirer: Party
  user: UserKeys
  chainKey: Uint8Array
  ledgerA: Ledger
  ledgerB: Ledger
  chainA: UserChain
  nodeA: NetworkNode
  nodeB: NetworkNode
  /** Starts hospital-c, connected to hospital-a, with the registry (no replica of the chain). */
  startC: () => Promise<NetworkNode>
}

/**
 * hospital-a: registry and custodian of one user's chain (genesis + one exam);
 * hospital-b: connected to A, holding the registry and a verified replica.
 */
async function network (): Promise<Net> {
  const a = await party('hospital-a', 'examiner')
  const b = await party('hospital-b', 'examiner')
  const c = await party('hospital-c', 'examiner')
  const inquirer = await party('insurer-q', 'inquirer')

  // Every ledger is closed after the nodes (cleanup runs in reverse order).
  const consortium = await LedgerConsortium.create({
    parties: [a, b, c, inquirer], name: 'Append forwarding test', prefix: 'healthchain-append-', ledger: { crypto, verifyWorkers: 0 }, onCleanup: cleanup
  })
  const start = async (who: Party, bootstrap: string[]): Promise<NetworkNode> => {
    // Opened here for the first time, the ledger follows the registry by its key.
    const ledger = await consortium.ledger(who.id)
    const node = await NetworkNode.start({ ledger, privateKey: who.p2p, bootstrapPeers: bootstrap })
    cleanup.push(async () => { await node.stop() })
    return node
  }

  const ledgerA = await consortium.ledger(a.id)
  const registry = ledgerA.registry
  const user = userKeysFromPhrase(newRecoveryPhrase(), crypto)
  const chainKey = await ledgerA.chainKeyFor(user.userId)
  const chainA = await ledgerA.enrol(signEntry(buildGenesis(user, a.id, {}, crypto), { chainKey, seq: 0 }, user.sign.secretKey, crypto))
  await chainA.appendSigned(examBy(a, registry.length, chainKey, user), a.keys.sign)
  const nodeA = await NetworkNode.start({ ledger: ledgerA, privateKey: a.p2p })
  cleanup.push(async () => { await nodeA.stop() })

  const joinA = async (who: Party): Promise<NetworkNode> => {
    const node = await start(who, [a.peer])
    await node.dial(nodeA.addresses[0]!)
    await waitFor(() => node.ledger.registry.length === registry.length, `${who.id} to receive the registry`)
    return node
  }
  const nodeB = await joinA(b)
  const { ingest } = await nodeB.replication.fetchChain(user.userId, chainKey, { length: chainA.length })
  expect(ingest.problem).toBeUndefined()
  return { a, b, c, inquirer, user, chainKey, ledgerA, ledgerB: nodeB.ledger, chainA, nodeA, nodeB, startC: async () => await joinA(c) }
}

function examBy (author: Party, reg: number, chainKey: Uint8Array, user: UserKeys, value = 120): UnsignedEntry {
  return buildExam({
    author: author.id,
    reg,
    chainKey,
    plain: { title: 'Blood pressure', observations: [{ code: '8480-6', value, unit: 'mm[Hg]' }] },
    sealed: { notes: 'seen at the clinic' },
    recipients: [user.box.publicKey, author.keys.box.publicKey]
  }, crypto)
}

/** A signer for `unsigned` that records every position it was asked to sign for. */
function signer (unsigned: UnsignedEntry, chainKey: Uint8Array, secretKey: Uint8Array): { sign: (seq: number) => Entry, positions: number[] } {
  const positions: number[] = []
  return { positions, sign: (seq) => { positions.push(seq); return signEntry(unsigned, { chainKey, seq }, secretKey, crypto) } }
}

async function positionsOf (chain: UserChain, id: Uint8Array): Promise<number[]> {
  const hex = bytesToHex(id)
  return (await chain.read({ start: 0 })).filter((e) => bytesToHex(e.entry.id) === hex).map((e) => e.seq)
}

async function rejection (promise: Promise<unknown>): Promise<NetError> {
  const err = await promise.then(() => undefined, (e: unknown) => e)
  if (!(err instanceof NetError)) throw new Error(`expected a NetError, got ${String(err)}`)
  return err
}

/** An unsigned LEB128 varint, as the framing writes it. */
function varint (n: number): Uint8Array {
  const out: number[] = []
  while (n >= 0x80) { out.push((n % 0x80) | 0x80); n = Math.floor(n / 0x80) }
  out.push(n)
  return Uint8Array.from(out)
}

describe('append forwarding between real nodes', () => {
  it('a custodian holding its own writes (restored) refuses local and forwarded appends with CATCHING_UP until a peer reconciled heads', async () => {
    const n = await network()
    // hospital-b's first reconciliation with hospital-a is over: only one after the hold counts.
    await waitFor(() => n.nodeA.heads.stats.sync.synced >= 1, 'hospital-a to have reconciled with hospital-b')
    let caughtUp = 0
    const hold = n.nodeA.holdOwnWrites({ quorum: 1, onCaughtUp: () => { caughtUp++ } })
    expect(() => n.nodeA.holdOwnWrites()).toThrow(NetError)
    const length = n.chainA.length

    const fromB = (): ((seq: number) => Entry) => signer(examBy(n.b, n.ledgerB.registry.length, n.chainKey, n.user), n.chainKey, n.b.keys.sign.secretKey).sign
    const fromA = (): ((seq: number) => Entry) => signer(examBy(n.a, n.ledgerA.registry.length, n.chainKey, n.user), n.chainKey, n.a.keys.sign.secretKey).sign
    const forwarded = await rejection(n.nodeB.append(n.user.userId, fromB()))
    expect([forwarded.code, forwarded.remoteCode]).toEqual(['REFUSED', 'CATCHING_UP'])
    const local = await rejection(n.nodeA.append(n.user.userId, fromA()))
    expect(local.code).toBe('CATCHING_UP')
    expect(n.chainA.length).toBe(length)
    expect(await hold.status()).toEqual({ holding: true, peersReconciled: 0, quorum: 1, chainsBehind: 0, blocksBehind: 0 })
    expect(n.nodeA.appends.stats.refused.get('CATCHING_UP')).toBe(1)

    // A peer connects and reconciles: nothing of the chain is longer there, so the hold ends and writes go through.
    await n.startC()
    await waitFor(() => !hold.isHolding, 'the hold to end')
    expect(caughtUp).toBe(1)
    expect(await n.nodeB.append(n.user.userId, fromB())).toEqual({ seq: length, duplicate: false })
    expect(n.nodeA.forks).toEqual([])
  })

  it('forwards an exam written at a replica to the custodian, answers only once it is appended there, and the replica verifies it', async () => {
    const n = await network()
    expect(await custodianPeerOf(n.ledgerB, n.user.userId)).toBe(n.a.peer)
    const exam = examBy(n.b, n.ledgerB.registry.length, n.chainKey, n.user)
    const { sign } = signer(exam, n.chainKey, n.b.keys.sign.secretKey)
    const expected = n.chainA.length

    const result = await n.nodeB.append(n.user.userId, sign)
    // Checked as soon as the promise resolves: the custodian already has it at that position.
    const lengthAtAnswer = n.chainA.length
    expect(result).toEqual({ seq: expected, duplicate: false })
    expect(lengthAtAnswer).toBe(expected + 1)
    expect((await n.chainA.get(result.seq))?.id).toEqual(exam.id)
    expect(n.nodeA.appends.stats.appended).toBe(1)

    const { ingest } = await n.nodeB.replication.fetchChain(n.user.userId, n.chainKey, { length: n.chainA.length })
    expect(ingest.problem).toBeUndefined()
    const report = await n.ledgerB.verify(n.user.userId)
    expect(report.valid).toBe(true)
    expect(report.verified).toBe(n.chainA.length)
    expect((await (await n.ledgerB.chain(n.user.userId)).get(result.seq))?.id).toEqual(exam.id)

    // At the custodian itself, the same call appends locally (nothing is forwarded).
    const own = examBy(n.a, n.ledgerA.registry.length, n.chainKey, n.user)
    const local = await n.nodeA.append(n.user.userId, signer(own, n.chainKey, n.a.keys.sign.secretKey).sign)
    expect(local).toEqual({ seq: result.seq + 1, duplicate: false })
    expect(n.chainA.length).toBe(result.seq + 2)
    expect(n.nodeA.appends.stats.appended).toBe(1)
  }, 60_000)

  it('retries are idempotent: the same signed entry twice, and the same exam re-signed after STALE_POSITION, are appended once', async () => {
    const n = await network()
    const reg = n.ledgerB.registry.length

    // The same signed block sent twice: the second answer is the same position, marked duplicate.
    const first = examBy(n.b, reg, n.chainKey, n.user, 130)
    const at = n.chainA.length
    const block = encodeEntry(signEntry(first, { chainKey: n.chainKey, seq: at }, n.b.keys.sign.secretKey, crypto))
    const request = { v: 1 as const, chain: n.chainKey, seq: at, block }
    expect(await forwardAppend(n.nodeB.host, n.a.peer, request)).toEqual({ v: 1, ok: true, seq: at, duplicate: false })
    expect(await forwardAppend(n.nodeB.host, n.a.peer, request)).toEqual({ v: 1, ok: true, seq: at, duplicate: true })
    expect(await positionsOf(n.chainA, first.id)).toEqual([at])

    // The custodian writes meanwhile, so hospital-b's known length is stale: it re-signs for the length returned.
    await n.chainA.appendSigned(examBy(n.a, reg, n.chainKey, n.user), n.a.keys.sign)
    const second = examBy(n.b, reg, n.chainKey, n.user, 140)
    const stale = at + 1
    const s1 = signer(second, n.chainKey, n.b.keys.sign.secretKey)
    const landed = await appendViaCustodian({ host: n.nodeB.host, custodianPeer: n.a.peer, chainKey: n.chainKey, sign: s1.sign, knownLength: stale })
    expect(landed).toEqual({ seq: stale + 1, duplicate: false })
    expect(s1.positions).toEqual([stale, stale + 1])
    // The writer lost that answer and tries again from its stale length: recognised by id, whatever position it signed for.
    const s2 = signer(second, n.chainKey, n.b.keys.sign.secretKey)
    const again = await appendViaCustodian({ host: n.nodeB.host, custodianPeer: n.a.peer, chainKey: n.chainKey, sign: s2.sign, knownLength: stale })
    expect(again).toEqual({ seq: stale + 1, duplicate: true })
    expect(s2.positions).toEqual([stale])
    expect(await positionsOf(n.chainA, second.id)).toEqual([stale + 1])
    expect(n.chainA.length).toBe(stale + 2)
    expect(n.nodeA.appends.stats).toMatchObject({ appended: 2, duplicates: 2 })
    expect(n.nodeA.appends.stats.refused.get('STALE_POSITION')).toBe(1)
  }, 60_000)

  it('two writers racing for one position are both appended once, at distinct positions (the loser re-signs)', async () => {
    const n = await network()
    const nodeC = await n.startC()
    const reg = n.ledgerB.registry.length
    const at = n.chainA.length
    const fromB = examBy(n.b, reg, n.chainKey, n.user, 150)
    const fromC = examBy(n.c, reg, n.chainKey, n.user, 160)
    const sB = signer(fromB, n.chainKey, n.b.keys.sign.secretKey)
    const sC = signer(fromC, n.chainKey, n.c.keys.sign.secretKey)

    const [rB, rC] = await Promise.all([
      appendViaCustodian({ host: n.nodeB.host, custodianPeer: n.a.peer, chainKey: n.chainKey, sign: sB.sign, knownLength: at }),
      appendViaCustodian({ host: nodeC.host, custodianPeer: n.a.peer, chainKey: n.chainKey, sign: sC.sign, knownLength: at })
    ])
    expect([rB.seq, rC.seq].sort((x, y) => x - y)).toEqual([at, at + 1])
    expect(rB.duplicate || rC.duplicate).toBe(false)
    // Both signed for the same position first; exactly one of them had to sign again.
    expect([sB.positions[0], sC.positions[0]]).toEqual([at, at])
    expect(sB.positions.length + sC.positions.length).toBe(3)
    expect(await positionsOf(n.chainA, fromB.id)).toEqual([rB.seq])
    expect(await positionsOf(n.chainA, fromC.id)).toEqual([rC.seq])
    expect(n.chainA.length).toBe(at + 2)
    expect((await n.ledgerA.verify(n.user.userId)).valid).toBe(true)
  }, 60_000)

  it('ten writes from one node at once all land, each signed once, at consecutive positions: they go one at a time per chain', async () => {
    const n = await network()
    const reg = n.ledgerB.registry.length
    const at = n.chainA.length
    const signers = Array.from({ length: 10 }, (_, i) => signer(examBy(n.b, reg, n.chainKey, n.user, 170 + i), n.chainKey, n.b.keys.sign.secretKey))
    const results = await Promise.all(signers.map(async (s) => await n.nodeB.append(n.user.userId, s.sign)))
    expect(results.map((r) => r.seq)).toEqual(Array.from({ length: 10 }, (_, i) => at + i))
    expect(results.every((r) => !r.duplicate)).toBe(true)
    // No write raced another from this node: each signed for its position first time.
    expect(signers.map((s) => s.positions)).toEqual(Array.from({ length: 10 }, (_, i) => [at + i]))
    expect(n.nodeA.appends.stats.refused.get('STALE_POSITION') ?? 0).toBe(0)
    expect(n.nodeB.lanes.active).toBe(0)
    expect(n.chainA.length).toBe(at + 10)
    expect((await n.ledgerA.verify(n.user.userId)).valid).toBe(true)
  }, 60_000)

  it('a stopped custodian gives CUSTODIAN_UNREACHABLE within the time limit, and nothing is appended anywhere', async () => {
    const n = await network()
    const replica = await n.ledgerB.chain(n.user.userId)
    const lengthA = n.chainA.length
    const lengthB = replica.length
    await n.nodeA.stop()
    await waitFor(() => n.nodeB.host.getConnections().length === 0, 'hospital-b to see hospital-a go')

    const { sign } = signer(examBy(n.b, n.ledgerB.registry.length, n.chainKey, n.user), n.chainKey, n.b.keys.sign.secretKey)
    const started = Date.now()
    const err = await rejection(n.nodeB.append(n.user.userId, sign, { timeoutMs: 5_000 }))
    expect(err.code).toBe('CUSTODIAN_UNREACHABLE')
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(n.chainA.length).toBe(lengthA)
    expect(replica.length).toBe(lengthB)
  }, 60_000)

  it('refusals come back with the custodian\'s code, and change nothing', async () => {
    const n = await network()
    const reg = n.ledgerB.registry.length
    const length = n.chainA.length
    const via = (sign: (seq: number) => Entry, chainKey = n.chainKey): Promise<unknown> =>
      appendViaCustodian({ host: n.nodeB.host, custodianPeer: n.a.peer, chainKey, sign, knownLength: length })

    // Signed by a key that is not hospital-b's.
    const forged = signer(examBy(n.b, reg, n.chainKey, n.user), n.chainKey, generatePartyKeys(crypto).sign.secretKey)
    let err = await rejection(via(forged.sign))
    expect([err.code, err.remoteCode]).toEqual(['REFUSED', 'BAD_SIGNATURE'])
    expect(n.chainA.length).toBe(length)

    // An inquirer may not write exams.
    const byInquirer = signer(examBy(n.inquirer, reg, n.chainKey, n.user), n.chainKey, n.inquirer.keys.sign.secretKey)
    err = await rejection(via(byInquirer.sign))
    expect([err.code, err.remoteCode]).toEqual(['REFUSED', 'ROLE_FORBIDDEN'])
    expect(n.chainA.length).toBe(length)

    // Bytes that are not a block.
    const garbage = await forwardAppend(n.nodeB.host, n.a.peer, { v: 1, chain: n.chainKey, seq: length, block: new Uint8Array([0xff, 1, 2, 3]) })
    expect(garbage).toMatchObject({ ok: false, code: 'MALFORMED' })
    expect(n.chainA.length).toBe(length)

    // A chain the custodian does not hold.
    const good = signer(examBy(n.b, reg, n.chainKey, n.user), n.chainKey, n.b.keys.sign.secretKey)
    err = await rejection(via(good.sign, crypto.randomBytes(32)))
    expect([err.code, err.remoteCode]).toEqual(['REFUSED', 'UNKNOWN_CHAIN'])

    // A replica is not the custodian: hospital-b refuses what hospital-a forwards to it.
    const toReplica = await forwardAppend(n.nodeA.host, n.b.peer, { v: 1, chain: n.chainKey, seq: length, block: encodeEntry(good.sign(length)) })
    expect(toReplica).toMatchObject({ ok: false, code: 'NOT_CUSTODIAN' })
    expect((await n.ledgerB.chain(n.user.userId)).length).toBe(length)

    expect(n.chainA.length).toBe(length)
    expect(n.nodeA.appends.stats.appended).toBe(0)
    // No stack trace or entry content in what was sent back.
    expect(err.message).not.toMatch(/\n\s+at /)
  }, 60_000)

  it('refuses an oversized request from its length prefix (TOO_LARGE), and a block over the entry limit', async () => {
    const n = await network()
    const length = n.chainA.length
    const a = peerIdFromString(n.a.peer)

    // Announce one byte over the limit and send only 1 KiB: the custodian refuses without waiting for the rest.
    const stream = await n.nodeB.host.dialProtocol(a, APPEND_PROTOCOL)
    stream.send(Uint8Array.from([...varint(MAX_APPEND_REQUEST_BYTES + 1), ...new Uint8Array(1024)]))
    await waitFor(() => n.nodeA.appends.stats.refused.get('TOO_LARGE') === 1, 'hospital-a to refuse the oversized frame')
    expect((await rejection(readFrame(stream, { maxBytes: MAX_APPEND_RESPONSE_BYTES }))).code).toBe('STREAM_ENDED')

    // A frame within the request limit whose block exceeds the entry limit is answered TOO_LARGE.
    const big = await n.nodeB.host.dialProtocol(a, APPEND_PROTOCOL)
    await writeFrame(big, encodeCanonical({ v: 1, chain: n.chainKey, seq: length, block: new Uint8Array(MAX_ENTRY_BYTES + 1) }))
    const answer = decodeAppendResponse(await readFrame(big, { maxBytes: MAX_APPEND_RESPONSE_BYTES }))
    expect(answer).toMatchObject({ ok: false, code: 'TOO_LARGE' })
    await big.close()

    // The writer's side refuses to send such a request at all.
    const local = await rejection(forwardAppend(n.nodeB.host, n.a.peer, { v: 1, chain: n.chainKey, seq: length, block: new Uint8Array(MAX_ENTRY_BYTES + 1) }))
    expect(local.code).toBe('TOO_LARGE')
    expect(n.chainA.length).toBe(length)
  }, 60_000)
})
