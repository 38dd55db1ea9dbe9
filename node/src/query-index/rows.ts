/**
 * What one verified entry contributes to the index: rows taken from its
 * PLAIN segment only. The sealed segment is never opened, decoded or copied
 * here — not even as ciphertext — so the index can hold nothing sealed, and
 * every query over it is safe for any role that may read plain segments
 * (inquirers and regulators included). Pure: no I/O.
 */
import type { Entry, Observation } from '@healthchain/core'

export type ObservationSource = 'exam' | 'exercise'

export interface ObservationRow {
  readonly ord: number
  readonly source: ObservationSource
  /** `user` for the user's own device, or the writing institution's id. */
  readonly author: string
  /** The observation's own time, else the exam's time or the exercise period's start. */
  readonly time: number
  /** The exercise period's end; null for exams. */
  readonly endTime: number | null
  readonly code: string
  readonly value: number | null
  readonly textValue: string | null
  readonly unit: string | null
  readonly low: number | null
  readonly high: number | null
}

export interface LocationRow {
  readonly time: number
  readonly lat: number
  readonly lon: number
  readonly acc: number
}

export interface EntryRows {
  readonly observations: readonly ObservationRow[]
  readonly locations: readonly LocationRow[]
  /** Positions an erasure entry names: their rows must go. */
  readonly erases: readonly number[]
}

const NONE: EntryRows = Object.freeze({ observations: [], locations: [], erases: [] })

function observationRow (o: Observation, ord: number, source: ObservationSource, author: string, time: number, endTime: number | null): ObservationRow {
  return {
    ord,
    source,
    author,
    time: o.time ?? time,
    endTime,
    code: o.code,
    value: typeof o.value === 'number' ? o.value : null,
    textValue: typeof o.value === 'string' ? o.value : null,
    unit: o.unit ?? null,
    low: o.low ?? null,
    high: o.high ?? null
  }
}

/** The rows of one entry; genesis and consent entries give none. */
export function rowsOf (entry: Entry): EntryRows {
  switch (entry.type) {
    case 'exam':
      // entry.plain only: entry.sealed is deliberately never looked at.
      return { observations: entry.plain.observations.map((o, i) => observationRow(o, i, 'exam', entry.author, entry.time, null)), locations: [], erases: [] }
    case 'exercise': {
      const { start, end, observations } = entry.plain
      return { observations: observations.map((o, i) => observationRow(o, i, 'exercise', entry.author, start, end)), locations: [], erases: [] }
    }
    case 'location':
      return { observations: [], locations: entry.plain.points.map((p) => ({ time: p.time, lat: p.lat, lon: p.lon, acc: p.acc })), erases: [] }
    case 'erasure':
      return { observations: [], locations: [], erases: entry.plain.entries }
    default:
      return NONE
  }
}
