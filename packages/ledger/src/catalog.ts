/**
 * The node's own record of what it holds: the registry's key and, for each
 * chain, the user and the chain key. A local Hypercore (never replicated), so
 * it shares the store's durability: a chain recorded here survives a crash.
 *
 * Records are canonical CBOR `{ v: 1, kind: 'registry', key }`,
 * `{ v: 1, kind: 'chain', user, key }` or, once a user's chain moved to a
 * continuation core, `{ v: 1, kind: 'moved', user, from, key, length }`:
 * the user's chain is `key` from now on, and `from` is closed at `length`
 * (kept read-only as history). Once a user rekeyed, `{ v: 1, kind: 'key',
 * user, sign, generation }`: the user's signing key in force, so that a
 * phone connecting with it (its libp2p identity) is known as the user's,
 * and the keys it replaced are not, also after a restart. Later records win;
 * a store written before 'moved' or 'key' existed has none and opens as it did.
 */
import type Hypercore from 'hypercore'
import { readFile } from 'node:fs/promises'
import { bytesToHex, decodeCanonical, encodeCanonical, type UserId } from '@healthchain/core'
import { decodeCatalogCheckpoint, encodeCatalogCheckpoint, warnOnce, writeFileAtomically, type CatalogTables } from './catalog-checkpoint.js'
import { LedgerError } from './errors.js'
import { KeyTable } from './key-table.js'
import type { LocalCoreSource } from './local-cores.js'
import { readBlocks, storedTreeHash } from './tree-audit.js'

const READ_BATCH = 4096

type CatalogRecord =
  | { v: 1, kind: 'registry', key: Uint8Array }
  | { v: 1, kind: 'chain', user: string, key: Uint8Array }
  | { v: 1, kind: 'moved', user: string, from: Uint8Array, key: Uint8Array, length: number }
  | { v: 1, kind: 'key', user: string, sign: Uint8Array, generation: number }

/**
 * A chain record `{ v: 1, kind: 'chain', user, key }` of a user id (32
 * characters) has one encoding, canonical CBOR being deterministic: these
 * bytes, but for the ones that differ between two records (the key's and
 * the user's). Reading such a block by comparing it with this template
 * skips the general decoder, which took 1.5 s of the 2.5 s that opening a
 * catalog of 100,000 chains took. Any other block, or one with a byte of a
 * user id outside ASCII, goes to the decoder, which says all it says now.
 */
const CHAIN_TEMPLATE = encodeCanonical({ v: 1, kind: 'chain', user: 'a'.repeat(32), key: new Uint8Array(32) })
const CHAIN_VARIES = ((other: Uint8Array) => CHAIN_TEMPLATE.map((byte, i) => byte === other[i] ? 0 : 1))(
  encodeCanonical({ v: 1, kind: 'chain', user: 'b'.repeat(32), key: new Uint8Array(32).fill(0xff) })
)
const CHAIN_KEY_AT = CHAIN_VARIES.indexOf(1)
const CHAIN_USER_AT = CHAIN_VARIES.lastIndexOf(1) - 31

function decodeRecord (block: Uint8Array): CatalogRecord {
  if (block.length !== CHAIN_TEMPLATE.length) return decodeCanonical(block) as CatalogRecord
  for (let i = 0; i < block.length; i++) {
    if (CHAIN_VARIES[i] === 0 ? block[i] !== CHAIN_TEMPLATE[i] : i >= CHAIN_USER_AT && block[i]! >= 0x80) {
      return decodeCanonical(block) as CatalogRecord
    }
  }
  return {
    v: 1,
    kind: 'chain',
    user: String.fromCharCode(...block.subarray(CHAIN_USER_AT, CHAIN_USER_AT + 32)),
    key: new Uint8Array(block.subarray(CHAIN_KEY_AT, CHAIN_KEY_AT + 32))
  }
}

/** Chain records written in one append at most. */
const MAX_GROUP = 1024

/** What a chain write is checked against: the catalog as recorded, plus the records written before it in its group. */
interface ChainView {
  chainKeyOf: (user: UserId) => Uint8Array | undefined
  holdsKey: (key: Uint8Array) => boolean
}

interface ChainWrite {
  /** The record to write, null if nothing is to be written; throws if the write is refused. */
  readonly decide: (view: ChainView) => CatalogRecord | null
  readonly resolve: () => void
  readonly reject: (err: unknown) => void
}

/** The catalog's checkpoint file (catalog-checkpoint.ts): where it is, how often it is written, whom to tell when it is not used. */
export interface CatalogCheckpointOptions {
  readonly path: string
  /** Records appended between two writes of it (default CHECKPOINT_EVERY); it is also written at close. */
  readonly every?: number
  /** Told why a checkpoint was not used at open (the catalog is then read in full), or could not be written. */
  readonly warn?: (message: string) => void
}

/**
 * 50,000 records: a write costs about what reading that many records at
 * open does (a checkpoint of a million chains is ~70 MB, encoded in a few
 * hundred milliseconds), so a crash costs at most that much more start-up.
 */
export const CHECKPOINT_EVERY = 50_000

/** A chain core the user's chain moved away from: closed at `length`, continued by `successor`. */
export interface ClosedChain {
  readonly user: UserId
  readonly length: number
  readonly successor: Uint8Array
}

export class Catalog {
  private readonly core: Hypercore
  private registryKeyValue: Uint8Array | undefined
  /** Every chain key recorded (key-table.ts), current or moved from; the user of each slot; each user's chain's slot. */
  private keys = new KeyTable()
  private userOfSlot: UserId[] = []
  private readonly chainsByUser = new Map<UserId, number>()
  private readonly closedByKey = new Map<string, ClosedChain>()
  /** A rekeyed user's signing key in force (hex) and its generation; and the user of each such key. */
  private readonly signOfUser = new Map<UserId, { sign: string, generation: number }>()
  private readonly usersBySign = new Map<string, UserId>()
  /** Chain records waiting to be decided and written (`oneChainWrite`), and whether a group is being written. */
  private readonly chainWrites: ChainWrite[] = []
  private writing = false
  /** Appends under way: while any is, the tables may lag the core's length, so no checkpoint is taken. */
  private appending = 0
  private readonly checkpoint: CatalogCheckpointOptions | undefined
  /** The catalog length of the checkpoint on disk (0: none), and the write under way. */
  private checkpointedAt = 0
  private checkpointWrite: Promise<void> | undefined

  private constructor (core: Hypercore, checkpoint: CatalogCheckpointOptions | undefined) {
    this.core = core
    this.checkpoint = checkpoint
  }

  /**
   * Opens the catalog: from its checkpoint and the records after it if the
   * checkpoint is there and is this catalog's, else from every record (and
   * then writes a checkpoint, in the background).
   */
  static async open (cores: LocalCoreSource, checkpoint?: CatalogCheckpointOptions): Promise<Catalog> {
    const core = await cores.localCore('local/catalog')
    const catalog = new Catalog(core, checkpoint)
    const from = checkpoint === undefined ? 0 : await catalog.loadCheckpoint(checkpoint)
    catalog.checkpointedAt = from
    // Read in storage batches: one record at a time made start-up with 100,000 chains take seconds.
    for (let start = from; start < core.length; start += READ_BATCH) {
      const blocks = await readBlocks(core, start, Math.min(core.length, start + READ_BATCH))
      blocks.forEach((block, i) => {
        if (block === null) throw new LedgerError('MISSING_BLOCK', `catalog block ${start + i} is missing`)
        catalog.remember(decodeRecord(block))
      })
    }
    if (checkpoint !== undefined && (from === 0 ? core.length > 0 : core.length - from >= (checkpoint.every ?? CHECKPOINT_EVERY))) {
      catalog.writeCheckpointSoon()
    }
    return catalog
  }

  /** Loads the checkpoint into the (empty) tables if it is this catalog's: the length it covers, or 0 (told why). */
  private async loadCheckpoint (opts: CatalogCheckpointOptions): Promise<number> {
    const ignored = (why: string): number => {
      (opts.warn ?? warnOnce)(`catalog checkpoint ${opts.path} not used (${why}): the catalog is read in full and the checkpoint written again`)
      return 0
    }
    let bytes: Uint8Array
    try {
      bytes = await readFile(opts.path)
    } catch (err) {
      // A new store has neither records nor a checkpoint: nothing to tell.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && this.core.length === 0) return 0
      return ignored((err as NodeJS.ErrnoException).code === 'ENOENT' ? 'there is none' : `unreadable: ${(err as Error).message}`)
    }
    try {
      const { catalogKey, length, treeHash, tables } = decodeCatalogCheckpoint(bytes)
      if (this.core.key === null || bytesToHex(catalogKey) !== bytesToHex(this.core.key)) return ignored('taken of another store\'s catalog')
      if (length > this.core.length) return ignored(`it covers ${length} records, the catalog holds ${this.core.length}`)
      if (bytesToHex(await storedTreeHash(this.core, length)) !== bytesToHex(treeHash)) {
        return ignored(`the catalog's first ${length} records are not the ones it was taken of`)
      }
      this.adopt(tables)
      return length
    } catch (err) {
      return ignored((err as Error).message)
    }
  }

  private adopt (tables: CatalogTables): void {
    this.keys = KeyTable.of(tables.keys)
    this.registryKeyValue = tables.registryKey
    this.userOfSlot = tables.userOfSlot.slice()
    for (const [user, slot] of tables.chains) this.chainsByUser.set(user, slot)
    for (const { from, ...closed } of tables.closed) this.closedByKey.set(bytesToHex(from), closed)
    for (const [user, { sign, generation }] of tables.signs) this.signOfUser.set(user, { sign: bytesToHex(sign), generation })
    for (const [sign, user] of tables.usersBySign) this.usersBySign.set(bytesToHex(sign), user)
  }

  private tables (): CatalogTables {
    return {
      registryKey: this.registryKeyValue,
      keys: this.keys.packed(), // a view: slots added later are written past it, and a grown table is a new buffer
      userOfSlot: this.userOfSlot,
      chains: [...this.chainsByUser],
      closed: [...this.closedByKey].map(([from, closed]) => ({ from: hexToBytes(from), ...closed })),
      signs: [...this.signOfUser].map(([user, { sign, generation }]) => [user, { sign: hexToBytes(sign), generation }] as const),
      usersBySign: [...this.usersBySign].map(([sign, user]) => [hexToBytes(sign), user] as const)
    }
  }

  /** Appends `records` and remembers them; afterwards, a checkpoint if `every` records have been appended since the last. */
  private async append (records: CatalogRecord[]): Promise<void> {
    this.appending++
    try {
      await this.core.append(records.map((r) => encodeCanonical(r)))
      for (const record of records) this.remember(record)
      // Only here, with no other append under way, do the tables hold exactly the core's records: the snapshot is taken now.
      const every = this.checkpoint?.every ?? CHECKPOINT_EVERY
      if (this.appending === 1 && this.checkpoint !== undefined && this.core.length - this.checkpointedAt >= every) this.writeCheckpointSoon()
    } finally {
      this.appending--
    }
  }

  private writeCheckpointSoon (): void {
    if (this.checkpointWrite !== undefined) return
    this.checkpointWrite = this.writeCheckpoint().catch((err: unknown) => {
      (this.checkpoint?.warn ?? warnOnce)(`catalog checkpoint not written: ${(err as Error).message}`)
    }).finally(() => { this.checkpointWrite = undefined })
  }

  /**
   * Writes the checkpoint at the catalog's length. Called only when the
   * tables hold exactly the core's records (no append under way): they are
   * copied before the first await, so appends may go on while it is written.
   */
  private async writeCheckpoint (): Promise<void> {
    const length = this.core.length
    if (this.checkpoint === undefined || this.core.key === null || length === this.checkpointedAt) return
    const catalogKey = this.core.key
    const tables = { ...this.tables(), userOfSlot: this.userOfSlot.slice() }
    const treeHash = await storedTreeHash(this.core, length)
    await writeFileAtomically(this.checkpoint.path, encodeCatalogCheckpoint({ catalogKey, length, treeHash, tables }))
    this.checkpointedAt = length
  }

  private remember (record: CatalogRecord): void {
    if (record.kind === 'registry') {
      this.registryKeyValue = record.key
    } else if (record.kind === 'key') {
      const user = record.user as UserId
      const before = this.signOfUser.get(user)
      if (before !== undefined && before.generation >= record.generation) return
      if (before !== undefined) this.usersBySign.delete(before.sign)
      const sign = bytesToHex(record.sign)
      this.signOfUser.set(user, { sign, generation: record.generation })
      this.usersBySign.set(sign, user)
    } else {
      const slot = this.keys.add(record.key)
      this.userOfSlot[slot] = record.user as UserId
      this.chainsByUser.set(record.user as UserId, slot)
      if (record.kind === 'moved') {
        // The old key keeps answering its user (userOf), as history.
        this.userOfSlot[this.keys.add(record.from)] = record.user as UserId
        this.closedByKey.set(bytesToHex(record.from), { user: record.user as UserId, length: record.length, successor: record.key })
      }
    }
  }

  get registryKey (): Uint8Array | undefined { return this.registryKeyValue }

  /** The catalog length the checkpoint on disk covers (0: none yet; at open, 0 if the catalog was read in full). */
  get checkpointLength (): number { return this.checkpointedAt }

  async setRegistry (key: Uint8Array): Promise<void> {
    await this.append([{ v: 1, kind: 'registry', key }])
  }

  async addChain (user: UserId, key: Uint8Array): Promise<void> {
    await this.oneChainWrite((view) => {
      const known = view.chainKeyOf(user)
      if (known !== undefined && bytesToHex(known) !== bytesToHex(key)) {
        throw new LedgerError('ALREADY_ENROLLED', `user ${user} already has a chain here under another key`)
      }
      if (view.holdsKey(key)) return null
      return { v: 1, kind: 'chain', user, key }
    })
  }

  /** Records that `user`'s chain moved from `from` (closed at `length`) to the continuation `key`. */
  async moveChain (user: UserId, from: Uint8Array, key: Uint8Array, length: number): Promise<void> {
    await this.oneChainWrite((view) => {
      const known = view.chainKeyOf(user)
      if (known !== undefined && bytesToHex(known) === bytesToHex(key)) return null
      if (known === undefined || bytesToHex(known) !== bytesToHex(from)) {
        throw new LedgerError('UNKNOWN_CHAIN', `user ${user}'s chain here is not the one the continuation continues`)
      }
      return { v: 1, kind: 'moved', user, from, key, length }
    })
  }

  /**
   * Chain records are decided one at a time, each checked against those
   * written or queued before it: two chains of one user added at once (two
   * cores of it fetched side by side) both passed the check while the first
   * was being appended, and the catalog then held both as the user's chain.
   * The records decided while an append is under way are written together
   * in the next one (a group commit): one storage write per record made
   * enrolling or replicating many chains wait on the disk once per chain.
   */
  private async oneChainWrite (decide: ChainWrite['decide']): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.chainWrites.push({ decide, resolve, reject })
      if (!this.writing) void this.writeChainRecords()
    })
  }

  private async writeChainRecords (): Promise<void> {
    this.writing = true
    try {
      while (this.chainWrites.length > 0) {
        const group = this.chainWrites.splice(0, MAX_GROUP)
        // What this group adds, seen by the checks of the writes after it in the group.
        const users = new Map<UserId, Uint8Array>()
        const keys = new Set<string>()
        const view: ChainView = {
          chainKeyOf: (user) => users.get(user) ?? this.chainKeyOf(user),
          holdsKey: (key) => keys.has(bytesToHex(key)) || this.keys.find(key) >= 0
        }
        const records: CatalogRecord[] = []
        const accepted: ChainWrite[] = []
        for (const write of group) {
          let record: CatalogRecord | null
          try {
            record = write.decide(view)
          } catch (err) {
            write.reject(err)
            continue
          }
          accepted.push(write)
          if (record === null || record.kind === 'registry' || record.kind === 'key') continue
          records.push(record)
          users.set(record.user as UserId, record.key)
          keys.add(bytesToHex(record.key))
          if (record.kind === 'moved') keys.add(bytesToHex(record.from))
        }
        try {
          if (records.length > 0) await this.append(records)
          for (const write of accepted) write.resolve()
        } catch (err) {
          for (const write of accepted) write.reject(err)
        }
      }
    } finally {
      this.writing = false
    }
  }

  closedChain (key: Uint8Array): ClosedChain | undefined { return this.closedByKey.get(bytesToHex(key)) }

  /** Records a rekeyed user's signing key in force, unless one of this generation or later is recorded. */
  async noteSignKey (user: UserId, sign: Uint8Array, generation: number): Promise<void> {
    if ((this.signOfUser.get(user)?.generation ?? 0) >= generation) return
    await this.append([{ v: 1, kind: 'key', user, sign: new Uint8Array(sign), generation }])
  }

  /** The generation of the user's signing key recorded here (0: never rekeyed, or not recorded yet). */
  signGenerationOf (user: UserId): number { return this.signOfUser.get(user)?.generation ?? 0 }

  /** The user whose recorded signing key in force this is (a rekeyed user's). */
  userOfSignKey (sign: Uint8Array): UserId | undefined { return this.usersBySign.get(bytesToHex(sign)) }

  has (user: UserId): boolean { return this.chainsByUser.has(user) }
  chainKeyOf (user: UserId): Uint8Array | undefined {
    const slot = this.chainsByUser.get(user)
    return slot === undefined ? undefined : this.keys.key(slot)
  }

  userOf (key: Uint8Array): UserId | undefined {
    const slot = this.keys.find(key)
    return slot < 0 ? undefined : this.userOfSlot[slot]
  }

  users (): UserId[] { return [...this.chainsByUser.keys()] }
  get chainCount (): number { return this.chainsByUser.size }

  /** Closes the catalog's core, after a last checkpoint if records were appended since the one on disk. */
  async close (): Promise<void> {
    await this.checkpointWrite
    if (this.checkpoint !== undefined && this.core.length > this.checkpointedAt) {
      await this.writeCheckpoint().catch((err: unknown) => {
        (this.checkpoint?.warn ?? warnOnce)(`catalog checkpoint not written: ${(err as Error).message}`)
      })
    }
    await this.core.close()
  }
}

function hexToBytes (hex: string): Uint8Array { return new Uint8Array(Buffer.from(hex, 'hex')) }
