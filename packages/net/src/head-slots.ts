/**
 * The head log's storage (head-log.ts): its entries in cursor order, packed.
 *
 * A node holds a head for every chain it holds, and it may hold a million:
 * kept as objects (a SignedHead with four Uint8Arrays, its id as a hex
 * string, a Map entry) each cost about 0.8 KB. Here a chain's head is one
 * fixed-size record in one growing buffer, and the index from id to slot is
 * an open-addressing hash table of slot numbers keyed by the chain key's
 * bytes: about 200 bytes a chain.
 *
 *   record (176 bytes): key 32 | signer 32 | root 32 | sig 64 | length f64 | fork f64
 *   per slot besides:   cursor f64, state u8 (empty, packed, object)
 *
 * Only a head whose id is its own key in lower-case hex and which has no
 * prologue is packed; the rest (fork evidence ids, continuation cores'
 * heads: a few per forked or moved chain) are kept as objects beside it.
 * This layout lives in memory only: nothing here is written or sent.
 */
import { bytesToHex } from '@healthchain/core'
import type { SignedHead } from './wire/head.js'

const RECORD = 176
const SIGNER = 32
const ROOT = 64
const SIG = 96
const LENGTH = 160
const FORK = 168

const EMPTY = 0
const PACKED = 1
const OBJECT = 2

/** Hash table marks (slots are stored + 1). */
const FREE = 0
const DELETED = -1

const PLAIN_ID = /^[0-9a-f]{64}$/

function hexNibble (code: number): number { return code <= 57 ? code - 48 : code - 87 }

export class HeadSlots {
  private records = new Uint8Array(0)
  private view = new DataView(this.records.buffer)
  private cursors = new Float64Array(0)
  private states = new Uint8Array(0)
  /** Heads not packed, by slot, with their id. */
  private objects = new Map<number, { id: string, head: SignedHead }>()
  /** Slot of each object id. */
  private objectIndex = new Map<string, number>()
  /** Packed slots by the first four bytes of their key: slot + 1, FREE or DELETED. */
  private table = new Int32Array(1024)
  private tableUsed = 0
  private readonly scratch = new Uint8Array(32)
  /** Slots used, live or not. */
  length = 0

  /** The live slot of `id`, or -1. */
  find (id: string): number {
    const object = this.objectIndex.get(id)
    if (object !== undefined) return object
    if (!PLAIN_ID.test(id)) return -1
    const key = this.scratch
    for (let i = 0; i < 32; i++) key[i] = (hexNibble(id.charCodeAt(2 * i)) << 4) | hexNibble(id.charCodeAt(2 * i + 1))
    const at = this.probe(key)
    return at < 0 ? -1 : this.table[at]! - 1
  }

  /** Appends a live slot for `id`; the caller clears the one it replaces first. */
  push (id: string, head: SignedHead, cursor: number): number {
    if (this.length === this.states.length) this.grow()
    const slot = this.length++
    this.cursors[slot] = cursor
    const key = head.key
    if (head.prologue === undefined && PLAIN_ID.test(id) && id === bytesToHex(key)) {
      const at = slot * RECORD
      this.records.set(key, at)
      this.records.set(head.signer, at + SIGNER)
      this.records.set(head.root, at + ROOT)
      this.records.set(head.sig, at + SIG)
      this.view.setFloat64(at + LENGTH, head.length)
      this.view.setFloat64(at + FORK, head.fork)
      this.index(slot)
      this.states[slot] = PACKED
    } else {
      this.states[slot] = OBJECT
      this.objects.set(slot, { id, head })
      this.objectIndex.set(id, slot)
    }
    return slot
  }

  live (slot: number): boolean { return this.states[slot] !== EMPTY }
  cursor (slot: number): number { return this.cursors[slot]! }

  /** The head in a live slot (a copy: the buffer is reused). */
  head (slot: number): SignedHead {
    if (this.states[slot] === OBJECT) return this.objects.get(slot)!.head
    const at = slot * RECORD
    return {
      v: 1,
      key: this.records.slice(at, at + SIGNER),
      signer: this.records.slice(at + SIGNER, at + ROOT),
      length: this.view.getFloat64(at + LENGTH),
      fork: this.view.getFloat64(at + FORK),
      root: this.records.slice(at + ROOT, at + SIG),
      sig: this.records.slice(at + SIG, at + LENGTH)
    }
  }

  /** Empties a live slot (its id no longer found). */
  clear (slot: number): void {
    if (this.states[slot] === OBJECT) {
      this.objectIndex.delete(this.objects.get(slot)!.id)
      this.objects.delete(slot)
    } else if (this.states[slot] === PACKED) {
      const at = this.probe(this.records.subarray(slot * RECORD, slot * RECORD + SIGNER))
      if (at >= 0) this.table[at] = DELETED
    }
    this.states[slot] = EMPTY
  }

  /** Drops the empty slots, keeping the live ones in order. */
  compact (): void {
    const live: number[] = []
    for (let slot = 0; slot < this.length; slot++) if (this.states[slot] !== EMPTY) live.push(slot)
    const records = new Uint8Array(Math.max(1024, Math.ceil(live.length * 1.25)) * RECORD)
    const cursors = new Float64Array(records.length / RECORD)
    const states = new Uint8Array(records.length / RECORD)
    const objects = new Map<number, { id: string, head: SignedHead }>()
    live.forEach((from, to) => {
      records.set(this.records.subarray(from * RECORD, (from + 1) * RECORD), to * RECORD)
      cursors[to] = this.cursors[from]!
      states[to] = this.states[from]!
      const object = this.objects.get(from)
      if (object !== undefined) objects.set(to, object)
    })
    this.records = records
    this.view = new DataView(records.buffer)
    this.cursors = cursors
    this.states = states
    this.objects = objects
    this.objectIndex = new Map([...objects].map(([slot, { id }]) => [id, slot]))
    this.length = live.length
    this.rebuildTable(live.length)
  }

  private grow (): void {
    // A quarter more at a time past the first thousands: a doubling would leave up to half of a large log's buffer unused.
    const slots = Math.max(1024, this.states.length * 2 > 65_536 ? Math.ceil(this.states.length * 1.25) : this.states.length * 2)
    const records = new Uint8Array(slots * RECORD)
    records.set(this.records)
    const cursors = new Float64Array(slots)
    cursors.set(this.cursors)
    const states = new Uint8Array(slots)
    states.set(this.states)
    this.records = records
    this.view = new DataView(records.buffer)
    this.cursors = cursors
    this.states = states
  }

  /** Position in the table of the packed slot whose key is `key`, or -1. */
  private probe (key: Uint8Array): number {
    const mask = this.table.length - 1
    for (let at = this.hash(key) & mask; ; at = (at + 1) & mask) {
      const entry = this.table[at]!
      if (entry === FREE) return -1
      if (entry !== DELETED && this.sameKey(entry - 1, key)) return at
    }
  }

  private index (slot: number): void {
    // Live and deleted marks at most half the table: probes stay short, and a free mark always ends them.
    if ((this.tableUsed + 1) * 2 > this.table.length) this.rebuildTable(this.liveCount() + 1)
    const mask = this.table.length - 1
    let at = this.hash(this.records.subarray(slot * RECORD, slot * RECORD + SIGNER)) & mask
    while (this.table[at] !== FREE) at = (at + 1) & mask
    this.table[at] = slot + 1
    this.tableUsed++
  }

  private liveCount (): number {
    let n = 0
    for (const entry of this.table) if (entry > 0) n++
    return n
  }

  private rebuildTable (live: number): void {
    let size = 1024
    while (size < live * 4) size *= 2
    this.table = new Int32Array(size)
    this.tableUsed = 0
    const mask = size - 1
    for (let slot = 0; slot < this.length; slot++) {
      if (this.states[slot] !== PACKED) continue
      let at = this.hash(this.records.subarray(slot * RECORD, slot * RECORD + SIGNER)) & mask
      while (this.table[at] !== FREE) at = (at + 1) & mask
      this.table[at] = slot + 1
      this.tableUsed++
    }
  }

  /** Chain keys are hashes or public keys: their first bytes are as good a hash as any. */
  private hash (key: Uint8Array): number { return (key[0]! | (key[1]! << 8) | (key[2]! << 16) | (key[3]! << 24)) >>> 0 }

  private sameKey (slot: number, key: Uint8Array): boolean {
    const at = slot * RECORD
    for (let i = 0; i < 32; i++) if (this.records[at + i] !== key[i]) return false
    return true
  }
}
