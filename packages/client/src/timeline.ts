/**
 * The user's timeline: the verified entries of their chain, with every
 * exam's sealed segment opened on the device with the user's own box key
 * (the user is a recipient of every sealed segment, which the custodian and
 * every replica enforce). Decryption happens here and only here; nothing
 * decrypted is stored.
 */
import {
  bytesToHex, isCoreError, isRecipient, openSealed, type BoxKeyPair, type CryptoProvider, type Entry, type EntryType, type ExamSealed, type PlainByType
} from '@healthchain/core'

/** An entry at its position, as the ledger's PositionedEntry (not imported: a browser's type check must not reach the ledger). */
interface PositionedEntry { readonly seq: number, readonly entry: Entry }

interface ItemOf<T extends EntryType> {
  /** Position in the chain. */
  readonly seq: number
  /** Entry id, hex. */
  readonly id: string
  readonly type: T
  /** The author's time (ms). */
  readonly time: number
  /** `user`, or the institution that wrote it. */
  readonly author: string
  readonly plain: PlainByType[T]
  /** An exam's sealed segment, opened for the user. */
  readonly sealed?: ExamSealed
  /** Why an exam's sealed segment could not be opened (it should always open for the user). */
  readonly sealedError?: 'NOT_RECIPIENT' | 'DECRYPT_FAILED'
}

export type TimelineItem = { [T in EntryType]: ItemOf<T> }[EntryType]

export interface TimelineQuery {
  /** Only these types. */
  readonly types?: readonly EntryType[]
  /** Only entries with time >= since (ms). */
  readonly since?: number
  /** Only entries with time < until (ms). */
  readonly until?: number
  /** Include the genesis (position 0); default false. */
  readonly genesis?: boolean
}

/**
 * Timeline items of verified entries, sealed segments opened with `box`. A seal is bound to the key of the core its
 * entry was written in, so a chain that moved passes `keyAt` (UserChain.keyAt: the key of each position's segment).
 */
export function toTimeline (
  entries: readonly PositionedEntry[], boxes: BoxKeyPair | readonly BoxKeyPair[], keyAt: Uint8Array | ((seq: number) => Uint8Array), crypto: CryptoProvider
): TimelineItem[] {
  const keys = Array.isArray(boxes) ? boxes : [boxes as BoxKeyPair]
  return entries.map(({ seq, entry }) => {
    const chainKey = typeof keyAt === 'function' ? keyAt(seq) : keyAt
    // After a rotation the user has several box keys: an entry was sealed to the one in force when it was written.
    const box = entry.sealed === undefined ? keys[0]! : keys.find((k) => isRecipient(entry.sealed!, k.publicKey)) ?? keys[0]!
    const item = { seq, id: bytesToHex(entry.id), type: entry.type, time: entry.time, author: entry.author, plain: entry.plain }
    if (entry.sealed === undefined) return item as TimelineItem
    try {
      return { ...item, sealed: openSealed(entry.sealed, box, { chainKey, entryId: entry.id }, crypto) } as TimelineItem
    } catch (err) {
      if (!isCoreError(err)) throw err
      return { ...item, sealedError: isCoreError(err, 'NOT_RECIPIENT') ? 'NOT_RECIPIENT' : 'DECRYPT_FAILED' } as TimelineItem
    }
  })
}

export interface SeriesPoint {
  readonly seq: number
  /** The observation's own time, else its entry's (an exercise's: the end of its period). */
  readonly time: number
  readonly value: number | string
  readonly unit: string | undefined
  readonly low: number | undefined
  readonly high: number | undefined
  /** Where it was found: an exam's plain or sealed segment, or an exercise entry. */
  readonly source: 'exam' | 'exam-sealed' | 'exercise'
  readonly author: string
}

/** Every observation with LOINC `code` across the timeline, in time order. */
export function seriesOf (items: readonly TimelineItem[], code: string): SeriesPoint[] {
  const points: SeriesPoint[] = []
  for (const item of items) {
    const lists: Array<[SeriesPoint['source'], ReadonlyArray<PlainByType['exam']['observations'][number]>, number]> = []
    if (item.type === 'exam') {
      lists.push(['exam', item.plain.observations, item.time])
      if (item.sealed?.observations !== undefined) lists.push(['exam-sealed', item.sealed.observations, item.time])
    } else if (item.type === 'exercise') {
      lists.push(['exercise', item.plain.observations, item.plain.end])
    }
    for (const [source, observations, time] of lists) {
      for (const o of observations) {
        if (o.code !== code) continue
        points.push({ seq: item.seq, time: o.time ?? time, value: o.value, unit: o.unit, low: o.low, high: o.high, source, author: item.author })
      }
    }
  }
  return points.sort((a, b) => a.time - b.time || a.seq - b.seq)
}
