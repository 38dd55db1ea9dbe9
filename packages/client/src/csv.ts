/**
 * CSV import of steps (and, optionally, distance, active energy and heart
 * rate) per period, as fitness apps export them.
 *
 * Format: a header row, then one row per period. Column names are matched
 * case-insensitively, surrounding spaces ignored, in any order:
 *
 *   start, end            required — ISO 8601 with a zone, or epoch ms
 *   steps                 required — whole number
 *   distance_m            optional — metres
 *   active_energy_kcal    optional — kcal
 *   heart_rate_bpm        optional — mean beats per minute over the period
 *
 * Unknown columns are refused (a misspelt `distance_km` would otherwise be
 * dropped silently); an empty optional cell means "not measured". Parsed
 * with csv-parse (quotes, embedded commas and newlines, BOM), which gives
 * each record's line, so every error names its line and column.
 */
import { parse } from 'csv-parse/sync'
import { ClientError } from './errors.js'
import { EXERCISE_MEASURES, type ExerciseMeasure } from './exercise.js'
import { parseTimestamp } from './timestamp.js'

/** One row: a period and what was measured in it (an ExerciseInput with times in epoch ms). */
export interface StepsRow {
  readonly start: number
  readonly end: number
  readonly steps: number
  readonly distance?: number
  readonly activeEnergy?: number
  readonly heartRate?: number
  /** The row's line in the file (1-based). */
  readonly line: number
}

const COLUMNS = {
  start: { required: true },
  end: { required: true },
  steps: { required: true, measure: 'steps' },
  distance_m: { required: false, measure: 'distance' },
  active_energy_kcal: { required: false, measure: 'activeEnergy' },
  heart_rate_bpm: { required: false, measure: 'heartRate' }
} as const satisfies Record<string, { required: boolean, measure?: ExerciseMeasure }>

type Column = keyof typeof COLUMNS

interface ParsedRecord { record: string[], info: { lines: number } }

function isColumn (name: string): name is Column {
  return Object.hasOwn(COLUMNS, name)
}

function invalid (column: string, line: number, message: string): ClientError {
  return new ClientError('IMPORT_INVALID', `CSV line ${line}: ${column}: ${message}`, { field: column, line })
}

/**
 * Parses a steps CSV file's text. Throws ClientError: IMPORT_MALFORMED
 * (CSV syntax, e.g. an unclosed quote or a row with the wrong number of
 * cells; `line`), IMPORT_INVALID (a missing, unknown or duplicate column in
 * the header, or a cell that is not a valid time or value; `line` and
 * `field` — the column name), IMPORT_EMPTY (no data rows).
 */
export function parseStepsCsv (text: string): StepsRow[] {
  if (typeof text !== 'string') throw new ClientError('INVALID_INPUT', 'text: expected the CSV file as a string', { field: 'text' })
  let records: ParsedRecord[]
  try {
    // csv-parse's sync typings do not model `info: true`, which wraps each record as { record, info }.
    records = parse(text, { info: true, bom: true, skip_empty_lines: true, trim: true, relax_column_count: false }) as unknown as ParsedRecord[]
  } catch (err) {
    const line = typeof (err as { lines?: unknown }).lines === 'number' ? (err as { lines: number }).lines : undefined
    throw new ClientError('IMPORT_MALFORMED', `CSV${line === undefined ? '' : ` line ${line}`}: not well-formed CSV`, { line, cause: err })
  }
  const header = records[0]
  if (header === undefined) throw new ClientError('IMPORT_EMPTY', 'CSV: the file is empty')
  const index = new Map<Column, number>()
  header.record.forEach((raw, i) => {
    const name = raw.toLowerCase()
    if (!isColumn(name)) throw invalid(raw === '' ? `column ${i + 1}` : raw, header.info.lines, `unknown column (expected ${Object.keys(COLUMNS).join(', ')})`)
    if (index.has(name)) throw invalid(name, header.info.lines, 'the column appears twice')
    index.set(name, i)
  })
  for (const [name, def] of Object.entries(COLUMNS)) {
    if (def.required && !index.has(name as Column)) throw invalid(name, header.info.lines, 'required column is missing')
  }
  if (records.length === 1) throw new ClientError('IMPORT_EMPTY', 'CSV: the file has a header but no rows')

  return records.slice(1).map(({ record, info }) => {
    const line = info.lines
    const cell = (column: Column): string => {
      const i = index.get(column)
      return i === undefined ? '' : record[i] ?? ''
    }
    const time = (column: 'start' | 'end'): number => {
      const value = cell(column)
      if (value === '') throw invalid(column, line, 'missing')
      const ms = parseTimestamp(value, { epochMs: true })
      if (typeof ms === 'string') throw invalid(column, line, ms)
      return ms
    }
    const start = time('start')
    const end = time('end')
    if (end < start) throw invalid('end', line, 'before start')
    const measure = (column: Column, what: ExerciseMeasure): number | undefined => {
      const value = cell(column)
      if (value === '') {
        if (COLUMNS[column].required) throw invalid(column, line, 'missing')
        return undefined
      }
      const def = EXERCISE_MEASURES[what]
      const n = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(value) ? Number(value) : NaN
      if (!Number.isFinite(n)) throw invalid(column, line, 'not a number')
      if (n < def.min || n > def.max || (def.integer && !Number.isInteger(n))) {
        throw invalid(column, line, `expected ${def.integer ? 'a whole number' : 'a number'} from ${def.min} to ${def.max}`)
      }
      return n
    }
    const row: { -readonly [K in keyof StepsRow]: StepsRow[K] } = { start, end, steps: measure('steps', 'steps')!, line }
    const distance = measure('distance_m', 'distance')
    const activeEnergy = measure('active_energy_kcal', 'activeEnergy')
    const heartRate = measure('heart_rate_bpm', 'heartRate')
    if (distance !== undefined) row.distance = distance
    if (activeEnergy !== undefined) row.activeEnergy = activeEnergy
    if (heartRate !== undefined) row.heartRate = heartRate
    return row
  })
}
