/**
 * A batch's rows as the index writing thread is sent them: a few typed
 * arrays and one table of the distinct strings, instead of an object per
 * row. Copying objects between threads costs about as much as inserting
 * them (each is serialised, then rebuilt field by field on the other side);
 * typed arrays are moved whole, and a batch's strings (sources, authors,
 * codes, units) are mostly the same few.
 *
 * Layout, per entry in position order (so that an erasure still deletes
 * exactly the rows it would inline):
 * - `entries`: seq, observation count, location count, erasure count;
 * - `numbers`: 6 per observation (time, end time, value, low, high, ord);
 * - `points`: 4 per location point (time, lat, lon, acc);
 * - `texts`: 5 string-table indexes per observation (source, author,
 *   code, text value, unit), -1 for null;
 * - `erases`: the positions each erasure names.
 * Nulls among the numbers are NaN: no plain value can be NaN (JSON has no
 * NaN), so NaN is free to stand for "none".
 */
import type { RowsAt } from './index-writer.js'
import type { LocationRow, ObservationRow, ObservationSource } from './rows.js'

export interface PackedRows {
  readonly entries: Int32Array
  readonly numbers: Float64Array
  readonly texts: Int32Array
  readonly points: Float64Array
  readonly erases: Int32Array
  readonly strings: readonly string[]
}

const NUMBERS_PER_OBSERVATION = 6
const TEXTS_PER_OBSERVATION = 5
const NUMBERS_PER_POINT = 4

/** The buffers of a packed batch, to move rather than copy (the sender must not use them after). */
export function transferListOf (packed: PackedRows): ArrayBuffer[] {
  return [packed.entries, packed.numbers, packed.texts, packed.points, packed.erases].map((a) => a.buffer as ArrayBuffer)
}

const orNaN = (n: number | null): number => n ?? Number.NaN
const orNull = (n: number): number | null => Number.isNaN(n) ? null : n

export function packRows (batch: readonly RowsAt[]): PackedRows {
  let observations = 0
  let points = 0
  let erases = 0
  for (const { rows } of batch) {
    observations += rows.observations.length
    points += rows.locations.length
    erases += rows.erases.length
  }
  const entries = new Int32Array(batch.length * 4)
  const numbers = new Float64Array(observations * NUMBERS_PER_OBSERVATION)
  const texts = new Int32Array(observations * TEXTS_PER_OBSERVATION)
  const pointNumbers = new Float64Array(points * NUMBERS_PER_POINT)
  const erased = new Int32Array(erases)
  const strings: string[] = []
  const ids = new Map<string, number>()
  const idOf = (s: string | null): number => {
    if (s === null) return -1
    let id = ids.get(s)
    if (id === undefined) {
      id = strings.push(s) - 1
      ids.set(s, id)
    }
    return id
  }
  let o = 0
  let p = 0
  let e = 0
  batch.forEach(({ seq, rows }, i) => {
    entries.set([seq, rows.observations.length, rows.locations.length, rows.erases.length], i * 4)
    for (const row of rows.observations) {
      numbers.set([row.time, orNaN(row.endTime), orNaN(row.value), orNaN(row.low), orNaN(row.high), row.ord], o * NUMBERS_PER_OBSERVATION)
      texts.set([idOf(row.source), idOf(row.author), idOf(row.code), idOf(row.textValue), idOf(row.unit)], o * TEXTS_PER_OBSERVATION)
      o++
    }
    for (const point of rows.locations) {
      pointNumbers.set([point.time, point.lat, point.lon, point.acc], p * NUMBERS_PER_POINT)
      p++
    }
    for (const target of rows.erases) erased[e++] = target
  })
  return { entries, numbers, texts, points: pointNumbers, erases: erased, strings }
}

export function unpackRows (packed: PackedRows): RowsAt[] {
  const { entries, numbers, texts, points, erases, strings } = packed
  const text = (id: number): string | null => id === -1 ? null : stringAt(strings, id)
  const out: RowsAt[] = []
  let o = 0
  let p = 0
  let e = 0
  for (let i = 0; i < entries.length; i += 4) {
    const observations: ObservationRow[] = []
    for (let k = 0; k < entries[i + 1]!; k++, o++) {
      const n = o * NUMBERS_PER_OBSERVATION
      const t = o * TEXTS_PER_OBSERVATION
      observations.push({
        ord: numbers[n + 5]!,
        source: stringAt(strings, texts[t]!) as ObservationSource,
        author: stringAt(strings, texts[t + 1]!),
        time: numbers[n]!,
        endTime: orNull(numbers[n + 1]!),
        code: stringAt(strings, texts[t + 2]!),
        value: orNull(numbers[n + 2]!),
        textValue: text(texts[t + 3]!),
        unit: text(texts[t + 4]!),
        low: orNull(numbers[n + 3]!),
        high: orNull(numbers[n + 4]!)
      })
    }
    const locations: LocationRow[] = []
    for (let k = 0; k < entries[i + 2]!; k++, p++) {
      const n = p * NUMBERS_PER_POINT
      locations.push({ time: points[n]!, lat: points[n + 1]!, lon: points[n + 2]!, acc: points[n + 3]! })
    }
    const named = Array.from(erases.subarray(e, e + entries[i + 3]!))
    if (named.length !== entries[i + 3]) throw new RangeError('packed rows: fewer erased positions than counted')
    e += named.length
    out.push({ seq: entries[i]!, rows: { observations, locations, erases: named } })
  }
  if (o * NUMBERS_PER_OBSERVATION !== numbers.length || p * NUMBERS_PER_POINT !== points.length || e !== erases.length) {
    throw new RangeError('packed rows: the counts do not match the arrays')
  }
  return out
}

function stringAt (strings: readonly string[], id: number): string {
  const s = strings[id]
  if (s === undefined) throw new RangeError(`packed rows: no string ${id}`)
  return s
}
