/**
 * How the CLI fails. Every failure leaves as one line on stderr,
 *
 *   error <CODE>: <message>
 *
 * and an exit status: 2 for a usage error (a missing or malformed option,
 * options that do not go together), 1 for anything else. CODE is stable:
 * the CLI's own codes below, or the code of the error underneath (a
 * NodeError, LedgerError, CoreError, NetError or ClientError code such as
 * STORE_LOCKED, or the code an API answered with, such as UNKNOWN_KEY),
 * passed on unchanged so scripts can branch on it.
 */
import { existsSync } from 'node:fs'
import { dirname } from 'node:path'
import { HealthchainError, codeList, isHealthchainError } from '@healthchain/core'
import type { ClientErrorCode } from '@healthchain/client'
import type { LedgerErrorCode } from '@healthchain/ledger'
import type { NetErrorCode } from '@healthchain/net'
import type { NodeErrorCode } from '../errors.js'

export type CliErrorCode =
  /** The command line is wrong: unknown option, missing option, bad value, options that exclude each other. */
  | 'USAGE'
  /** Nothing answers at the API URL (connection refused, DNS, timeout). */
  | 'UNREACHABLE'
  /** The API answered something that is not this API's JSON (another server on that port?). */
  | 'BAD_RESPONSE'
  /** A port the command must listen on is taken. */
  | 'PORT_IN_USE'
  /** `dev`: the network in that directory is already running (its dev.json names a live process). */
  | 'ALREADY_RUNNING'
  /** A directory is not what the command expects (not a node data directory, not a dev network directory). */
  | 'NOT_A_DATA_DIR'
  /** A file the command was given cannot be read or parsed. */
  | 'BAD_FILE'
  /** Something did not happen in time (a node did not get the registry, or did not connect). */
  | 'TIMEOUT'
  /** `verify`: the chain does not verify (the report says why). */
  | 'CHAIN_INVALID'
  /** `reindex`: a chain could not be indexed (the node retries it at its next start). */
  | 'REINDEX_INCOMPLETE'

export const CLI_ERROR_CODES = codeList<CliErrorCode>({
  USAGE: true,
  UNREACHABLE: true,
  BAD_RESPONSE: true,
  PORT_IN_USE: true,
  ALREADY_RUNNING: true,
  NOT_A_DATA_DIR: true,
  BAD_FILE: true,
  TIMEOUT: true,
  CHAIN_INVALID: true,
  REINDEX_INCOMPLETE: true
})

/** A code of the error underneath that the CLI passes on as its own (e.g. STORE_LOCKED when the node is running). */
export type PassedOnCode = NodeErrorCode | LedgerErrorCode | NetErrorCode | ClientErrorCode

export type ExitCode = 1 | 2

export class CliError<Code extends string = CliErrorCode | PassedOnCode> extends HealthchainError<Code> {
  override readonly name: string = 'CliError'
  readonly exitCode: ExitCode

  // NoInfer: a code is checked against the class's union, never widened to whatever string is passed.
  constructor (code: NoInfer<Code>, message: string, opts: { exitCode?: ExitCode, cause?: unknown, field?: string } = {}) {
    super(code, message, { cause: opts.cause, field: opts.field })
    this.exitCode = opts.exitCode ?? (code === 'USAGE' ? 2 : 1)
  }
}

export function usageError (message: string): CliError {
  return new CliError('USAGE', message, { exitCode: 2 })
}

/**
 * An error answer of the HTTP API: its stable code, status and message. The code is the API's own, passed on as it
 * came (a newer node may answer a code this build does not know), so it is a string.
 */
export class ApiError extends CliError<string> {
  readonly status: number

  constructor (status: number, code: string, message: string, field?: string) {
    super(code, `${message} (HTTP ${status})`, { field })
    this.status = status
  }
}

export interface Failure {
  readonly code: string
  readonly message: string
  readonly exitCode: ExitCode
}

/** File-system failures (reading --data @file, --out, …): the message names the path, which is the user's own. */
const FILE_ERRNOS = new Set(['ENOENT', 'EACCES', 'EPERM', 'EISDIR', 'ENOTDIR', 'EEXIST', 'EROFS', 'ENOSPC'])

/** The line and exit status for any error a command throws. */
export function failureOf (err: unknown): Failure {
  if (err instanceof CliError) return { code: err.code, message: err.message, exitCode: err.exitCode }
  // Every package's error: its message is written for people and carries no key material or health data (each package's contract).
  if (isHealthchainError(err)) return { code: err.code, message: err.message, exitCode: 1 }
  const errno = (err as NodeJS.ErrnoException | null)?.code
  if (typeof errno === 'string' && FILE_ERRNOS.has(errno) && err instanceof Error) return { code: 'BAD_FILE', message: fileErrorMessage(err as NodeJS.ErrnoException), exitCode: 1 }
  return { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err), exitCode: 1 }
}

/**
 * A file-system error in words: Node's own (`ENOENT: no such file or
 * directory, open '…'`) reads as a crash to someone who mistyped a path.
 * The commands that read or write a file the user names (--data @file,
 * --gpx, --out, …) pass fs errors through to here, so this is said once.
 */
function fileErrorMessage (err: NodeJS.ErrnoException): string {
  const path = err.path
  if (path === undefined) return err.message
  switch (err.code) {
    case 'ENOENT': {
      // The same code for a missing file to read and a missing directory to write in: say which is missing.
      const parent = dirname(path)
      return existsSync(parent) ? `${path} does not exist` : `${path} does not exist (nor does its directory ${parent})`
    }
    case 'EACCES':
    case 'EPERM': return `${path}: permission denied`
    case 'EISDIR': return `${path} is a directory, not a file`
    case 'ENOTDIR': return `${path}: a part of this path is a file, not a directory`
    case 'EEXIST': return `${path} exists already`
    default: return err.message
  }
}

/** Walks an error's causes (and an AggregateError's errors) for the first one that matches. */
export function findCause<T> (err: unknown, match: (e: unknown) => T | undefined, depth = 0): T | undefined {
  if (err === null || err === undefined || depth > 8) return undefined
  const found = match(err)
  if (found !== undefined) return found
  if (err instanceof AggregateError) {
    for (const inner of err.errors) {
      const hit = findCause(inner, match, depth + 1)
      if (hit !== undefined) return hit
    }
  }
  return findCause((err as { cause?: unknown }).cause, match, depth + 1)
}
