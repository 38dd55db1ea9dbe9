/**
 * Which key checks each position of a chain, worked out in the browser from
 * the chain's own entries (never from what the node says about them); the
 * patient's check (patient/chain-check.ts) and the regulator's verify
 * screen use it:
 *
 *   segments   a chain that moved lives in a continuation core; positions
 *              below its migrate were written in earlier cores, and each is
 *              signed for the key of the core it was written in. The latest
 *              migrate names them all (its lineage, `from`, this core), so
 *              its plain segment, with the old head it carries checked here
 *              (checkMigrate), gives the key of every position
 *   user keys  the genesis names generation 0's key; each rekey reveals the
 *              next generation's (it must be the one this device derives
 *              from the phrase, and the one the previous genesis or rekey
 *              committed to); user entries after it are signed with it
 */
import {
  bytesToHex, checkMigrate, checkRekey, equal, fromHex, migratePlainSchema, segmentsOfMigrate,
  type ChainSegment, type Entry, type MigratePlain, type Prologue, type UserKeys
} from '@healthchain/core'
import { crypto } from './crypto.js'

/** A chain's segments as the patient and the regulator see them: core key (hex), first position, end (exclusive; undefined: still written). */
export interface SegmentView {
  readonly key: string
  readonly start: number
  readonly end: number | undefined
}

export interface ChainLayout {
  readonly segments: readonly SegmentView[]
  /** The latest migrate (its plain segment) and where it stands; undefined for a chain that never moved. */
  readonly migrate: { readonly seq: number, readonly plain: MigratePlain } | undefined
  /** Why the latest migrate could not give the segments (then every position is checked against the chain key). */
  readonly problem: string | undefined
}

/** The segments of a chain whose decoded entries are `entries` (by position), for the core `chainKeyHex`. */
export function layoutOf (entries: ReadonlyMap<number, Entry>, chainKeyHex: string): ChainLayout {
  const seq = [...entries.keys()].sort((x, y) => y - x).find((s) => entries.get(s)?.type === 'migrate')
  const entry = seq === undefined ? undefined : entries.get(seq)
  return layoutOfMigrate(entry?.type === 'migrate' ? { seq: seq!, plain: entry.plain } : undefined, chainKeyHex)
}

/** The segments the latest migrate (at `seq`) names for the core `chainKeyHex`, once its old head is checked here. */
function layoutOfMigrate (latest: { seq: number, plain: MigratePlain } | undefined, chainKeyHex: string): ChainLayout {
  const single: SegmentView[] = [{ key: chainKeyHex, start: 0, end: undefined }]
  if (latest === undefined) return { segments: single, migrate: undefined, problem: undefined }
  const { seq, plain } = latest
  if (plain.length !== seq) return { segments: single, migrate: undefined, problem: `the move at #${seq} names position ${plain.length}` }
  try {
    checkMigrate(plain, crypto)
  } catch {
    return { segments: single, migrate: undefined, problem: `the old custodian's head the move at #${seq} carries does not verify` }
  }
  const segments = segmentsOfMigrate(plain, fromHex(chainKeyHex, 32, 'chainKey')).map(segmentView)
  return { segments, migrate: { seq, plain }, problem: undefined }
}

function segmentView (s: ChainSegment): SegmentView {
  return { key: bytesToHex(s.key), start: s.start, end: s.end }
}

/**
 * The layout from a chain's migrate entries as a regulator reads them: the
 * plain segments as JSON (a regulator takes no stored bytes), turned back
 * into bytes and checked here like any migrate (its old head must verify).
 */
export function layoutOfViews (
  views: ReadonlyArray<{ readonly seq: number, readonly type: string, readonly plain: unknown }>, chainKeyHex: string
): ChainLayout {
  const latest = views.filter((v) => v.type === 'migrate').sort((x, y) => y.seq - x.seq)[0]
  if (latest === undefined) return layoutOfMigrate(undefined, chainKeyHex)
  let plain: MigratePlain
  try {
    plain = migratePlainOfJson(latest.plain)
  } catch {
    return { segments: [{ key: chainKeyHex, start: 0, end: undefined }], migrate: undefined, problem: `the move at #${latest.seq} is malformed` }
  }
  return layoutOfMigrate({ seq: latest.seq, plain }, chainKeyHex)
}

/** A migrate's plain segment from the API's JSON (bytes as hex); throws when a field is missing or not hex of its size. */
export function migratePlainOfJson (json: unknown): MigratePlain {
  const v = json as Record<string, any>
  const lineage = (v.lineage as Array<Record<string, any>>).map((l, i) => ({
    key: fromHex(l.key, 32, `lineage.${i}.key`), length: l.length as number, prologue: fromHex(l.prologue, 32, `lineage.${i}.prologue`)
  }))
  return migratePlainSchema.parse({
    from: fromHex(v.from, 32, 'from'),
    length: v.length,
    fork: v.fork,
    prologue: fromHex(v.prologue, 32, 'prologue'),
    signer: fromHex(v.signer, 32, 'signer'),
    headSig: fromHex(v.headSig, 64, 'headSig'),
    to: v.to,
    lineage
  })
}

/** A continuation core's manifest prologue from its layout (where its migrate stands, the old tree hash there); undefined if it never moved. */
export function prologueOf (layout: ChainLayout): Prologue | undefined {
  return layout.migrate === undefined ? undefined : { hash: layout.migrate.plain.prologue, length: layout.migrate.plain.length }
}

/** The key of the core position `seq` was written in. */
export function segmentKeyAt (layout: ChainLayout, seq: number): string {
  return layout.segments.find((s) => s.start <= seq && (s.end === undefined || seq < s.end))?.key ?? layout.segments.at(-1)!.key
}

/**
 * The user's key in force along the chain: `generations[g]` is this
 * device's generation g (from the phrase). Starts undefined until the
 * genesis names generation 0.
 */
export class UserKeyInForce {
  #key: Uint8Array | undefined
  #next: Uint8Array | undefined
  #generation = 0
  readonly #generations: readonly UserKeys[]

  constructor (generations: readonly UserKeys[]) {
    this.#generations = generations
  }

  get key (): Uint8Array | undefined { return this.#key }
  get generation (): number { return this.#generation }

  /** The genesis at position 0: its key must be this device's generation 0. */
  genesis (entry: Extract<Entry, { type: 'genesis' }>): void {
    const mine = this.#generations[0]
    this.#key = mine !== undefined && equal(entry.plain.user.sign, mine.sign.publicKey) ? entry.plain.user.sign : undefined
    this.#next = entry.plain.next
  }

  /** Why `entry`'s revealed keys cannot follow the ones in force, or undefined (then call `rekeyed`). */
  rekeyProblem (entry: Extract<Entry, { type: 'rekey' }>): string | undefined {
    const { plain } = entry
    if (this.#key === undefined) return 'the genesis, which names your first key, could not be read'
    if (plain.generation !== this.#generation + 1) return `it reveals generation ${plain.generation}, after generation ${this.#generation}`
    if (this.#next === undefined) return 'the chain committed to no next keys'
    try {
      checkRekey(this.#next, plain)
    } catch {
      return 'its keys are not the ones your chain committed to'
    }
    const mine = this.#generations[plain.generation]
    if (mine !== undefined && !equal(mine.sign.publicKey, plain.sign)) return 'its keys are not the ones your recovery phrase derives'
    return undefined
  }

  /** A checked rekey: its key is in force from here on. */
  rekeyed (entry: Extract<Entry, { type: 'rekey' }>): void {
    this.#key = entry.plain.sign
    this.#next = entry.plain.next
    this.#generation = entry.plain.generation
  }
}
