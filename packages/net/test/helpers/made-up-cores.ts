/**
 * What any admitted member can make without anyone's permission: Hypercores
 * of its own (a Corestore in a temporary directory), each appended once, so
 * each gives a validly signed head — the signer is bound to the core key,
 * so a head verifies on its own — and, with a second store on the same
 * primary key, two histories of each core, so fork proofs of made-up cores
 * verify too. None of them is a healthchain chain: no peer serves them and
 * no registry member's genesis names them.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Corestore from 'corestore'
import { headOf, makeForkProof, type ForkProof, type SignedHead } from '@healthchain/net'
import type { Cleanup } from '@healthchain/net/testing'

async function tempStore (primaryKey: Buffer, cleanup: Cleanup): Promise<Corestore> {
  const dir = await mkdtemp(join(tmpdir(), 'healthchain-made-up-'))
  const store = new Corestore(dir, { primaryKey, unsafe: true })
  cleanup.push(async () => {
    await store.close()
    await rm(dir, { recursive: true, force: true })
  })
  return store
}

/** The head of core `name` of `store` after one append of `block` (the core closed again). */
async function headAfterOneAppend (store: Corestore, name: string, block: string): Promise<SignedHead> {
  const core = store.get({ name })
  await core.ready()
  await core.append(Buffer.from(block))
  const head = await headOf(core)
  await core.close()
  return head
}

/** `count` valid heads (length 1) of `count` made-up cores, made 100 at a time. */
export async function madeUpHeads (count: number, cleanup: Cleanup, label = 'junk'): Promise<SignedHead[]> {
  const store = await tempStore(randomBytes(32), cleanup)
  const heads: SignedHead[] = []
  for (let i = 0; i < count; i += 100) {
    const batch = Array.from({ length: Math.min(100, count - i) }, (_, j) => `${label}/${i + j}`)
    heads.push(...await Promise.all(batch.map(async (name) => await headAfterOneAppend(store, name, 'made up'))))
  }
  return heads
}

/** `count` valid fork proofs (two roots at length 1) of `count` made-up cores. */
export async function madeUpForkProofs (count: number, cleanup: Cleanup): Promise<ForkProof[]> {
  const primaryKey = randomBytes(32)
  const [one, two] = [await tempStore(primaryKey, cleanup), await tempStore(primaryKey, cleanup)]
  const proofs: ForkProof[] = []
  for (let i = 0; i < count; i++) {
    const name = `forked/${i}`
    proofs.push(makeForkProof(await headAfterOneAppend(one, name, 'history one'), await headAfterOneAppend(two, name, 'history two')))
  }
  return proofs
}
