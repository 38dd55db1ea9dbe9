/** A catalog checkpoint as language-neutral JSON (byte strings as { "$bytes": hex }) and back: the vectors' `input`. */
import { bytesToHex, type UserId } from '@healthchain/core'
import type { CatalogCheckpoint } from '../../src/catalog-checkpoint.js'

interface Hex { $bytes: string }
const b = (bytes: Uint8Array): Hex => ({ $bytes: bytesToHex(bytes) })
const u = (hex: Hex): Uint8Array => new Uint8Array(Buffer.from(hex.$bytes, 'hex'))

export interface CheckpointJson {
  catalogKey: Hex
  length: number
  treeHash: Hex
  tables: {
    registryKey: Hex | null
    keys: Hex
    userOfSlot: string[]
    chains: Array<[string, number]>
    closed: Array<{ from: Hex, user: string, length: number, successor: Hex }>
    signs: Array<[string, { sign: Hex, generation: number }]>
    usersBySign: Array<[Hex, string]>
  }
}

export function toJson (c: CatalogCheckpoint): CheckpointJson {
  const t = c.tables
  return {
    catalogKey: b(c.catalogKey),
    length: c.length,
    treeHash: b(c.treeHash),
    tables: {
      registryKey: t.registryKey === undefined ? null : b(t.registryKey),
      keys: b(t.keys),
      userOfSlot: [...t.userOfSlot],
      chains: t.chains.map(([user, slot]) => [user, slot]),
      closed: t.closed.map((x) => ({ from: b(x.from), user: x.user, length: x.length, successor: b(x.successor) })),
      signs: t.signs.map(([user, s]) => [user, { sign: b(s.sign), generation: s.generation }]),
      usersBySign: t.usersBySign.map(([sign, user]) => [b(sign), user])
    }
  }
}

export function fromJson (j: CheckpointJson): CatalogCheckpoint {
  const t = j.tables
  return {
    catalogKey: u(j.catalogKey),
    length: j.length,
    treeHash: u(j.treeHash),
    tables: {
      registryKey: t.registryKey === null ? undefined : u(t.registryKey),
      keys: u(t.keys),
      userOfSlot: t.userOfSlot as UserId[],
      chains: t.chains.map(([user, slot]) => [user as UserId, slot]),
      closed: t.closed.map((x) => ({ from: u(x.from), user: x.user as UserId, length: x.length, successor: u(x.successor) })),
      signs: t.signs.map(([user, s]) => [user as UserId, { sign: u(s.sign), generation: s.generation }]),
      usersBySign: t.usersBySign.map(([sign, user]) => [u(sign), user as UserId])
    }
  }
}
