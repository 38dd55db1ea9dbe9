/**
 * A custodian that signs two histories of one chain, for tests. Corestore
 * derives a named core's key pair from the store's primary key, so a second
 * store opened with the custodian's primary key holds the very same chain
 * key pair: whatever it appends carries the custodian's signature as validly
 * as the custodian's own writes do.
 *
 * - `examBlocks`: valid exams (signed by an examiner for their slots),
 *   encoded, for positions [from, from + count) — what either history holds;
 * - `appendAtOnce`: blocks appended in one Hypercore append, so one head is
 *   signed for all of them and the lengths in between never are;
 * - `twinStore`: a Corestore with the custodian's primary key in a new
 *   directory, for a history replicated by hand;
 * - `seedTwinLedger`: another party's ledger directory seeded with the
 *   custodian's primary key and a history of the chain, so that party's node
 *   is the custodian's second node: it holds the chain writable and
 *   announces it like a custodian.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Corestore from 'corestore'
import type Hypercore from 'hypercore'
import { buildExam, encodeEntry, signEntry, type UserKeys } from '@healthchain/core'
import type { Ledger, UserChain } from '@healthchain/ledger'
import { crypto, type Cleanup, type Party, type TestNet } from '@healthchain/net/testing'
import { coreOf, storeOf } from '@healthchain/ledger/testing'

/** `count` valid exams by `author` for positions from `from` on, encoded as blocks; `reg` defaults to the author's running node's registry length. */
export function examBlocks (
  net: TestNet, author: Party, user: UserKeys, chainKey: Uint8Array, from: number, count: number, label: string,
  reg: number = net.node(author.id)?.ledger.registry.length ?? 1
): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => encodeEntry(signEntry(buildExam({
    author: author.id,
    reg,
    chainKey,
    plain: { title: `${label} ${from + i}`, observations: [{ code: '8867-4', value: 60 + i, unit: '/min' }] },
    sealed: { notes: label },
    recipients: [user.box.publicKey, author.keys.box.publicKey]
  }, crypto), { chainKey, seq: from + i }, author.keys.sign.secretKey, crypto)))
}

/** Appends `blocks` to a custodian's chain in one write (one signed head), past every rule. */
export async function appendAtOnce (chain: UserChain, blocks: readonly Uint8Array[]): Promise<number> {
  await chain.settled()
  const { length } = await coreOf(chain).append([...blocks])
  return length
}

/** The first `length` blocks of a core, as stored. */
export async function blocksOf (core: Hypercore, length: number): Promise<Uint8Array[]> {
  const blocks: Uint8Array[] = []
  for (let seq = 0; seq < length; seq++) blocks.push(new Uint8Array((await core.get(seq, { wait: false }))!))
  return blocks
}

/** A Corestore holding the custodian's chain key pairs, in a directory removed by `cleanup`. */
export async function twinStore (custodian: Ledger, cleanup: Cleanup): Promise<Corestore> {
  const dir = await mkdtemp(join(tmpdir(), 'healthchain-twin-'))
  const store = new Corestore(dir, { primaryKey: storeOf(custodian).primaryKey!, unsafe: true })
  cleanup.push(async () => {
    await store.close()
    await rm(dir, { recursive: true, force: true })
  })
  return store
}

/** The chain of `user` in a twin store, with `blocks` appended in one write. */
export async function twinChain (store: Corestore, user: UserKeys, blocks: readonly Uint8Array[]): Promise<Hypercore> {
  const core = store.get({ name: `chain/${user.userId}` })
  await core.ready()
  await core.append([...blocks])
  return core
}

/**
 * Makes `twin`'s ledger a second node of the custodian for `user`'s chain:
 * its store gets the custodian's primary key and `blocks` as the chain's
 * history before the ledger opens, and the ledger lists the chain.
 */
export async function seedTwinLedger (
  net: TestNet, twin: string, custodian: string, user: UserKeys, chainKey: Uint8Array, blocks: readonly Uint8Array[]
): Promise<Ledger> {
  const store = new Corestore(net.dirOf(twin), { primaryKey: storeOf(await net.ledger(custodian)).primaryKey!, unsafe: true })
  const core = await twinChain(store, user, blocks)
  if (Buffer.compare(core.key!, chainKey) !== 0) throw new Error('the twin store does not hold the custodian\'s chain key pair')
  await core.close()
  await store.close()
  const ledger = await net.ledger(twin)
  await ledger.replicaOf(user.userId, chainKey)
  return ledger
}
