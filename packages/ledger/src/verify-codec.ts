/**
 * How verification jobs and verdicts cross between threads.
 *
 * Structured cloning copies every byte array into an ArrayBuffer of its own
 * and rebuilds every object field by field: for a window of blocks and their
 * verdicts that cost both threads more than 10 µs per entry, a fifth of the
 * signature check itself. So:
 * - a job's blocks travel in one buffer that is transferred, not copied;
 * - verdicts travel in columns — numbers in typed arrays, every byte string
 *   (leaf hashes, ids, keys) in one transferred buffer, authors as strings —
 *   for the entries the rules read only the envelope of (exam, exercise,
 *   location), which are nearly all of them. The rest (genesis, consent,
 *   erasure, migrate, rekey, refusals, entries left for the rules to check)
 *   are cloned as they are.
 * Unpacking gives the same BlockResult objects verifyBlocks returned, with
 * byte strings as views into the transferred buffer.
 */
import { ENTRY_TYPES } from '@healthchain/core'
import type { RuleView } from './chain-rules.js'
import { HASH_BYTES, type BlockResult, type BlocksJob, type BlocksVerdict } from './verify-blocks.js'

export interface PackedMessage<T> {
  readonly message: T
  /** Buffers to transfer with the message (they are detached on the sending side). */
  readonly transfer: ArrayBuffer[]
}

/** A job whose blocks, segment keys and user keys are views into one buffer of their own. */
export function packJob (job: BlocksJob): PackedMessage<BlocksJob> {
  let total = 0
  for (const key of [...job.segments.map((s) => s.key), ...job.userSigns]) total += key.length
  for (const block of job.blocks) total += block?.length ?? 0
  const buffer = new ArrayBuffer(total)
  let at = 0
  // Also for the keys: a small view into a shared pool (as Node's Buffers are) would be cloned with the whole pool.
  const put = (bytes: Uint8Array): Uint8Array => {
    const view = new Uint8Array(buffer, at, bytes.length)
    view.set(bytes)
    at += bytes.length
    return view
  }
  const message: BlocksJob = {
    segments: job.segments.map((s) => ({ key: put(s.key), start: s.start })),
    start: job.start,
    blocks: job.blocks.map((block) => block === null ? null : put(block)),
    userSigns: job.userSigns.map(put),
    registry: job.registry
  }
  return { message, transfer: [buffer] }
}

export interface PackedVerdict {
  readonly count: number
  /**
   * Two bytes per block: its kind (ABSENT, OTHER, or 1 + the index of its type in ENTRY_TYPES) and its shape
   * (1 + the number of sealed recipients, 0 when not sealed).
   */
  readonly tags: Uint8Array
  /** Two per block: time and reg (NaN when there is none). */
  readonly numbers: Float64Array
  readonly authors: string[]
  /** Leaf hashes (32 bytes per block), then per compact block its id, verified key, and sealed recipients' keys. */
  readonly bytes: Uint8Array
  /** Results that are not compact, by position in the job. */
  readonly others: Array<[number, BlockResult]>
}

const ABSENT_KIND = 0
const OTHER_KIND = 255
const ID_BYTES = 16
const KEY_BYTES = 32
const ABSENT: BlockResult = Object.freeze({ status: 'absent' })

/** A result whose view the rules read only the envelope of. */
function isCompact (result: BlockResult): result is Extract<BlockResult, { status: 'decoded' }> {
  if (result.status !== 'decoded') return false
  const type = result.view.type
  return type === 'exam' || type === 'exercise' || type === 'location'
}

export function packVerdict (verdict: BlocksVerdict): PackedMessage<PackedVerdict> {
  const { results, hashes } = verdict
  const count = results.length
  let total = hashes.length
  for (const result of results) {
    if (!isCompact(result)) continue
    total += ID_BYTES + KEY_BYTES + KEY_BYTES * (result.view.sealed?.to.length ?? 0)
  }
  const tags = new Uint8Array(2 * count)
  const numbers = new Float64Array(2 * count)
  const authors = new Array<string>(count).fill('')
  const bytes = new Uint8Array(total)
  const others: Array<[number, BlockResult]> = []
  bytes.set(hashes, 0)
  let at = hashes.length
  const put = (b: Uint8Array): void => {
    bytes.set(b, at)
    at += b.length
  }
  results.forEach((result, i) => {
    if (result.status === 'absent') {
      tags[2 * i] = ABSENT_KIND
      return
    }
    if (!isCompact(result)) {
      tags[2 * i] = OTHER_KIND
      others.push([i, result])
      return
    }
    const { view, key } = result
    const to = view.sealed?.to
    tags[2 * i] = 1 + ENTRY_TYPES.indexOf(view.type)
    tags[2 * i + 1] = to === undefined ? 0 : 1 + to.length
    numbers[2 * i] = view.time
    numbers[2 * i + 1] = view.reg ?? Number.NaN
    authors[i] = view.author
    put(view.id)
    put(key)
    for (const r of to ?? []) put(r.key)
  })
  return {
    message: { count, tags, numbers, authors, bytes, others },
    transfer: [tags.buffer, numbers.buffer, bytes.buffer] as ArrayBuffer[]
  }
}

export function unpackVerdict (packed: PackedVerdict): BlocksVerdict {
  const { count, tags, numbers, authors, bytes } = packed
  const others = new Map(packed.others)
  const results = new Array<BlockResult>(count)
  let at = HASH_BYTES * count
  const take = (length: number): Uint8Array => {
    const view = bytes.subarray(at, at + length)
    at += length
    return view
  }
  for (let i = 0; i < count; i++) {
    const kind = tags[2 * i]!
    if (kind === ABSENT_KIND) {
      results[i] = ABSENT
      continue
    }
    if (kind === OTHER_KIND) {
      results[i] = others.get(i)!
      continue
    }
    const shape = tags[2 * i + 1]!
    const id = take(ID_BYTES)
    const key = take(KEY_BYTES)
    const recipients = shape - 1
    const to: Array<{ key: Uint8Array }> = []
    for (let r = 0; r < recipients; r++) to.push({ key: take(KEY_BYTES) })
    const reg = numbers[2 * i + 1]!
    const view = {
      id,
      author: authors[i]!,
      reg: Number.isNaN(reg) ? undefined : reg,
      time: numbers[2 * i]!,
      type: ENTRY_TYPES[kind - 1] as 'exam' | 'exercise' | 'location',
      sealed: recipients < 0 ? undefined : { to }
    } satisfies RuleView
    results[i] = { status: 'decoded', view, key }
  }
  return { results, hashes: bytes.subarray(0, HASH_BYTES * count) }
}
