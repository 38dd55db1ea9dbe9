/**
 * A chain moving to a new custodian (the design's continuation core), as the
 * ledger does it:
 *
 * 1. offer(user): an examiner node holding the user's chain complete and
 *    verified to its signed head at N computes, creating nothing, the key of
 *    the continuation core it would write (its manifest: this node's feed
 *    key, prologue = the held tree hash at N) and the migrate plain segment
 *    the user signs for (that key, N).
 * 2. continueChain(user, migrate): checks the signed migrate against the
 *    offer, creates the core (manifest + key pair), copies blocks 0..N-1 and
 *    their tree (copy-prologue.ts) and the erased-leaf records, appends the
 *    migrate at N through the chain rules, records `moved` in the catalog and
 *    serves the continuation as the user's chain. Each step is found done on
 *    a retry, so a crash between two is finished by asking again.
 * 3. follow(user, key): a replica of the old chain whose peers brought the
 *    continuation up to its migrate verifies all of it (every segment, every
 *    rule) and moves the user to it; a continuation that fails never does.
 *
 * The old core is kept as history, closed at N: the catalog answers
 * closedChain(oldKey), so anything beyond N under the old key can be
 * refused and reported.
 */
import type Corestore from 'corestore'
import type Hypercore from 'hypercore'
import {
  bytesToHex, coreKeyOfManifest, encodeCanonical, encodeEntry, equal, MAX_LINEAGE,
  type Entry, type InstitutionId, type MigratePlain, type RegistryState, type UserId
} from '@healthchain/core'
import type { Catalog } from './catalog.js'
import { layoutOfMigrate, layoutWhenArrived, type ChainLayout } from './chain-segments.js'
import { clearInEarlierCores, type HeldCoreOpener } from './clear-blocks.js'
import { copyPrologue } from './copy-prologue.js'
import type { ErasedLeaves } from './erased-leaves.js'
import { LedgerError } from './errors.js'
import { coreOf, type UserChain } from './user-chain.js'

export interface ContinuationOffer {
  /** The continuation core's key. */
  readonly key: Uint8Array
  /** N: where the held chain is closed, and the migrate's position in the continuation. */
  readonly length: number
  /** The migrate's plain segment, complete: the user signs buildMigrate(plain) for (key, length). */
  readonly plain: MigratePlain
}

/**
 * A second, different migrate for a chain that already moved from the same
 * head (code ALREADY_ENROLLED: the user already has a chain here): both
 * entries, so the network can report the user's two signatures.
 */
export class ChainMovedError extends LedgerError {
  readonly held: Entry
  readonly offered: Entry

  constructor (held: Entry, offered: Entry) {
    super('ALREADY_ENROLLED', 'the chain already moved from this head under another migrate')
    this.held = held
    this.offered = offered
  }
}

export interface ContinuationComponents {
  readonly store: Corestore
  readonly catalog: Catalog
  readonly erased: ErasedLeaves
  readonly institution: InstitutionId | undefined
  /** The user's chain as the ledger serves it. */
  chain (user: UserId): Promise<UserChain>
  /** Opens a core as a chain (with its layout when its migrate is not written yet). */
  openChain (core: Hypercore, layout?: ChainLayout): Promise<UserChain>
  /** Serves `chain` as the user's from now on. */
  replace (user: UserId, chain: UserChain): Promise<void>
  /** The registry as this node has it now. */
  registry (): RegistryState
  /** Opens a core held here (an earlier core of a chain, to clear its erased blocks). */
  readonly held: HeldCoreOpener
}

/** The store name of the key pair this node writes the continuation of `from` with: one per old core, so every retry finds the same. */
function continuationName (user: UserId, from: Uint8Array): string {
  return `chain/${user}@${bytesToHex(from)}`
}

export class Continuations {
  private readonly c: ContinuationComponents

  constructor (components: ContinuationComponents) {
    this.c = components
  }

  async offer (user: UserId): Promise<ContinuationOffer> {
    const institution = this.c.institution
    if (institution === undefined) throw new LedgerError('NOT_CUSTODIAN', 'this ledger runs as no institution, so it cannot take a chain over')
    const chain = await this.c.chain(user)
    await chain.settled()
    const length = chain.length
    if (length === 0 || chain.verifiedLength < length) {
      throw new LedgerError('MISSING_BLOCK', `the chain is verified here to ${chain.verifiedLength} of its ${length} blocks`)
    }
    // Every block the continuation copies must be here: a block held nowhere under the new key would be lost for good.
    const core = coreOf(chain)
    for (let seq = 0; seq < length; seq++) {
      if (!chain.erasedPositions.has(seq) && !(await core.has(seq))) throw new LedgerError('MISSING_BLOCK', `block ${seq} of the chain is not held here`)
    }
    const head = chain.storedHead()
    if (head === null || head.length !== length) throw new LedgerError('MISSING_BLOCK', `no signed head of the chain at ${length} is stored here`)
    const prologue = await chain.treeHashAt(length)
    // Fresh Uint8Arrays: keys read from Hypercore are Buffers, and the offer is what the user signs over.
    const lineage = chain.layout.lineage.map((link) => ({ key: new Uint8Array(link.key), length: link.length, prologue: new Uint8Array(link.prologue) }))
    if (lineage.length >= MAX_LINEAGE) throw new LedgerError('INVALID_FIELD', `the chain has moved ${lineage.length} times, the most a migrate names`)
    const keyPair = await this.c.store.createKeyPair(continuationName(user, chain.key))
    const key = coreKeyOfManifest({ signer: keyPair.publicKey, prologue: { hash: prologue, length } })
    const plain: MigratePlain = {
      from: new Uint8Array(chain.key), length, fork: head.fork, prologue, signer: head.signer, headSig: head.sig, to: institution, lineage
    }
    return { key, length, plain }
  }

  async continueChain (user: UserId, migrate: Entry): Promise<UserChain> {
    if (migrate.type !== 'migrate') throw new LedgerError('INVALID_FIELD', 'a chain continues with a migrate entry', { field: 'type' })
    const current = await this.c.chain(user)
    if (!equal(current.key, migrate.plain.from)) return await this.alreadyMoved(user, current, migrate)
    const offer = await this.offer(user)
    if (!equal(encodeCanonical(offer.plain), encodeCanonical(migrate.plain))) {
      throw new LedgerError('INVALID_FIELD', 'the migrate does not name this node\'s offer for the chain\'s head', { field: 'plain' })
    }
    const { length: N, plain } = offer
    const keyPair = await this.c.store.createKeyPair(continuationName(user, current.key))
    const prologue = { hash: plain.prologue, length: N }
    // With the key pair, not the name: a name binds to the first core made under it, and this manifest's signer is not the name's key.
    const core = this.c.store.get({ manifest: { version: 1, signers: [{ publicKey: keyPair.publicKey }], prologue }, keyPair, active: false })
    let next: UserChain | undefined
    try {
      await core.ready()
      if (core.length < N) await copyPrologue(core, coreOf(current), N, plain.prologue)
      const leaves = [...this.c.erased.of(current.key).values()].filter((leaf) => leaf.index / 2 < N)
      await this.c.erased.record(core.key!, leaves)
      next = await this.c.openChain(core, layoutOfMigrate(core.key!, prologue, plain))
      if (next.length === N) {
        await next.append(migrate, N)
      } else {
        // Appended before a crash: the same migrate is a retry, another one a second signature of the user.
        const held = await next.get(N)
        if (held === null || !equal(encodeEntry(held), encodeEntry(migrate))) throw new ChainMovedError(held ?? migrate, migrate)
      }
      // The old core stays here as history: what the chain's erasures name goes from it too (also on a retry after a crash).
      await next.clearEarlier()
      await this.c.catalog.moveChain(user, current.key, next.key, N)
      await this.c.replace(user, next)
      return next
    } catch (err) {
      await (next?.close() ?? core.close()).catch(() => {})
      throw err
    }
  }

  /** A migrate from a core the user's chain here no longer is: a retry of the move that made it, or a second one. */
  private async alreadyMoved (user: UserId, current: UserChain, migrate: Entry & { type: 'migrate' }): Promise<UserChain> {
    const closed = this.c.catalog.closedChain(migrate.plain.from)
    if (closed === undefined || closed.user !== user || !equal(closed.successor, current.key)) {
      throw new LedgerError('INVALID_FIELD', 'the migrate continues a core that is not this user\'s chain here', { field: 'plain.from' })
    }
    const held = current.length > closed.length ? await current.get(closed.length) : null
    if (held !== null && equal(encodeEntry(held), encodeEntry(migrate))) return current
    throw new ChainMovedError(held ?? migrate, migrate)
  }

  /**
   * On a replica that holds the chain the continuation `key` continues, once
   * the continuation's manifest and migrate arrived: copies blocks 0..N-1
   * from the held core (copy-prologue.ts checks them against the manifest's
   * prologue hash), so only the blocks from N on are fetched. Needed, not
   * just cheaper: a block the user erased below N after the move is cleared
   * by every peer, so only a local copy brings its neighbours' tree here;
   * the erasure clears it again when it is ingested, as on any chain.
   * False (nothing copied) when the continuation or the held chain is not
   * there yet or the held core is shorter than N: the blocks are fetched.
   */
  async prefill (user: UserId, key: Uint8Array): Promise<boolean> {
    const current = await this.c.chain(user)
    if (equal(current.key, key)) return false
    const core = this.c.store.get({ key, active: false })
    try {
      await core.ready()
      const layout = await layoutWhenArrived(core)
      if (layout === undefined) return false
      const from = layout.segments[layout.segments.length - 2]
      if (from === undefined || !equal(from.key, current.key)) {
        throw new LedgerError('INVALID_FIELD', 'the continuation does not continue the chain held here', { field: 'key' })
      }
      const { hash, length: N } = layout.prologue!
      const source = coreOf(current)
      if (source.length < N) return false
      await copyPrologue(core, source, N, hash)
      // Erasures the held chain folded: their blocks were cleared in its core, and in the cores before it held here.
      await clearInEarlierCores(layout, current.erasedPositions, this.c.erased, this.c.held)
      return true
    } finally {
      await core.close().catch(() => {})
    }
  }

  /**
   * On a replica: the continuation `key` of the user's chain, once its
   * manifest and its blocks up to the migrate arrived by replication
   * (undefined until then). It is checked whole — every segment, every rule,
   * the migrate included — and becomes the user's chain only if all of it
   * passes and its custodian is active in the registry now (a stored migrate
   * is judged by role only, so this is where a replica refuses to move to a
   * suspended custodian); else the problem is thrown and the chain stays the
   * old one.
   */
  async follow (user: UserId, key: Uint8Array): Promise<UserChain | undefined> {
    const current = await this.c.chain(user)
    if (equal(current.key, key)) return current
    const core = this.c.store.get({ key, active: false })
    let next: UserChain | undefined
    try {
      await core.ready()
      const layout = await layoutWhenArrived(core)
      if (layout === undefined) {
        await core.close()
        return undefined
      }
      const from = layout.segments[layout.segments.length - 2]
      if (from === undefined || !equal(from.key, current.key)) {
        throw new LedgerError('INVALID_FIELD', 'the continuation does not continue the chain held here', { field: 'key' })
      }
      const N = layout.prologue!.length
      await this.c.erased.record(key, [...this.c.erased.of(current.key).values()].filter((leaf) => leaf.index / 2 < N))
      next = await this.c.openChain(core, layout)
      if (next.verifiedLength <= N) {
        const { problem } = await next.ingest()
        if (problem !== undefined) throw new LedgerError(problem.code as LedgerError['code'], `the continuation fails at ${problem.seq}: ${problem.message}`)
        throw new LedgerError('MISSING_BLOCK', `the continuation is verified to ${next.verifiedLength}, not past its migrate at ${N}`)
      }
      const custodian = next.user!.custodian
      if (this.c.registry().institutionAt(custodian)?.status !== 'active') {
        throw new LedgerError('AUTHOR_SUSPENDED', `the continuation's custodian ${custodian} is not active in the registry this node has`)
      }
      // Erasures folded in the continuation name blocks the old core here may still hold (it had not folded them when it moved).
      await next.clearEarlier()
      await this.c.catalog.moveChain(user, current.key, key, N)
      await this.c.replace(user, next)
      return next
    } catch (err) {
      await (next?.close() ?? core.close()).catch(() => {})
      throw err
    }
  }
}
