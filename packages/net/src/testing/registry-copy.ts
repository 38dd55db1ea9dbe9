import type { Ledger } from '@healthchain/ledger'

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
