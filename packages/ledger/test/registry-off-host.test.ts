/**
 * The node hosting the registry holds no governance secret: its store keeps
 * only a core key pair of its own, and nothing it holds can make a registry
 * entry valid.
 */
import { afterEach, describe, expect, it } from 'vitest'
import {
  REGISTRY_VERSION, encodeRegistryEntry, newEntryId, signRegistryEntry, type InstitutionId
} from '@healthchain/core'
import { findOnDisk, secretKeyMarkers } from '../../../test/helpers/disk-scan.js'
import { Ledger } from '../src/index.js'
import { crypto, expectCode, link, makeConsortium, type TestConsortium } from './helpers/consortium.js'

let c: TestConsortium
afterEach(async () => { await c.cleanup() })

describe('the registry host holds no governance secret', () => {
  it('leaves no byte of the governance secret key in any file of the host\'s store after creating the registry and admitting', async () => {
    c = await makeConsortium()
    await c.ledger.registry.append('suspend', { institution: c.institutions.agency.id }, c.governance.sign)
    await c.ledger.close()
    await c.reopen()
    await c.ledger.close()

    expect(await findOnDisk(c.ledgerDir, secretKeyMarkers('governance', c.governance.sign.secretKey))).toEqual([])
  })

  it('refuses an entry the host signs with the registry core\'s own key pair or its institution key (BAD_SIGNATURE), appending nothing', async () => {
    c = await makeConsortium()
    const registry = c.ledger.registry
    const hostCoreKeys = registry.core.keyPair
    expect(hostCoreKeys?.secretKey).toBeDefined()
    expect(registry.core.writable).toBe(true)
    const before = registry.core.length

    await expectCode(registry.append('suspend', { institution: c.institutions.hospitalB.id }, hostCoreKeys!), 'BAD_SIGNATURE')
    await expectCode(registry.append('suspend', { institution: c.institutions.hospitalB.id }, c.institutions.hospitalA.keys.sign), 'BAD_SIGNATURE')
    expect(registry.core.length).toBe(before)
    expect(registry.state.institutionAt(c.institutions.hospitalB.id)?.status).toBe('active')
  })

  it('a block the host writes straight into the core, signed with the core\'s key pair, is refused on reopen and by a replica (BAD_REGISTRY)', async () => {
    c = await makeConsortium()
    const registry = c.ledger.registry
    const hostCoreKeys = registry.core.keyPair!
    const seq = registry.core.length
    const forged = signRegistryEntry(
      { v: REGISTRY_VERSION, type: 'suspend', id: newEntryId(crypto), time: Date.now(), plain: { institution: 'hospital-b' as InstitutionId } },
      { chainKey: registry.key, seq }, hostCoreKeys.secretKey, crypto)
    // What an operator with the store could do: bypass the feed and append raw.
    await registry.core.append(encodeRegistryEntry(forged))

    const peer = await c.openPeer('regulator')
    const followed = await peer.followRegistry(registry.key)
    const wire = link(c.ledger, peer)
    try {
      await wire.fetch(followed.core, seq + 1)
      await expectCode(followed.refresh(), 'BAD_REGISTRY')
      expect(followed.length).toBe(seq)
    } finally {
      wire.destroy()
    }

    await c.ledger.close()
    await expectCode(c.reopen(), 'BAD_REGISTRY')
    await expectCode(Ledger.open({ dir: c.ledgerDir, crypto }), 'BAD_REGISTRY')
  })
})
