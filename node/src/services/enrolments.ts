/**
 * Enrolment tickets: how a patient's own device enrols itself at an
 * examiner's desk without staff ever seeing its recovery phrase. Knows
 * nothing of HTTP.
 *
 *   staff ──create──► ticket { code, expiresAt }  (pending; the code is shown to the patient)
 *   device ──chainKey(code, userId)──► the chain key; the ticket is bound to that user
 *   device signs its genesis for that key, position 0
 *   device ──enrol(code, genesis)──► the chain service enrols it (the same checks as
 *                                     POST /v1/users); the ticket is used up
 *
 * Tickets live in memory only (a restart voids them: staff open another):
 * at most `maxOpen` pending at once, each for `ttlMs`. A used or expired
 * ticket is remembered a while longer (another `ttlMs`) so staff can see
 * how it ended, within a bound on all entries. Tickets are keyed by a hash
 * of their code, so a lookup compares hashes, never the code itself.
 *
 * The routes a device calls need no login, so anyone on the node's network
 * may guess codes: 60 random bits make guessing hopeless, and a code that
 * opens nothing — never issued, expired, or used — gets one answer,
 * UNKNOWN_TICKET, never sooner than `refusalFloorMs` after the call began,
 * so neither the answer nor its timing tells the three apart.
 */
import { createHash, randomBytes as nodeRandomBytes } from 'node:crypto'
import { decodeEntry, userIdFromKey, type InstitutionId, type UserId } from '@healthchain/core'
import { LedgerError } from '@healthchain/ledger'
import type { ChainKeyReply, ChainSummary } from '../api/chains.js'
import { ENROLMENT_CODE_ALPHABET, ENROLMENT_CODE_LENGTH, type EnrolmentTicket, type TicketStatusReply } from '../api/enrolments.js'
import { NodeError } from '../errors.js'
import type { ChainService } from './chains.js'

/** How soon at the earliest a code that opens nothing is answered, in ms: as for a refused login. */
export const TICKET_REFUSAL_FLOOR_MS = 100
/** Entries kept (open and finished) per allowed open ticket: finished ones beyond it are forgotten, oldest first. */
const KEPT_PER_OPEN = 4

export interface EnrolmentsComponents {
  readonly chains: Pick<ChainService, 'chainKey' | 'enrol'>
  /** This node's institution: the custodian of every user enrolled here. */
  readonly custodian: InstitutionId
  /** Random bytes for codes; default node:crypto's. */
  readonly randomBytes?: (length: number) => Uint8Array
}

export interface EnrolmentsInit {
  /** A ticket's lifetime. */
  readonly ttlMs: number
  /** Tickets pending at once (TOO_MANY_TICKETS beyond). */
  readonly maxOpen: number
  /** Milliseconds since the epoch; injectable for tests. */
  readonly now?: () => number
  /** Default TICKET_REFUSAL_FLOOR_MS. */
  readonly refusalFloorMs?: number
  /** Waits `ms`; injectable for tests. */
  readonly sleep?: (ms: number) => Promise<unknown>
}

/** What a device's call may learn of the ticket it used (for the audit line: who opened it, for whom). */
export interface TicketUse {
  /** The audit actor of the staff member who opened the ticket (`key:<api key id>`). */
  readonly creator: string
  /** The user the call is for (the body's user id, or the one the genesis names). */
  readonly userId: UserId
}

export interface EnrolmentService {
  /** Opens a ticket for `creator` (an audit actor). TOO_MANY_TICKETS when `maxOpen` are pending. */
  create (creator: string): EnrolmentTicket
  /** Where a ticket stands (`code` canonical); UNKNOWN_TICKET if this node does not know it (any more). */
  status (code: string): TicketStatusReply
  /**
   * The chain key `user` gets here, binding the ticket to `user` (TICKET_TAKEN if it is bound to another).
   * `onTicket` hears of the ticket once it is found, before anything else can fail.
   */
  chainKey (code: string, user: UserId, onTicket?: (use: TicketUse) => void): Promise<ChainKeyReply>
  /** Enrols the user the genesis names, who must be the one the ticket is bound to (if bound); uses the ticket up. */
  enrol (code: string, genesis: Uint8Array, onTicket?: (use: TicketUse) => void): Promise<ChainSummary>
  /** Tickets pending now. */
  readonly openCount: number
}

interface Ticket {
  readonly creator: string
  readonly expiresAt: number
  userId: UserId | undefined
  /** `enrolling` while the chain service works on it: a second enrolment with the code meanwhile finds nothing. */
  state: 'pending' | 'enrolling' | 'enrolled'
}

function hashOf (code: string): string {
  return createHash('sha256').update(`healthchain/v1/enrolment-ticket\0${code}`).digest('hex')
}

/** 60 random bits as 12 Crockford base32 characters, XXXX-XXXX-XXXX. */
export function newEnrolmentCode (randomBytes: (length: number) => Uint8Array): string {
  const bytes = randomBytes(8)
  let bits = 0n
  for (const byte of bytes) bits = (bits << 8n) | BigInt(byte)
  let chars = ''
  for (let i = 0; i < ENROLMENT_CODE_LENGTH; i++) chars += ENROLMENT_CODE_ALPHABET[Number((bits >> BigInt(5 * i)) & 31n)]!
  return `${chars.slice(0, 4)}-${chars.slice(4, 8)}-${chars.slice(8)}`
}

export function createEnrolmentService (components: EnrolmentsComponents, init: EnrolmentsInit): EnrolmentService {
  const { chains, custodian } = components
  const randomBytes = components.randomBytes ?? ((length: number) => new Uint8Array(nodeRandomBytes(length)))
  const now = init.now ?? Date.now
  const floor = init.refusalFloorMs ?? TICKET_REFUSAL_FLOOR_MS
  const sleep = init.sleep ?? (async (ms: number) => await new Promise((resolve) => setTimeout(resolve, ms)))
  if (!Number.isSafeInteger(init.ttlMs) || init.ttlMs < 1) throw new RangeError('ttlMs: expected a positive integer')
  if (!Number.isSafeInteger(init.maxOpen) || init.maxOpen < 1) throw new RangeError('maxOpen: expected a positive integer')
  // In creation order, hence in expiry order (every ticket lives ttlMs).
  const tickets = new Map<string, Ticket>()

  const isOpen = (t: Ticket, at: number): boolean => t.state !== 'enrolled' && at < t.expiresAt
  const openCount = (at: number): number => { let n = 0; for (const t of tickets.values()) if (isOpen(t, at)) n++; return n }

  /** Forgets tickets finished more than ttlMs ago, and the oldest finished ones beyond the bound on entries. */
  const sweep = (at: number): void => {
    for (const [key, t] of tickets) {
      if (at < t.expiresAt + init.ttlMs) break
      tickets.delete(key)
    }
    if (tickets.size < init.maxOpen * KEPT_PER_OPEN) return
    for (const [key, t] of tickets) {
      if (tickets.size < init.maxOpen * KEPT_PER_OPEN) break
      if (!isOpen(t, at)) tickets.delete(key)
    }
  }

  /** The open ticket for `code`, or UNKNOWN_TICKET no sooner than the floor after `started`. */
  const openTicket = async (code: string, started: number, usable: (t: Ticket) => boolean): Promise<Ticket> => {
    const ticket = tickets.get(hashOf(code))
    if (ticket !== undefined && isOpen(ticket, now()) && usable(ticket)) return ticket
    const wait = started + floor - now()
    if (wait > 0) await sleep(wait)
    throw new NodeError('UNKNOWN_TICKET', 'no open enrolment ticket has this code: it may have expired or been used; ask the staff for a new one')
  }

  const bind = (ticket: Ticket, user: UserId): void => {
    if (ticket.userId !== undefined && ticket.userId !== user) {
      throw new NodeError('TICKET_TAKEN', 'this enrolment ticket is bound to another user: ask the staff for a new one')
    }
    ticket.userId = user
  }

  return {
    create (creator) {
      const at = now()
      sweep(at)
      if (openCount(at) >= init.maxOpen) {
        throw new NodeError('TOO_MANY_TICKETS', `this node has ${init.maxOpen} open enrolment tickets: wait until one is used or expires`)
      }
      let code = newEnrolmentCode(randomBytes)
      // 60 bits: a clash is all but impossible, and drawing again costs nothing.
      while (tickets.has(hashOf(code))) code = newEnrolmentCode(randomBytes)
      const expiresAt = at + init.ttlMs
      tickets.set(hashOf(code), { creator, expiresAt, userId: undefined, state: 'pending' })
      return { code, expiresAt: new Date(expiresAt).toISOString(), custodian }
    },

    status (code) {
      const at = now()
      sweep(at)
      const ticket = tickets.get(hashOf(code))
      if (ticket === undefined) throw new NodeError('UNKNOWN_TICKET', 'this node knows no enrolment ticket with this code (any more)')
      const status = ticket.state === 'enrolled' ? 'enrolled' : at < ticket.expiresAt ? 'pending' : 'expired'
      return { status, ...(ticket.userId === undefined ? {} : { userId: ticket.userId }), expiresAt: new Date(ticket.expiresAt).toISOString() }
    },

    async chainKey (code, user, onTicket) {
      const ticket = await openTicket(code, now(), () => true)
      onTicket?.({ creator: ticket.creator, userId: user })
      bind(ticket, user)
      return await chains.chainKey(user)
    },

    async enrol (code, genesis, onTicket) {
      const ticket = await openTicket(code, now(), (t) => t.state === 'pending')
      // The user the genesis names, checked against the binding before the chain service sees it (its own errors otherwise).
      const entry = decodeEntry(genesis)
      if (entry.type !== 'genesis') throw new LedgerError('BAD_GENESIS', 'enrolment takes a genesis entry')
      const user = userIdFromKey(entry.plain.user.sign)
      onTicket?.({ creator: ticket.creator, userId: user })
      bind(ticket, user)
      ticket.state = 'enrolling'
      try {
        const summary = await chains.enrol(genesis)
        ticket.state = 'enrolled'
        return summary
      } catch (err) {
        // Not used: the device may send a corrected genesis with the same code.
        ticket.state = 'pending'
        throw err
      }
    },

    get openCount () { return openCount(now()) }
  }
}
