/**
 * The fork registry on disk (src/fork-registry.ts, src/fork-record.ts):
 * known-answer record vectors, records written before they carried a
 * version still read, both proof kinds kept and paged for forks-sync.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import Corestore from 'corestore'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { utf8ToBytes } from '@healthchain/core'
import { sodiumProvider } from '@healthchain/core/sodium'
import { readConsistencyNodes } from '@healthchain/ledger'
import { NetError } from '../src/errors.js'
import { FORK_PROOFS_CORE, ForkRegistry } from '../src/fork-registry.js'
import { FORK_RECORD_VERSION, decodeForkRecord, encodeForkRecord } from '../src/fork-record.js'
import {
  decodeAnyForkProof, encodeAnyForkProof, forkProofCodec, headOf, makeConsistencyForkProof, type AnyForkProof, type ConsistencyForkProof
} from '../src/wire/index.js'
import { localCoresOf } from '@healthchain/ledger/testing'

interface RecordsFile {
  valid: Array<{ name: string, hex: string, proof: string }>
  rejects: Array<{ name: string, hex: string, code: string }>
}

const records = JSON.parse(readFileSync(new URL('./vectors/fork-records.json', import.meta.url), 'utf8')) as RecordsFile
const hex = bytesToHex

const dirs: string[] = []
const stores: Corestore[] = []
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close()
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function tempStore (opts: ConstructorParameters<typeof Corestore>[1] = {}): Corestore {
  const dir = mkdtempSync(join(tmpdir(), 'hc-fork-registry-'))
  dirs.push(dir)
  const store = new Corestore(dir, opts)
  stores.push(store)
  return store
}

/** A version 2 proof of a fresh chain: two stores with one primary key, histories of lengths 3 and 4 that part at block 1. */
async function consistencyProof (label: string): Promise<ConsistencyForkProof> {
  const primaryKey = new Uint8Array(32).fill(label.length)
  const one = tempStore({ primaryKey, unsafe: true }).get({ name: `chain/${label}` })
  const two = tempStore({ primaryKey, unsafe: true }).get({ name: `chain/${label}` })
  await Promise.all([one.ready(), two.ready()])
  await one.append(['0', '1', '2'].map((b) => utf8ToBytes(`${label} ${b}`)))
  await two.append(['0', '1 other', '2 other', '3 other'].map((b) => utf8ToBytes(`${label} ${b}`)))
  return makeConsistencyForkProof(await headOf(one), await headOf(two), (await readConsistencyNodes(two, 3, 4))!)
}

describe('fork records (known-answer vectors)', () => {
  it.each(records.valid.map((v) => [v.name, v] as const))('reads %s', (_name, v) => {
    const proof = decodeForkRecord(hexToBytes(v.hex))
    expect(hex(encodeAnyForkProof(proof))).toBe(v.proof)
    // What this build writes is always a version 2 record.
    expect(hex(encodeForkRecord(proof))).toBe(`0${FORK_RECORD_VERSION}${v.proof}`)
  })

  it.each(records.rejects.map((v) => [v.name, v] as const))('refuses %s', (_name, v) => {
    let err: unknown
    try {
      decodeForkRecord(hexToBytes(v.hex))
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(NetError)
    expect((err as NetError).code).toBe(v.code)
  })
})

describe('ForkRegistry', () => {
  const legacy = records.valid.find((v) => v.name.startsWith('version 1'))!

  it('reads a record written before records had a version beside both kinds, skips what it cannot read, and writes version 2 records', async () => {
    const store = tempStore()
    const v2 = await consistencyProof('chain-x')
    // A store as an older build left it: a bare ForkProof v1 — then a version 2 record, a damaged block and a later build's record.
    const core = store.get({ name: FORK_PROOFS_CORE, active: false })
    await core.ready()
    await core.append([hexToBytes(legacy.hex), encodeForkRecord(v2), new Uint8Array([0x02, 0xa3]), new Uint8Array([0x07, 0xa0])])
    await core.close()

    const registry = await ForkRegistry.open(localCoresOf(store), sodiumProvider)
    const v1 = forkProofCodec.decode(hexToBytes(legacy.hex))
    expect(registry.list()).toEqual([v1, v2])
    expect(registry.skipped).toBe(2)
    expect(registry.get(hex(v1.a.key))).toEqual(v1)
    expect(registry.get(hex(v2.a.key))?.v).toBe(2)

    // A third chain's proof is written as a version 2 record; the same chain again is not added.
    const v2b = await consistencyProof('chain-yy')
    expect(await registry.add(v2b)).toBe(true)
    expect(await registry.add(v2b)).toBe(false)
    expect(await registry.add({ ...v2b, a: { ...v2b.a, sig: new Uint8Array(64) } } as AnyForkProof)).toBe(false)
    await registry.close()

    const again = store.get({ name: FORK_PROOFS_CORE, active: false })
    await again.ready()
    expect(again.length).toBe(5)
    expect((await again.get(4))![0]).toBe(FORK_RECORD_VERSION)
    await again.close()
    const reopened = await ForkRegistry.open(localCoresOf(store), sodiumProvider)
    expect(reopened.list()).toEqual([v1, v2, v2b])
    await reopened.close()
  })

  it('pages the proofs in the order recorded, encoded for forks-sync; a cursor past the end starts again', async () => {
    const store = tempStore()
    const registry = await ForkRegistry.open(localCoresOf(store), sodiumProvider)
    const proofs = [decodeForkRecord(hexToBytes(legacy.hex)), await consistencyProof('chain-x'), await consistencyProof('chain-yy')]
    for (const proof of proofs) expect(await registry.add(proof)).toBe(true)
    const first = registry.since(0, 2)
    expect(first.proofs.map((p) => decodeAnyForkProof(p))).toEqual(proofs.slice(0, 2))
    expect([first.next, first.more]).toEqual([2, true])
    const second = registry.since(first.next, 2)
    expect(second.proofs.map((p) => decodeAnyForkProof(p))).toEqual(proofs.slice(2))
    expect([second.next, second.more]).toEqual([3, false])
    expect(registry.since(3, 2)).toEqual({ proofs: [], next: 3, more: false })
    expect(registry.since(9, 2).proofs).toHaveLength(2)
    await registry.close()
  })
})
