import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import { Ledger } from '@healthchain/ledger'
import { registerCleanup, type OnCleanup } from '@healthchain/ledger/testing'

/**
 * Copies the registry from `from` to `to` over an in-process replication
 * stream: learns its signed length, downloads the blocks before `end` only
 * (all without `end`), then applies them unless `apply` is false (the
 * caller refreshes the registry later). A copy part-way through, as a
 * device has it while the registry is still arriving block by block — the
 * state no timing on a real network produces on demand.
 */
export async function copyRegistry (to: Ledger, from: Ledger, end?: number, { apply = true }: { apply?: boolean } = {}): Promise<void> {
  const local = to.registry.core
  const a = local.replicate(true)
  const b = from.registry.core.replicate(false)
  a.pipe(b).pipe(a)
  try {
    await local.update({ wait: true })
    await local.download({ start: 0, end: end ?? local.length }).done()
  } finally {
    a.destroy()
    b.destroy()
  }
  if (apply) await to.registry.refresh()
}

/**
 * A ledger in a temporary directory whose registry knows `from`'s signed
 * length but holds only the blocks before `end`: a source that can give a
 * device only part of the registry, whatever the device asks for (a light
 * peer downloads all of it as soon as it is connected). Closed and removed
 * by `onCleanup`.
 */
export async function partialRegistry (from: Ledger, end: number, onCleanup: OnCleanup): Promise<Ledger> {
  const dir = await mkdtemp(join(tmpdir(), 'healthchain-registry-part-'))
  const ledger = await Ledger.open({ dir, crypto, verifyWorkers: 0 })
  registerCleanup(onCleanup, async () => {
    await ledger.close()
    await rm(dir, { recursive: true, force: true })
  })
  await ledger.followRegistry(from.registry.key)
  await copyRegistry(ledger, from, end)
  return ledger
}
