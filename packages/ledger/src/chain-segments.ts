/**
 * A chain's segments: the cores it was written in. A chain that moved to a
 * new custodian lives in a continuation core whose manifest prologue is the
 * old core's tree hash at N; its blocks 0..N-1 are the old core's, each
 * signed for (the key of the core it was written in, its position), and its
 * block N is the user's `migrate` entry, which names every earlier core
 * (core's segmentsOfMigrate). So the layout is known to whoever reads block N
 * of the core, before folding anything.
 */
import type Hypercore from 'hypercore'
import {
  bytesToHex, decodeEntry, equal, segmentsOfMigrate, type ChainSegment, type LineageLink, type MigratePlain, type Prologue
} from '@healthchain/core'
import { LedgerError } from './errors.js'

export type { ChainSegment } from '@healthchain/core'

export interface ChainLayout {
  /** The core's own key: the latest segment's. */
  readonly key: Uint8Array
  /** Oldest first; the last is this core's, from `prologue.length` on. */
  readonly segments: readonly ChainSegment[]
  /** The core's manifest prologue (where its migrate stands); undefined for a chain's first core. */
  readonly prologue: Prologue | undefined
  /** The cores before this one with where each next one took over and its tree hash there: the lineage of this core's own migrate. */
  readonly lineage: readonly LineageLink[]
}

/** A chain's first core: one segment, no prologue. */
export function firstCoreLayout (key: Uint8Array): ChainLayout {
  return { key, segments: [{ key, start: 0, end: undefined }], prologue: undefined, lineage: [] }
}

/** The layout a continuation core's migrate names; the caller checks it against the core (migrateProblem). */
export function layoutOfMigrate (key: Uint8Array, prologue: Prologue, plain: MigratePlain): ChainLayout {
  const lineage = [...plain.lineage, { key: plain.from, length: plain.length, prologue: plain.prologue }]
  return { key, segments: segmentsOfMigrate(plain, key), prologue, lineage }
}

/** The key position `seq` was signed for. */
export function keyAt (layout: ChainLayout, seq: number): Uint8Array {
  for (let i = layout.segments.length - 1; i >= 0; i--) {
    const segment = layout.segments[i]!
    if (seq >= segment.start) return segment.key
  }
  return layout.key
}

/** Where a migrate stands: the start of every segment but the first, with that segment's core key and manifest prologue. */
export interface MigrateSlot {
  /** The core the migrate was written in. */
  readonly key: Uint8Array
  readonly prologue: Prologue
  /** The segments before it. */
  readonly earlier: readonly ChainSegment[]
}

/** The migrate slot at `seq`, if a segment begins there (undefined at 0 and inside a segment). */
export function migrateSlotAt (layout: ChainLayout, seq: number): MigrateSlot | undefined {
  const i = layout.segments.findIndex((s) => s.start === seq)
  if (i < 1) return undefined
  const link = layout.lineage[i - 1]!
  return { key: layout.segments[i]!.key, prologue: { hash: link.prologue, length: link.length }, earlier: layout.segments.slice(0, i) }
}

/** Why `plain` cannot be the migrate of the core with this key and manifest prologue, or undefined if it can. */
export function migrateProblem (key: Uint8Array, prologue: Prologue | undefined, plain: MigratePlain): string | undefined {
  if (prologue === undefined) return 'this chain\'s core has no prologue, so no migrate stands in it'
  if (plain.length !== prologue.length) return `the migrate names length ${plain.length}, the core's prologue ${prologue.length}`
  if (!equal(plain.prologue, prologue.hash)) return 'the migrate names another tree hash than the core\'s prologue'
  if (plain.lineage.some((link) => equal(link.key, key)) || equal(plain.from, key)) return 'the migrate names its own core as an earlier one'
  return undefined
}

/** The segments of a chain as a report shows them: key (hex), start, and end (the core's length for the last). */
export function describeSegments (layout: ChainLayout, length: number): Array<{ key: string, start: number, end: number }> {
  return layout.segments.map((s) => ({ key: bytesToHex(s.key), start: s.start, end: s.end ?? length }))
}

/**
 * Reads a core's layout from its manifest and its block at the prologue's
 * length. MISSING_BLOCK when that block is not stored here (a replica still
 * fetching it); INVALID_FIELD when it is not a migrate that fits the core.
 */
export async function readLayout (core: Hypercore): Promise<ChainLayout> {
  await core.ready()
  const key = core.key!
  // A replica knows the manifest only once a peer's first proof brought it.
  if (core.manifest === null) throw new LedgerError('MISSING_BLOCK', 'the core\'s manifest has not arrived yet')
  const prologue = core.manifest.prologue
  if (prologue === null) return firstCoreLayout(key)
  const own: Prologue = { hash: new Uint8Array(prologue.hash), length: prologue.length }
  if (core.length <= own.length) throw new LedgerError('MISSING_BLOCK', `the continuation's migrate at ${own.length} is not here yet`)
  const block = await core.get(own.length, { wait: false })
  if (block === null) throw new LedgerError('MISSING_BLOCK', `the continuation's migrate at ${own.length} is not here yet`)
  let entry
  try {
    entry = decodeEntry(block)
  } catch (err) {
    throw new LedgerError('INVALID_FIELD', `block ${own.length} of the continuation does not decode`, { field: 'plain', cause: err })
  }
  if (entry.type !== 'migrate') {
    throw new LedgerError('INVALID_FIELD', `block ${own.length} of a continuation must be a migrate, not ${entry.type}`, { field: 'type' })
  }
  const problem = migrateProblem(key, own, entry.plain)
  if (problem !== undefined) throw new LedgerError('INVALID_FIELD', problem, { field: 'plain.prologue' })
  return layoutOfMigrate(key, own, entry.plain)
}

/** readLayout, or undefined while the core's manifest or its migrate has not arrived here. */
export async function layoutWhenArrived (core: Hypercore): Promise<ChainLayout | undefined> {
  try {
    return await readLayout(core)
  } catch (err) {
    if (err instanceof LedgerError && err.code === 'MISSING_BLOCK') return undefined
    throw err
  }
}
