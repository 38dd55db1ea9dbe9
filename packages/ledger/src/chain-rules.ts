/**
 * The rules every entry of a user chain must satisfy, applied in chain order.
 * The custodian runs them before it appends; every replica runs the same
 * rules when it verifies, so one implementation decides validity everywhere.
 *
 * State folded from the entries so far: the user's keys (genesis, then each
 * rekey) and custodian (genesis, then the migrate), consent grants, entry ids
 * (for idempotent retries: chain-ids.ts, in memory or in an index on disk),
 * entry types by position (to check erasures), and the positions erasures
 * have named.
 *
 * Each position is checked against the key of the core it was written in
 * (its segment, chain-segments.ts): a chain that moved to a continuation
 * core keeps its earlier entries signed for the earlier cores.
 */
import {
  ConsentState, ERASABLE_TYPES, USER_AUTHOR, bytesToHex, can, equal, verifyEntrySignature,
  type ConsentPlain, type CryptoProvider, type Entry, type EntryType, type ErasurePlain, type GenesisPlain, type InstitutionId,
  type MigratePlain, type RegistryState, type RekeyPlain
} from '@healthchain/core'
import { MemoryIds, type EntryIds } from './chain-ids.js'
import { firstCoreLayout, keyAt, migrateSlotAt, type ChainLayout } from './chain-segments.js'
import { LedgerError } from './errors.js'
import { checkMigrateOf, checkReassignedMigrate } from './migrate-rule.js'
import { checkRekeyOf, userAfterRekey, userOfGenesis, type ChainUser } from './user-keys.js'

export type { ChainUser } from './user-keys.js'

/**
 * What the rules read of an entry. A full Entry is one; a verification
 * worker sends back this much (without sealed ciphertext or health data)
 * after it has checked the signature itself.
 */
export type RuleView = Pick<Entry, 'id' | 'author' | 'reg' | 'time'> & {
  readonly sealed?: { readonly to: ReadonlyArray<{ readonly key: Uint8Array }> }
} & (
  | { readonly type: 'genesis', readonly plain: GenesisPlain }
  | { readonly type: 'consent', readonly plain: ConsentPlain }
  | { readonly type: 'erasure', readonly plain: ErasurePlain }
  | { readonly type: 'migrate', readonly plain: MigratePlain }
  | { readonly type: 'rekey', readonly plain: RekeyPlain }
  | { readonly type: 'exam' | 'exercise' | 'location', readonly plain?: unknown }
)

export interface CheckOptions {
  /**
   * The signature is known good for this slot under this public key: a
   * verification worker checked it, or this process just made it with a
   * checked key pair. The rules still decide which key it had to be, and
   * refuse the entry if it was another.
   */
  verifiedKey?: Uint8Array
  /**
   * The custodian is about to append: the author must also be active in the
   * registry as the custodian knows it now, not only at the length it
   * signed against — so a suspended institution cannot write by claiming
   * an older registry length. Verification of stored entries leaves this
   * off: they are judged by the length they were signed against.
   */
  appending?: boolean
}

export class ChainRules {
  /** The core's own key (the latest segment's). */
  readonly chainKey: Uint8Array
  readonly layout: ChainLayout
  private readonly crypto: CryptoProvider
  private userInfo: ChainUser | undefined
  readonly consent = new ConsentState()
  private readonly ids: EntryIds
  /** Entry type by position; undefined where the block was not available. */
  private readonly types: Array<EntryType | undefined> = []
  private readonly erasureRequests = new Set<number>()
  /**
   * The highest registry length an institution's entry so far was signed
   * against: the chain proves the registry had reached it, so later entries
   * are also judged by it (a suspension by then cannot be dodged by citing
   * an older length).
   */
  private regMark = 0
  /** Undo logs of the open transactions, oldest first; each log newest last. */
  private readonly frames: Array<Array<() => void>> = []

  /**
   * `layout`: the chain's segments (readLayout); a chain's first core when left out. `ids`: where entry ids are kept
   * (an open chain's are indexed on disk, chain-ids.ts); all in memory when left out.
   */
  constructor (chainKey: Uint8Array, crypto: CryptoProvider, layout: ChainLayout = firstCoreLayout(chainKey), ids: EntryIds = new MemoryIds()) {
    if (!equal(layout.key, chainKey)) throw new LedgerError('INVALID_FIELD', 'the layout is another core\'s', { field: 'layout' })
    this.chainKey = chainKey
    this.layout = layout
    this.crypto = crypto
    this.ids = ids
  }

  /** Number of positions folded so far. */
  get length (): number { return this.types.length }
  get user (): ChainUser | undefined { return this.userInfo }
  /** Positions named by an erasure entry so far. */
  get erasures (): ReadonlySet<number> { return this.erasureRequests }

  typeAt (seq: number): EntryType | undefined { return this.types[seq] }

  /** The position of an entry id already in the chain, if any (with indexed ids: once prefetched, see chain-ids.ts). */
  positionOf (id: Uint8Array): number | undefined {
    return this.ids.positionOf(bytesToHex(id))
  }

  /** Throws LedgerError if `entry` may not stand at position `seq` (the next one). Changes nothing. */
  check (entry: Entry | RuleView, seq: number, registry: RegistryState, opts: CheckOptions = {}): void {
    if (seq !== this.length) throw new LedgerError('STALE_POSITION', `entry is for position ${seq}, the chain's next position is ${this.length}`)
    // Only an earlier position counts: an index on disk may hold this very block's id (a replica checking it again after a restart).
    const earlier = this.ids.positionOf(bytesToHex(entry.id))
    if (earlier !== undefined && earlier < seq) throw new LedgerError('DUPLICATE_ENTRY', `entry id already at position ${earlier}`)
    const slot = { chainKey: keyAt(this.layout, seq), seq }

    if (seq === 0) {
      if (entry.type !== 'genesis') throw new LedgerError('BAD_GENESIS', 'block 0 must be a genesis entry')
      this.assertSigned(entry, slot, entry.plain.user.sign, opts)
      const custodian = registry.institutionAt(entry.plain.custodian)
      if (custodian === undefined) throw new LedgerError('REGISTRY_BEHIND', `custodian ${entry.plain.custodian} is not in the registry this node has`)
      if (!can(custodian.role, 'enrol', 'user')) throw new LedgerError('ROLE_FORBIDDEN', `custodian ${entry.plain.custodian} is a ${custodian.role}, which may not enrol users`)
      return
    }
    const user = this.userInfo
    if (user === undefined) throw new LedgerError('BAD_GENESIS', 'the chain has no genesis')
    if (entry.type === 'genesis') throw new LedgerError('BAD_GENESIS', 'a genesis may only stand at position 0')
    if (migrateSlotAt(this.layout, seq) !== undefined && entry.type !== 'migrate') {
      throw new LedgerError('INVALID_FIELD', `position ${seq} of a continuation core must be its migrate`, { field: 'type' })
    }
    if (entry.type === 'migrate' && entry.author !== USER_AUTHOR) {
      // A suspended custodian's chain whose user did not move it: the examiner governance reassigned it to continues it.
      checkMigrateOf(entry.plain, seq, this.layout, registry, this.crypto, opts.appending === true)
      const author = checkReassignedMigrate(entry, user.custodian, registry, opts.appending === true)
      this.assertSigned(entry, slot, author.sign, opts)
      return
    }
    if (entry.type === 'migrate' || entry.type === 'rekey') {
      if (entry.author !== USER_AUTHOR) throw new LedgerError('ROLE_FORBIDDEN', `only the user writes ${entry.type} entries`)
      if (entry.type === 'rekey') {
        checkRekeyOf(user, entry.plain)
        // Signed by the revealed key: whoever stole the old one cannot rotate.
        this.assertSigned(entry, slot, entry.plain.sign, opts)
      } else {
        checkMigrateOf(entry.plain, seq, this.layout, registry, this.crypto, opts.appending === true)
        this.assertSigned(entry, slot, user.sign, opts)
      }
      return
    }

    if (entry.author === USER_AUTHOR) {
      if (!can('user', 'write', entry.type)) throw new LedgerError('ROLE_FORBIDDEN', `a user may not write ${entry.type} entries`)
      this.assertSigned(entry, slot, user.sign, opts)
    } else {
      const reg = entry.reg!
      if (reg > registry.length) throw new LedgerError('REGISTRY_BEHIND', `entry ${seq} was signed against registry length ${reg}; this node has ${registry.length}`)
      const author = registry.institutionAt(entry.author, reg)
      if (author === undefined) throw new LedgerError('UNKNOWN_AUTHOR', `${entry.author} is not in the registry at length ${reg}`)
      if (author.status !== 'active') throw new LedgerError('AUTHOR_SUSPENDED', `${entry.author} was suspended at registry length ${reg}`)
      // Backdating: an earlier entry proves the registry had reached regMark, so a suspension by then counts too.
      if (this.regMark > reg && registry.institutionAt(entry.author, this.regMark)?.status !== 'active') {
        throw new LedgerError('AUTHOR_SUSPENDED', `${entry.author} was suspended by registry length ${this.regMark}, which an earlier entry of this chain was signed against`)
      }
      if (opts.appending === true && registry.institutionAt(entry.author)?.status !== 'active') {
        throw new LedgerError('AUTHOR_SUSPENDED', `${entry.author} is suspended in the current registry`)
      }
      if (!can(author.role, 'write', entry.type)) throw new LedgerError('ROLE_FORBIDDEN', `a ${author.role} may not write ${entry.type} entries`)
      // Key rotation: an entry signed with a key the registry has replaced is refused where the replacement is known to be
      // in force: by the custodian (its registry now), and by every verifier once an earlier entry of this chain was signed
      // against a registry that records it. Entries signed before the rotation keep verifying with the old key.
      if (this.regMark > reg && !equal(registry.institutionAt(entry.author, this.regMark)!.sign, author.sign)) {
        const why = `rotated out by registry length ${this.regMark}, which an earlier entry of this chain was signed against`
        throw new LedgerError('BAD_SIGNATURE', `entry ${seq} is signed with a key of ${entry.author} ${why}`)
      }
      if (opts.appending === true && !equal(registry.institutionAt(entry.author)!.sign, author.sign)) {
        throw new LedgerError('BAD_SIGNATURE', `entry ${seq} is signed with a key of ${entry.author} that the current registry has rotated out`)
      }
      this.assertSigned(entry, slot, author.sign, opts)
      if (entry.sealed !== undefined) {
        // Granted examiners count only while active: at the entry's registry length and at the chain's mark.
        const lengths = [reg, Math.max(reg, this.regMark)]
        this.checkRecipients(entry, author.box, registry, entry.time, lengths)
        // The entry's time is the author's word; when appending, a grant must also be in force now, to an examiner active now.
        if (opts.appending === true) this.checkRecipients(entry, author.box, registry, Date.now(), [...lengths, registry.length])
      }
    }

    if (entry.type === 'consent') this.checkConsent(entry, seq, registry)
    if (entry.type === 'erasure') this.checkErasure(entry.plain.entries, seq)
  }

  private assertSigned (entry: Entry | RuleView, slot: { chainKey: Uint8Array, seq: number }, key: Uint8Array, opts: CheckOptions): void {
    if (opts.verifiedKey !== undefined) {
      if (!equal(opts.verifiedKey, key)) throw new LedgerError('BAD_SIGNATURE', `entry ${slot.seq} was signed with a key that is not its author's`)
      return
    }
    if (!('sig' in entry)) throw new LedgerError('BAD_SIGNATURE', `the signature of entry ${slot.seq} could not be checked`)
    if (!verifyEntrySignature(entry, slot, key, this.crypto)) throw new LedgerError('BAD_SIGNATURE', `author signature of entry ${slot.seq} does not verify`)
  }

  /**
   * Sealed recipients: the user (required), the author, and examiners granted
   * at `time` that are active at every registry length of `activeAt`.
   */
  private checkRecipients (entry: Entry | RuleView, authorBox: Uint8Array, registry: RegistryState, time: number, activeAt: readonly number[]): void {
    const user = this.userInfo!
    const to = entry.sealed!.to
    if (!to.some((r) => equal(r.key, user.box))) throw new LedgerError('CONSENT_VIOLATION', 'the user must be a recipient of every sealed segment')
    const granted = this.consent.active(time)
      .filter((g) => activeAt.every((length) => registry.institutionAt(g.examiner, length)?.status === 'active'))
      .map((g) => registry.institutionAt(g.examiner, entry.reg)?.box)
      .filter((box): box is Uint8Array => box !== undefined)
    const allowed = [user.box, authorBox, ...granted]
    for (const r of to) {
      if (!allowed.some((k) => equal(k, r.key))) {
        throw new LedgerError('CONSENT_VIOLATION', 'a sealed segment names a recipient the user has not granted, or one suspended')
      }
    }
  }

  private checkConsent (entry: { readonly plain: ConsentPlain }, seq: number, registry: RegistryState): void {
    const history = registry.historyOf(entry.plain.examiner)
    if (history.length === 0) throw new LedgerError('REGISTRY_BEHIND', `examiner ${entry.plain.examiner} is not in the registry this node has`)
    if (!can(history[0]!.role, 'read', 'sealed')) throw new LedgerError('ROLE_FORBIDDEN', `${entry.plain.examiner} is a ${history[0]!.role}, which may never read sealed data`)
    if (entry.plain.action !== 'grant' || entry.plain.rewrap === undefined) return
    const rewrap = entry.plain.rewrap
    if (!history.some((r) => equal(r.box, rewrap.to))) throw new LedgerError('CONSENT_VIOLATION', 'rewrapped keys are not addressed to the granted examiner')
    for (const k of rewrap.keys) {
      const type = this.types[k.seq]
      if (k.seq >= seq || (type !== undefined && type !== 'exam')) throw new LedgerError('CONSENT_VIOLATION', `rewrapped key for position ${k.seq}, which is not an earlier exam entry`)
    }
  }

  private checkErasure (entries: readonly number[], seq: number): void {
    for (const target of entries) {
      if (target >= seq) throw new LedgerError('BAD_ERASURE', `cannot erase position ${target}: it is not before the erasure`)
      const type = this.types[target]
      if (type !== undefined && !ERASABLE_TYPES.includes(type)) throw new LedgerError('BAD_ERASURE', `position ${target} is a ${type} entry, which cannot be erased`)
    }
  }

  /**
   * Starts a transaction: entries applied from now on can be rolled back, so
   * a batch is checked entry by entry against the state its predecessors
   * leave, and forgotten if writing it fails. Transactions stack: the next
   * batch can be checked while the one before is still being written.
   */
  begin (): void {
    this.frames.push([])
  }

  /** The oldest open transaction is written: it can no longer be rolled back. */
  commit (): void {
    this.frames.shift()
  }

  /** Undoes every open transaction, newest first. */
  rollback (): void {
    for (let f = this.frames.length - 1; f >= 0; f--) {
      const undo = this.frames[f]!
      for (let i = undo.length - 1; i >= 0; i--) undo[i]!()
    }
    this.frames.length = 0
  }

  private get undo (): Array<() => void> | undefined {
    return this.frames[this.frames.length - 1]
  }

  /** Folds an entry that passed `check` at the next position. */
  apply (entry: Entry | RuleView, seq: number): void {
    if (seq !== this.length) throw new LedgerError('STALE_POSITION', `apply out of order: ${seq} after ${this.length}`)
    const undo = this.undo
    if (entry.type === 'genesis') {
      this.userInfo = userOfGenesis(entry.plain)
      undo?.push(() => { this.userInfo = undefined })
    } else if (entry.type === 'rekey' || entry.type === 'migrate') {
      const previous = this.userInfo!
      this.userInfo = entry.type === 'rekey' ? userAfterRekey(previous, entry.plain) : { ...previous, custodian: entry.plain.to as InstitutionId }
      undo?.push(() => { this.userInfo = previous })
    } else if (entry.type === 'consent') {
      const restore = this.consent.snapshot()
      this.consent.apply(entry, seq)
      undo?.push(restore)
    } else if (entry.type === 'erasure') {
      const added = entry.plain.entries.filter((t) => !this.erasureRequests.has(t))
      for (const target of added) this.erasureRequests.add(target)
      undo?.push(() => { for (const target of added) this.erasureRequests.delete(target) })
    }
    if (entry.reg !== undefined && entry.reg > this.regMark) {
      const previous = this.regMark
      this.regMark = entry.reg
      undo?.push(() => { this.regMark = previous })
    }
    const idHex = bytesToHex(entry.id)
    this.ids.add(idHex, seq)
    this.types.push(entry.type)
    undo?.push(() => { this.ids.remove(idHex); this.types.pop() })
  }

  /** Advances past a position whose block is not available (erased, or not stored here). */
  skip (seq: number): void {
    if (seq !== this.length) throw new LedgerError('STALE_POSITION', `skip out of order: ${seq} after ${this.length}`)
    this.ids.skipped?.(seq)
    this.types.push(undefined)
    this.undo?.push(() => { this.types.pop() })
  }
}
