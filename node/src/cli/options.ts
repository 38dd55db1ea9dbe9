/**
 * Option values shared by the commands, parsed where commander reads them:
 * a bad value is a usage error (exit 2) naming the option, before any work
 * starts. Each parser throws commander's InvalidArgumentError, whose
 * message commander prefixes with the option.
 */
import { resolve } from 'node:path'
import { InvalidArgumentError, Option, type Command } from 'commander'
import { multiaddr } from '@multiformats/multiaddr'
import {
  INSTITUTION_ROLES, isInstitutionId, isUserId, type InstitutionId, type InstitutionRole, type UserId
} from '@healthchain/core'

export function institutionIdArg (value: string): InstitutionId {
  if (!isInstitutionId(value)) throw new InvalidArgumentError('expected an institution id (a-z, 0-9, \'-\'; 3-64 characters, e.g. hospital-a)')
  return value
}

export function roleArg (value: string): InstitutionRole {
  if (!(INSTITUTION_ROLES as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${INSTITUTION_ROLES.join(', ')}`)
  return value as InstitutionRole
}

export function userIdArg (value: string): UserId {
  if (!isUserId(value)) throw new InvalidArgumentError('expected a 32-character user id (as `healthchain user new` prints it)')
  return value as UserId
}

/** An API base URL: http(s), no trailing slash. */
export function urlArg (value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new InvalidArgumentError('expected a URL such as http://127.0.0.1:8080')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError('expected an http:// or https:// URL')
  return url.toString().replace(/\/+$/, '')
}

/** A multiaddr other nodes dial (without /p2p: the peer id comes from the node's keys). */
export function multiaddrArg (value: string, previous: string[] = []): string[] {
  try {
    const addr = multiaddr(value)
    if (addr.getComponents().some((c) => c.name === 'p2p')) throw new Error('has /p2p')
  } catch {
    throw new InvalidArgumentError('expected a multiaddr without /p2p, such as /ip4/10.0.0.2/tcp/4001')
  }
  return [...previous, value]
}

export function intArg (min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) throw new InvalidArgumentError(`expected an integer between ${min} and ${max}`)
    return Number(value)
  }
}

/** An ISO 8601 time with a zone (a time without one would depend on this machine's zone), as milliseconds. */
export function timeArg (value: string): number {
  const ms = Date.parse(value)
  if (Number.isNaN(ms) || !/(Z|[+-]\d\d:?\d\d)$/i.test(value)) throw new InvalidArgumentError('expected an ISO 8601 time with a zone, such as 2026-01-01T00:00:00Z')
  return ms
}

/** The end of a consent grant: a time (timeArg) still to come, since a grant ending in the past would never give access. */
export function grantEndArg (value: string): number {
  const ms = timeArg(value)
  if (ms <= Date.now()) throw new InvalidArgumentError(`${new Date(ms).toISOString()} has passed: the grant would never give access (give a later time, or leave --until out for a grant until revoked)`)
  return ms
}

/** A path, made absolute against the working directory. */
export function pathArg (value: string): string {
  if (value === '') throw new InvalidArgumentError('expected a path')
  return resolve(value)
}

/** `--json` on a command. */
export function withJson (command: Command): Command {
  return command.option('--json', 'print one JSON document on stdout (for scripts)')
}

/** `--api-key`, also read from HEALTHCHAIN_API_KEY so the key stays out of shell history and process listings. */
export function apiKeyOption (description: string): Option {
  return new Option('--api-key <key>', description).env('HEALTHCHAIN_API_KEY')
}

/** Lines of examples for a command's --help. */
export function examples (...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`
}
