/**
 * What a command prints. Two modes:
 *
 *   human (default)  text on stdout, progress on stderr
 *   --json           exactly one JSON document on stdout (bytes as hex),
 *                    progress still on stderr, so `| jq` always parses
 *
 * Errors are printed by main.ts (`error <CODE>: <message>` on stderr).
 * Secrets are printed only by the two commands whose purpose is to show one
 * once (`user new`, `apikey create`); nothing here logs anything else.
 */
import { bytesToHex } from '@healthchain/core'

export interface Io {
  readonly stdout: (text: string) => void
  readonly stderr: (text: string) => void
}

export const processIo: Io = {
  stdout: (text) => { process.stdout.write(text) },
  stderr: (text) => { process.stderr.write(text) }
}

/** JSON with bytes as lowercase hex (keys, signatures), the API's convention. */
export function toJsonText (value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => v instanceof Uint8Array ? bytesToHex(v) : v, 2)
}

export class Output {
  readonly json: boolean
  private readonly io: Io

  constructor (io: Io, opts: { json?: boolean } = {}) {
    this.io = io
    this.json = opts.json === true
  }

  /** The command's result: `value` as one JSON document with --json, else the human text. */
  result (value: unknown, human: string | readonly string[]): void {
    if (this.json) this.io.stdout(toJsonText(value) + '\n')
    else this.io.stdout((typeof human === 'string' ? human : human.join('\n')) + '\n')
  }

  /** A progress line, on stderr in both modes. */
  progress (text: string): void {
    this.io.stderr(`${text}\n`)
  }

  /** A warning, on stderr in both modes. */
  warn (text: string): void {
    this.io.stderr(`warning: ${text}\n`)
  }
}

/** Left-aligned columns, two spaces apart, with a header row. */
export function table (header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[]): string => cells.map((c, i) => i === cells.length - 1 ? c : c.padEnd(widths[i]!)).join('  ').trimEnd()
  return [line(header), ...rows.map(line)].join('\n')
}
