/**
 * The catalog's chain keys, packed: each key it ever recorded (a chain's,
 * and a moved chain's former one) gets a slot, a number from 0 up; the keys
 * sit in one growing buffer, 32 bytes a slot, found through an
 * open-addressing hash table of slot numbers keyed by the key's bytes. A
 * node may hold a million chains: a key as a Uint8Array object and a hex
 * string in a Map cost about 250 bytes more a chain than this. Keys are
 * never removed. Memory only: nothing here is written.
 */
const KEY_BYTES = 32
/** Table marks: slot + 1, or free. */
const FREE = 0

export class KeyTable {
  private keys = new Uint8Array(KEY_BYTES * 1024)
  private table = new Int32Array(4096)
  /**
   * Whether the key of each slot was added as a Buffer (a Hypercore's key):
   * handed back as one, as the catalog did when it kept the key it was given.
   */
  private buffers = new Uint8Array(1024)
  /** Slots used. */
  size = 0

  /** The slot of `key`, or -1 if it was never added. */
  find (key: Uint8Array): number {
    if (key.length !== KEY_BYTES) return -1
    const mask = this.table.length - 1
    for (let at = hash(key) & mask; ; at = (at + 1) & mask) {
      const entry = this.table[at]!
      if (entry === FREE) return -1
      if (this.same(entry - 1, key)) return entry - 1
    }
  }

  /** The slot of `key`, added if new. */
  add (key: Uint8Array): number {
    const found = this.find(key)
    if (found >= 0) return found
    if (key.length !== KEY_BYTES) throw new RangeError(`expected a ${KEY_BYTES}-byte key, got ${key.length}`)
    if ((this.size + 1) * KEY_BYTES > this.keys.length) {
      // A quarter more at a time past the first thousands: a doubling would leave up to half of a large buffer unused.
      const slots = this.keys.length / KEY_BYTES
      const grown = new Uint8Array(Math.ceil(slots > 32_768 ? slots * 1.25 : slots * 2) * KEY_BYTES)
      grown.set(this.keys)
      this.keys = grown
      const buffers = new Uint8Array(grown.length / KEY_BYTES)
      buffers.set(this.buffers)
      this.buffers = buffers
    }
    const slot = this.size++
    this.keys.set(key, slot * KEY_BYTES)
    this.buffers[slot] = Buffer.isBuffer(key) ? 1 : 0
    // Half the table at most in use: probes stay short and always end at a free mark.
    if (this.size * 2 > this.table.length) this.rehash(this.table.length * 2)
    else this.place(slot)
    return slot
  }

  /** A table of `keys`, 32 bytes a slot (a catalog checkpoint's): MALFORMED-free, but a key given twice throws a RangeError. */
  static of (keys: Uint8Array): KeyTable {
    if (keys.length % KEY_BYTES !== 0) throw new RangeError(`expected whole ${KEY_BYTES}-byte keys, got ${keys.length} bytes`)
    const table = new KeyTable()
    const slots = keys.length / KEY_BYTES
    table.keys = new Uint8Array(Math.max(1024, Math.ceil(slots * 1.25)) * KEY_BYTES)
    table.keys.set(keys)
    table.buffers = new Uint8Array(table.keys.length / KEY_BYTES)
    table.size = slots
    let size = 4096
    while (size < slots * 2) size *= 2
    table.rehash(size)
    for (let slot = 0; slot < slots; slot++) {
      if (table.find(table.keys.subarray(slot * KEY_BYTES, (slot + 1) * KEY_BYTES)) !== slot) throw new RangeError(`key of slot ${slot} is given twice`)
    }
    return table
  }

  /** Every key, slot by slot (a view: copy it before the table grows again). */
  packed (): Uint8Array { return this.keys.subarray(0, this.size * KEY_BYTES) }

  /** The key in `slot` (a copy). */
  key (slot: number): Uint8Array {
    const key = this.keys.slice(slot * KEY_BYTES, (slot + 1) * KEY_BYTES)
    return this.buffers[slot] === 1 ? Buffer.from(key.buffer, key.byteOffset, KEY_BYTES) : key
  }

  private place (slot: number): void {
    const mask = this.table.length - 1
    let at = hash(this.keys.subarray(slot * KEY_BYTES, (slot + 1) * KEY_BYTES)) & mask
    while (this.table[at] !== FREE) at = (at + 1) & mask
    this.table[at] = slot + 1
  }

  private rehash (size: number): void {
    this.table = new Int32Array(size)
    for (let slot = 0; slot < this.size; slot++) this.place(slot)
  }

  private same (slot: number, key: Uint8Array): boolean {
    const at = slot * KEY_BYTES
    for (let i = 0; i < KEY_BYTES; i++) if (this.keys[at + i] !== key[i]) return false
    return true
  }
}

/** Chain keys are hashes or public keys: their first bytes are as good a hash as any. */
function hash (key: Uint8Array): number { return (key[0]! | (key[1]! << 8) | (key[2]! << 16) | (key[3]! << 24)) >>> 0 }
