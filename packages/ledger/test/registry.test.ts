/**
 * The registry feed: membership at every position, refusals that append
 * nothing, replay and verification on reopen, and following by replication.
 */
import { afterEach, describe, expect, it } from 'vitest'
import {
  REGISTRY_MANIFEST_VERSION, REGISTRY_VERSION, bytesToHex, registryCoreUserData, decodeRegistryEntry, encodeRegistryEntry, generatePartyKeys,
  newEntryId, signRegistryEntry, type InstitutionId, type RegistryPlainByType
} from '@healthchain/core'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import Corestore from 'corestore'
import Hypercore from 'hypercore'
import { Ledger, RegistryFeed } from '../src/index.js'
import {
  crypto, enrol, expectCode, genesisFor, link, makeConsortium, newUser, overwriteBlock, type TestConsortium
} from './helpers/consortium.js'
import { storeOf } from '@healthchain/ledger/testing'

let c: TestConsortium
afterEach(async () => { await c.cleanup() })

function admission (id: string, role: 'examiner' | 'inquirer' | 'regulator' = 'examiner'): RegistryPlainByType['admit'] {
  const keys = generatePartyKeys(crypto)
  return { institution: id as InstitutionId, name: id, role, sign: keys.sign.publicKey, box: keys.box.publicKey }
}

describe('registry membership', () => {
  it('answers who was what at every registry length through admit, suspend, reinstate and rotate', async () => {
    c = await makeConsortium()
    const registry = c.ledger.registry
    const { hospitalA, hospitalB } = c.institutions
    // 0 consortium, 1 hospital-a, 2 hospital-b, 3 agency, 4 regulator
    expect(registry.length).toBe(5)
    expect(registry.core.length).toBe(5)
    expect(registry.state.governanceKey).toEqual(c.governance.sign.publicKey)

    const suspended = await registry.append('suspend', { institution: hospitalB.id, reason: 'audit' }, c.governance.sign)
    const reinstated = await registry.append('reinstate', { institution: hospitalB.id }, c.governance.sign)
    const rotated = generatePartyKeys(crypto)
    await registry.append('rotate', { institution: hospitalA.id, sign: rotated.sign.publicKey, box: rotated.box.publicKey }, c.governance.sign)
    expect(suspended.type).toBe('suspend')
    expect(reinstated.type).toBe('reinstate')
    expect(registry.length).toBe(8)
    expect(registry.core.length).toBe(8)

    const state = registry.state
    expect(state.institutionAt(hospitalB.id, 2)).toBeUndefined()
    expect(state.institutionAt(hospitalB.id, 3)).toMatchObject({ status: 'active', role: 'examiner', since: 2 })
    expect(state.institutionAt(hospitalB.id, 5)?.status).toBe('active')
    expect(state.institutionAt(hospitalB.id, 6)).toMatchObject({ status: 'suspended', since: 5 })
    expect(state.institutionAt(hospitalB.id, 7)).toMatchObject({ status: 'active', since: 6 })
    expect(state.institutionAt(hospitalB.id)?.status).toBe('active')

    expect(state.institutionAt(hospitalA.id, 7)?.sign).toEqual(hospitalA.keys.sign.publicKey)
    expect(state.institutionAt(hospitalA.id, 8)?.sign).toEqual(rotated.sign.publicKey)
    expect(state.institutionAt(hospitalA.id, 8)?.box).toEqual(rotated.box.publicKey)
    expect(state.historyOf(hospitalA.id).map((r) => r.since)).toEqual([1, 7])
    expect(state.institutions(4).map((r) => r.id)).toEqual(['hospital-a', 'hospital-b', 'agency'])
    expect(state.institutions().map((r) => r.role)).toEqual(['examiner', 'examiner', 'inquirer', 'regulator'])
  })

  it('refuses a conflicting append with its code and appends nothing', async () => {
    c = await makeConsortium()
    const registry = c.ledger.registry
    const { hospitalA, hospitalB } = c.institutions
    await registry.append('suspend', { institution: hospitalB.id }, c.governance.sign)
    const before = registry.core.length

    const refusals: Array<[Promise<unknown>, 'REGISTRY_CONFLICT' | 'BAD_SIGNATURE']> = [
      // already admitted
      [registry.append('admit', admission(hospitalA.id), c.governance.sign), 'REGISTRY_CONFLICT'],
      // a key another institution already holds
      [registry.append('admit', { ...admission('hospital-c'), sign: hospitalA.keys.sign.publicKey }, c.governance.sign), 'REGISTRY_CONFLICT'],
      [registry.append('suspend', { institution: hospitalB.id }, c.governance.sign), 'REGISTRY_CONFLICT'],
      [registry.append('reinstate', { institution: hospitalA.id }, c.governance.sign), 'REGISTRY_CONFLICT'],
      [registry.append('rotate', { institution: 'hospital-z' as InstitutionId, sign: generatePartyKeys(crypto).sign.publicKey, box: generatePartyKeys(crypto).box.publicKey }, c.governance.sign), 'REGISTRY_CONFLICT'],
      // rotating to a key that was ever used (here: hospital-b's) is refused too
      [registry.append('rotate', { institution: hospitalA.id, sign: hospitalB.keys.sign.publicKey, box: generatePartyKeys(crypto).box.publicKey }, c.governance.sign), 'REGISTRY_CONFLICT'],
      // signed by a key that is not the governance key
      [registry.append('admit', admission('hospital-c'), hospitalA.keys.sign), 'BAD_SIGNATURE']
    ]
    for (const [attempt, code] of refusals) {
      await expectCode(attempt, code)
      expect(registry.core.length).toBe(before)
      expect(registry.length).toBe(before)
    }
    // The registry is still whole: a valid append lands at the next position and survives a reopen.
    await registry.append('admit', admission('hospital-c'), c.governance.sign)
    expect(registry.core.length).toBe(before + 1)
    await c.ledger.close()
    expect((await c.reopen()).registry.length).toBe(before + 1)
  })

  it('serialises concurrent appends, each signed for the position it lands at', async () => {
    c = await makeConsortium()
    const registry = c.ledger.registry
    const before = registry.length
    const ids = ['clinic-1', 'clinic-2', 'clinic-3', 'clinic-4', 'clinic-5']
    const entries = await Promise.all(ids.map(async (id) => await registry.append('admit', admission(id), c.governance.sign)))
    expect(entries).toHaveLength(5)
    expect(registry.length).toBe(before + 5)
    expect(registry.core.length).toBe(before + 5)
    // A conflicting append racing valid ones is refused alone.
    const racing = await Promise.allSettled([
      registry.append('suspend', { institution: 'clinic-1' as InstitutionId }, c.governance.sign),
      registry.append('suspend', { institution: 'clinic-1' as InstitutionId }, c.governance.sign),
      registry.append('suspend', { institution: 'clinic-2' as InstitutionId }, c.governance.sign)
    ])
    expect(racing.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect(registry.core.length).toBe(before + 7)

    await c.ledger.close()
    const reopened = await c.reopen()
    expect(reopened.registry.length).toBe(before + 7)
    expect(reopened.registry.state.institutions().map((r) => r.id)).toEqual(expect.arrayContaining(ids))
  })
})

describe('registry entries signed elsewhere', () => {
  it('appends an entry the governance key signed for the next position; refuses a wrong key, a stale position or a conflict, appending nothing', async () => {
    c = await makeConsortium()
    const registry = c.ledger.registry
    const unsigned = (plain: RegistryPlainByType['admit']) => ({ v: REGISTRY_VERSION as 1, type: 'admit' as const, id: newEntryId(crypto), time: Date.now(), plain })
    const signFor = (plain: RegistryPlainByType['admit'], seq: number, secretKey = c.governance.sign.secretKey) =>
      signRegistryEntry(unsigned(plain), { chainKey: registry.key, seq }, secretKey, crypto)

    const length = registry.length
    const clinic = admission('clinic-c')
    await registry.appendSigned(signFor(clinic, length))
    expect(registry.length).toBe(length + 1)
    expect(registry.state.institutionAt('clinic-c')?.role).toBe('examiner')

    await expectCode(registry.appendSigned(signFor(admission('clinic-d'), length + 1, generatePartyKeys(crypto).sign.secretKey)), 'BAD_SIGNATURE')
    await expectCode(registry.appendSigned(signFor(admission('clinic-d'), length)), 'BAD_SIGNATURE')
    await expectCode(registry.appendSigned(signFor(clinic, length + 1)), 'REGISTRY_CONFLICT')
    expect(registry.length).toBe(length + 1)
    expect(registry.core.length).toBe(length + 1)
  })
})

describe('registry on disk', () => {
  it('replays and verifies the registry when the ledger reopens', async () => {
    c = await makeConsortium()
    await c.ledger.registry.append('suspend', { institution: c.institutions.agency.id }, c.governance.sign)
    const key = c.ledger.registry.key
    const members = c.ledger.registry.state.institutions().map((r) => ({ id: r.id, role: r.role, status: r.status, sign: r.sign }))
    await c.ledger.close()

    const reopened = await c.reopen()
    expect(reopened.hasRegistry).toBe(true)
    expect(bytesToHex(reopened.registry.key)).toBe(bytesToHex(key))
    expect(reopened.registry.length).toBe(6)
    expect(reopened.registry.state.name).toBe('Test consortium')
    expect(reopened.registry.state.institutions().map((r) => ({ id: r.id, role: r.role, status: r.status, sign: r.sign }))).toEqual(members)
    // The host still appends (with its own core key pair) what the governance key signs, at the next position.
    await reopened.registry.append('reinstate', { institution: c.institutions.agency.id }, c.governance.sign)
    expect(reopened.registry.length).toBe(7)
  })

  it('refuses to open a registry whose stored block was altered (BAD_REGISTRY), and releases the directory', async () => {
    c = await makeConsortium()
    const core = c.ledger.registry.core
    const admitB = decodeRegistryEntry((await core.get(2, { wait: false }))!)
    if (admitB.type !== 'admit') throw new Error('block 2 should admit hospital-b')
    await overwriteBlock(core, 2, encodeRegistryEntry({ ...admitB, plain: { ...admitB.plain, role: 'regulator' } }))
    await c.ledger.close()

    await expectCode(c.reopen(), 'BAD_REGISTRY')
    // A failed open must not keep the store's lock: opening again fails the same way, not on a lock.
    await expectCode(Ledger.open({ dir: c.ledgerDir, crypto }), 'BAD_REGISTRY')
  })

  it('creates at most one registry per ledger', async () => {
    c = await makeConsortium()
    await expectCode(c.ledger.createRegistry(c.governance.sign, 'Again'), 'BAD_REGISTRY')
    await expectCode(c.ledger.followRegistry(c.ledger.registry.key), 'BAD_REGISTRY')
    const bare = await c.openPeer('bare')
    expect(bare.hasRegistry).toBe(false)
    expect(() => bare.registry).toThrow(expect.objectContaining({ code: 'BAD_REGISTRY' }))
  })
})

describe('following the registry', () => {
  it('a second ledger follows the registry by key over replication and keeps it across a restart', async () => {
    c = await makeConsortium()
    const writer = c.ledger.registry
    const peer = await c.openPeer('agency', { institution: c.institutions.agency.id })
    const followed = await peer.followRegistry(writer.key)
    expect(followed.length).toBe(0)

    const wire = link(c.ledger, peer)
    try {
      await wire.fetch(followed.core, writer.core.length)
      await followed.refresh()
      expect(followed.length).toBe(writer.length)
      expect(followed.state.governanceKey).toEqual(c.governance.sign.publicKey)
      expect(followed.state.institutions().map((r) => r.id)).toEqual(writer.state.institutions().map((r) => r.id))

      // Later entries arrive the same way.
      await writer.append('suspend', { institution: c.institutions.hospitalB.id }, c.governance.sign)
      await wire.fetch(followed.core, writer.core.length)
      await followed.refresh()
      expect(followed.length).toBe(writer.length)
      expect(followed.state.institutionAt(c.institutions.hospitalB.id)?.status).toBe('suspended')
    } finally {
      wire.destroy()
    }

    // A follower cannot write the registry, and an inquirer's node cannot enrol users.
    await expectCode(followed.append('reinstate', { institution: c.institutions.hospitalB.id }, c.governance.sign), 'NOT_CUSTODIAN')
    const user = newUser()
    await expectCode(peer.enrol(genesisFor(user, c.institutions.agency.id, await peer.chainKeyFor(user.userId))), 'ROLE_FORBIDDEN')
    expect(peer.hasChain(user.userId)).toBe(false)

    await peer.close()
    const again = await c.openPeer('agency', { institution: c.institutions.agency.id })
    expect(bytesToHex(again.registry.key)).toBe(bytesToHex(writer.key))
    expect(again.registry.length).toBe(writer.length)
    // The writer's own ledger is unaffected by all of this.
    await enrol(c.ledger, newUser())
  })
})

describe('the registry key names the governance key', () => {
  function consortiumBlock (registryKey: Uint8Array, signer: ReturnType<typeof generatePartyKeys>) {
    return signRegistryEntry(
      { v: REGISTRY_VERSION, type: 'consortium', id: newEntryId(crypto), time: Date.now(), plain: { name: 'Forged', governance: signer.sign.publicKey } },
      { chainKey: registryKey, seq: 0 }, signer.sign.secretKey, crypto)
  }

  it('the host creates the registry core from the governance public key alone; block 0 signed elsewhere is appended, one naming another key refused (BAD_SIGNATURE)', async () => {
    c = await makeConsortium()
    const host = await c.openPeer('host', { institution: c.institutions.hospitalA.id })
    const registry = await host.createRegistryCore(c.governance.sign.publicKey)
    expect(registry.length).toBe(0)
    expect(bytesToHex(registry.key)).not.toBe(bytesToHex(c.governance.sign.publicKey))

    const intruder = generatePartyKeys(crypto)
    await expectCode(registry.appendSigned(consortiumBlock(registry.key, intruder)), 'BAD_SIGNATURE')
    expect(registry.core.length).toBe(0)
    await registry.appendSigned(consortiumBlock(registry.key, c.governance))
    expect(registry.state.governanceKey).toEqual(c.governance.sign.publicKey)
  })

  it('a replica refuses block 0 naming a key other than the one the registry core commits to, even validly self-signed (BAD_REGISTRY)', async () => {
    c = await makeConsortium()
    // A host that bypasses the feed: a core bound to the governance key, block 0 naming its own key.
    const store = new Corestore(join(c.dir, 'rogue'), { active: false })
    try {
      const rogue = await RegistryFeed.create(store, c.governance.sign.publicKey, crypto)
      const intruder = generatePartyKeys(crypto)
      await rogue.core.append(encodeRegistryEntry(consortiumBlock(rogue.key, intruder)))

      const peer = await c.openPeer('regulator')
      const followed = await peer.followRegistry(rogue.key)
      const initiator = store.replicate(true)
      const responder = storeOf(peer).replicate(false)
      initiator.pipe(responder).pipe(initiator)
      initiator.on('error', () => {})
      responder.on('error', () => {})
      try {
        followed.core.replicate(responder)
        await followed.core.download({ start: 0, end: 1 }).done()
        await expectCode(followed.refresh(), 'BAD_REGISTRY')
        expect(followed.length).toBe(0)
      } finally {
        initiator.destroy()
        responder.destroy()
      }
      await rogue.close()
    } finally {
      await store.close()
    }
  })

  it('refuses a registry whose core key is the governance key itself, as older versions made it (BAD_REGISTRY)', async () => {
    c = await makeConsortium()
    const store = new Corestore(join(c.dir, 'old'), { active: false })
    let key: Uint8Array
    try {
      const core = store.get({ keyPair: { publicKey: c.governance.sign.publicKey, secretKey: c.governance.sign.secretKey }, active: false })
      await core.ready()
      key = core.key!
      await core.append(encodeRegistryEntry(consortiumBlock(key, c.governance)))
      await core.close()
      await expectCode(RegistryFeed.open(store, key, crypto), 'BAD_REGISTRY')
    } finally {
      await store.close()
    }
  })
})

describe('registry key vectors', () => {
  it('the registry key of core\'s vectors is the hash of the manifest naming the host key and binding the governance key', () => {
    const vectors = (name: string): any => JSON.parse(readFileSync(new URL(`../../core/test/vectors/${name}`, import.meta.url), 'utf8'))
    const registry = vectors('registry.json')
    const parties = vectors('parties.json')
    const governance = Buffer.from(parties.keys[registry.governance].signPublicKey, 'hex')
    const host = Buffer.from(parties.keys[registry.host].signPublicKey, 'hex')
    expect(bytesToHex(registryCoreUserData(governance))).toBe(registry.coreUserData)
    const key = Hypercore.key({ version: REGISTRY_MANIFEST_VERSION, signers: [{ publicKey: host }], userData: registryCoreUserData(governance) })
    expect(bytesToHex(key)).toBe(registry.registryKey)
  })
})
