/**
 * Stored blocks as the index writing thread is sent them to decode: one
 * buffer holding them end to end, their positions and where each ends.
 * One copy on this side, moved (not copied again) across.
 */
import type { PositionedBlock } from '@healthchain/ledger'

export interface PackedBlocks {
  readonly seqs: Int32Array
  /** Where each block ends in `bytes` (the next one starts there). */
  readonly ends: Int32Array
  readonly bytes: Uint8Array
}

export function packBlocks (blocks: readonly PositionedBlock[]): PackedBlocks {
  const seqs = new Int32Array(blocks.length)
  const ends = new Int32Array(blocks.length)
  let size = 0
  blocks.forEach(({ seq, block }, i) => {
    seqs[i] = seq
    size += block.byteLength
    ends[i] = size
  })
  const bytes = new Uint8Array(size)
  blocks.forEach(({ block }, i) => { bytes.set(block, ends[i]! - block.byteLength) })
  return { seqs, ends, bytes }
}

export function unpackBlocks (packed: PackedBlocks): PositionedBlock[] {
  const { seqs, ends, bytes } = packed
  if (seqs.length !== ends.length || (ends.length > 0 && ends[ends.length - 1] !== bytes.byteLength)) {
    throw new RangeError('packed blocks: the positions, ends and bytes do not match')
  }
  const out: PositionedBlock[] = []
  let start = 0
  for (let i = 0; i < seqs.length; i++) {
    const end = ends[i]!
    if (end < start) throw new RangeError('packed blocks: the ends go backwards')
    out.push({ seq: seqs[i]!, block: bytes.subarray(start, end) })
    start = end
  }
  return out
}

/** The buffers of a packed batch, to move rather than copy (the sender must not use them after). */
export function blocksTransferList (packed: PackedBlocks): ArrayBuffer[] {
  return [packed.seqs, packed.ends, packed.bytes].map((a) => a.buffer as ArrayBuffer)
}
