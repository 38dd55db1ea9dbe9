/**
 * GPX 1.0/1.1 import: the track points of a day of movement.
 *
 * Parsed with @xmldom/xmldom (a maintained W3C DOM parser that resolves no
 * external entities and reports positions), stopping at the first error, so
 * a damaged file is refused whole with the line where it broke rather than
 * half imported. The walk itself is small: every `trkpt` (any namespace,
 * so 1.0 and 1.1 both work) with `lat`, `lon` and a `<time>` carrying a time
 * zone. Route points and waypoints are not movement and are ignored.
 *
 * Accuracy: GPX has no accuracy in metres, only dilutions of precision.
 * With `<hdop>`, accuracy = hdop × `metresPerHdop` (5 m, the usual
 * user-range error of a phone's GNSS); without it, `defaultAccuracy` (20 m).
 */
import { DOMParser, ParseError, onErrorStopParsing, type Element } from '@xmldom/xmldom'
import { ENTRY_LIMITS } from '@healthchain/core'
import { ClientError } from './errors.js'
import { parseTimestamp } from './timestamp.js'

/** A track point as imported: a GeoPoint with its time in epoch milliseconds. */
export interface GpxPoint {
  readonly lat: number
  readonly lon: number
  /** Metres (see the file comment for how it is derived). */
  readonly accuracy: number
  readonly time: number
}

export interface GpxTrack {
  /** The first track's `<name>`, if any. */
  readonly name: string | undefined
  /** Every track point of every track and segment, in file order. */
  readonly points: GpxPoint[]
}

export interface GpxOptions {
  /** Accuracy in metres for points without `<hdop>`; default 20. */
  readonly defaultAccuracy?: number
  /** Metres per unit of horizontal dilution of precision; default 5. */
  readonly metresPerHdop?: number
}

function invalid (field: string, line: number | undefined, message: string): ClientError {
  return new ClientError('IMPORT_INVALID', `GPX${line === undefined ? '' : ` line ${line}`}: ${field}: ${message}`, { field, line })
}

function lineOf (node: { lineNumber?: number }): number | undefined {
  return typeof node.lineNumber === 'number' && node.lineNumber > 0 ? node.lineNumber : undefined
}

/** The text of the first child element named `name`, if there is one. */
function childText (el: Element, name: string): { text: string, line: number | undefined } | undefined {
  for (let n = el.firstChild; n !== null; n = n.nextSibling) {
    if (n.nodeType === n.ELEMENT_NODE && (n as Element).localName === name) return { text: (n.textContent ?? '').trim(), line: lineOf(n as Element) ?? lineOf(el) }
  }
  return undefined
}

function number (value: string | null, field: string, line: number | undefined, min: number, max: number): number {
  const n = value === null || value.trim() === '' ? NaN : Number(value)
  if (!Number.isFinite(n)) throw invalid(field, line, value === null ? 'missing' : 'not a number')
  if (n < min || n > max) throw invalid(field, line, `must be from ${min} to ${max}`)
  return n
}

/**
 * Parses a GPX file's text. Throws ClientError: IMPORT_MALFORMED (not
 * well-formed XML, or not GPX; `line` where it broke), IMPORT_INVALID (a
 * track point with a missing or out-of-range `lat`, `lon`, `time` or
 * `hdop`; `line` and `field` name it, e.g. `trkpt.3.time`), IMPORT_EMPTY
 * (no track point).
 */
export function parseGpx (text: string, opts: GpxOptions = {}): GpxTrack {
  const defaultAccuracy = opts.defaultAccuracy ?? 20
  const metresPerHdop = opts.metresPerHdop ?? 5
  if (typeof text !== 'string') throw new ClientError('INVALID_INPUT', 'text: expected the GPX file as a string', { field: 'text' })
  let root: Element | null
  try {
    root = new DOMParser({ onError: onErrorStopParsing }).parseFromString(text, 'text/xml').documentElement
  } catch (err) {
    const line = err instanceof ParseError && typeof err.locator?.lineNumber === 'number' && err.locator.lineNumber > 0 ? err.locator.lineNumber : undefined
    throw new ClientError('IMPORT_MALFORMED', `GPX${line === undefined ? '' : ` line ${line}`}: not well-formed XML`, { line, cause: err })
  }
  if (root === null || root.localName !== 'gpx') {
    throw new ClientError('IMPORT_MALFORMED', 'GPX: the root element is not <gpx>', { line: root === null ? undefined : lineOf(root) })
  }

  const points: GpxPoint[] = []
  const trkpts = root.getElementsByTagNameNS('*', 'trkpt')
  for (let i = 0; i < trkpts.length; i++) {
    const pt = trkpts.item(i)!
    const line = lineOf(pt)
    const field = (name: string): string => `trkpt.${i}.${name}`
    const lat = number(pt.getAttribute('lat'), field('lat'), line, -90, 90)
    const lon = number(pt.getAttribute('lon'), field('lon'), line, -180, 180)
    const time = childText(pt, 'time')
    if (time === undefined) throw invalid(field('time'), line, 'missing (every point needs its time)')
    const ms = parseTimestamp(time.text)
    if (typeof ms === 'string') throw invalid(field('time'), time.line, ms)
    const hdop = childText(pt, 'hdop')
    const accuracy = hdop === undefined ? defaultAccuracy : number(hdop.text, field('hdop'), hdop.line, 0, ENTRY_LIMITS.accuracy / metresPerHdop) * metresPerHdop
    points.push({ lat, lon, accuracy, time: ms })
  }
  if (points.length === 0) throw new ClientError('IMPORT_EMPTY', 'GPX: the file has no track points (<trkpt>)')
  const trk = root.getElementsByTagNameNS('*', 'trk').item(0)
  const name = trk === null ? undefined : childText(trk, 'name')?.text
  return { name: name === '' ? undefined : name, points }
}
