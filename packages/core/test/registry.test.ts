import { describe, expect, it } from 'vitest'
import {
  decodeRegistryEntry, encodeRegistryEntry, equal, governanceKeyOfRegistryCore, REGISTRY_CORE_DOMAIN, registryCoreUserData,
  RegistryState, signRegistryEntry, verifyRegistrySignature,
  type CryptoProvider, type RegistryEntry, type RegistryEntryType, type SigningKeyPair
} from '@healthchain/core'
import { fixedBytes } from './helpers/deterministic-crypto.js'
import { expectCode, PROVIDERS } from './helpers/expect-code.js'
import { institution, T0 } from './helpers/fixtures.js'

describe.each(PROVIDERS)('RegistryState under $name', (crypto: CryptoProvider) => {
  const registryKey = fixedBytes('registry-test/key')
  const otherRegistryKey = fixedBytes('registry-test/other-key')
  const governance = crypto.signKeyPairFromSeed(fixedBytes('registry-test/governance'))
  const intruder = crypto.signKeyPairFromSeed(fixedBytes('registry-test/intruder'))
  const hospital = institution('hospital', crypto)
  const lab = institution('lab', crypto)
  const agency = institution('agency', crypto)
  const hospital2 = institution('hospital-rotated', crypto)

  let counter = 0
  /** A signed registry block; `plain` is loosely typed so tests can name ids as plain strings. */
  function block (
    seq: number, type: RegistryEntryType, plain: Record<string, unknown>, opts: { signer?: SigningKeyPair, key?: Uint8Array } = {}
  ): RegistryEntry {
    const unsigned = { v: 1 as const, type, id: fixedBytes(`registry-test/id/${counter++}`, 16), time: T0 + seq, plain }
    return signRegistryEntry(unsigned as never, { chainKey: opts.key ?? registryKey, seq }, (opts.signer ?? governance).secretKey, crypto)
  }
  const consortium = (opts: { signer?: SigningKeyPair, governanceKey?: Uint8Array } = {}) =>
    block(0, 'consortium', { name: 'Test', governance: opts.governanceKey ?? governance.publicKey }, opts)
  const admit = (seq: number, who: typeof hospital, role: 'examiner' | 'inquirer' | 'regulator' = 'examiner', opts: { signer?: SigningKeyPair, key?: Uint8Array } = {}) =>
    block(seq, 'admit', { institution: who.id, name: who.id, role, sign: who.sign.publicKey, box: who.box.publicKey }, opts)

  /** consortium(0), admit hospital(1), admit lab(2), admit agency as inquirer(3). */
  function populated (): RegistryState {
    const state = new RegistryState(registryKey)
    state.apply(consortium(), crypto)
    state.apply(admit(1, hospital), crypto)
    state.apply(admit(2, lab), crypto)
    state.apply(admit(3, agency, 'inquirer'), crypto)
    return state
  }

  /** Applying `entry` must throw `code` and leave the state exactly as it was. */
  function refuses (state: RegistryState, entry: RegistryEntry, code: 'BAD_SIGNATURE' | 'REGISTRY_CONFLICT'): void {
    const before = { length: state.length, institutions: state.institutions() }
    expectCode(() => state.check(entry, crypto), code)
    expectCode(() => state.apply(entry, crypto), code)
    expect({ length: state.length, institutions: state.institutions() }).toEqual(before)
  }

  it('folds a consortium and its admissions', () => {
    const state = populated()
    expect(state.length).toBe(4)
    expect(state.name).toBe('Test')
    expect(state.governanceKey).toEqual(governance.publicKey)
    expect(state.institutions().map((r) => [r.id, r.role, r.status, r.since])).toEqual([
      ['hospital', 'examiner', 'active', 1], ['lab', 'examiner', 'active', 2], ['agency', 'inquirer', 'active', 3]
    ])
    expect(state.institutionByBoxKey(lab.box.publicKey)?.id).toBe('lab')
    expect(state.institutionByBoxKey(intruder.publicKey)).toBeUndefined()
  })

  it('check() verifies without applying', () => {
    const state = populated()
    const next = block(4, 'suspend', { institution: 'lab' })
    state.check(next, crypto)
    expect(state.length).toBe(4)
    expect(state.institutionAt('lab')?.status).toBe('active')
    state.apply(next, crypto)
    expect(state.institutionAt('lab')?.status).toBe('suspended')
  })

  describe('refuses, leaving the state unchanged', () => {
    it('block 0 signed by a key other than the governance key it names (BAD_SIGNATURE)', () => {
      refuses(new RegistryState(registryKey), consortium({ signer: intruder }), 'BAD_SIGNATURE')
    })
    it('block 0 naming and signed by a key other than the one the registry core commits to, such as the host\'s (BAD_SIGNATURE)', () => {
      refuses(new RegistryState(registryKey, governance.publicKey), consortium({ signer: intruder, governanceKey: intruder.publicKey }), 'BAD_SIGNATURE')
      const late = new RegistryState(registryKey)
      late.bindGovernance(governance.publicKey)
      refuses(late, consortium({ signer: intruder, governanceKey: intruder.publicKey }), 'BAD_SIGNATURE')
      const bound = new RegistryState(registryKey, governance.publicKey)
      bound.apply(consortium(), crypto)
      expect(bound.governanceKey).toEqual(governance.publicKey)
    })
    it('binding a state to another governance key once bound or once entries are applied (REGISTRY_CONFLICT)', () => {
      const bound = new RegistryState(registryKey, governance.publicKey)
      bound.bindGovernance(governance.publicKey)
      expectCode(() => bound.bindGovernance(intruder.publicKey), 'REGISTRY_CONFLICT')
      expectCode(() => populated().bindGovernance(governance.publicKey), 'REGISTRY_CONFLICT')
    })
    it('a block signed by another key (BAD_SIGNATURE)', () => {
      refuses(populated(), admit(4, hospital2, 'examiner', { signer: intruder }), 'BAD_SIGNATURE')
      // Even by an admitted institution's key.
      refuses(populated(), block(4, 'suspend', { institution: 'lab' }, { signer: hospital.sign }), 'BAD_SIGNATURE')
    })
    it('a block signed for another position or another registry (BAD_SIGNATURE)', () => {
      refuses(populated(), block(5, 'suspend', { institution: 'lab' }), 'BAD_SIGNATURE')
      refuses(populated(), block(3, 'suspend', { institution: 'lab' }), 'BAD_SIGNATURE')
      refuses(populated(), block(4, 'suspend', { institution: 'lab' }, { key: otherRegistryKey }), 'BAD_SIGNATURE')
    })
    it('block 0 that is not a consortium, and a second consortium (REGISTRY_CONFLICT)', () => {
      refuses(new RegistryState(registryKey), admit(0, hospital), 'REGISTRY_CONFLICT')
      refuses(populated(), block(4, 'consortium', { name: 'Again', governance: governance.publicKey }), 'REGISTRY_CONFLICT')
    })
    it('a second admit of one id (REGISTRY_CONFLICT)', () => {
      refuses(populated(), block(4, 'admit', { institution: 'lab', name: 'Lab again', role: 'examiner', sign: hospital2.sign.publicKey, box: hospital2.box.publicKey }), 'REGISTRY_CONFLICT')
    })
    it('suspend of an unknown or an already suspended institution (REGISTRY_CONFLICT)', () => {
      refuses(populated(), block(4, 'suspend', { institution: 'nobody' }), 'REGISTRY_CONFLICT')
      const state = populated()
      state.apply(block(4, 'suspend', { institution: 'lab' }), crypto)
      refuses(state, block(5, 'suspend', { institution: 'lab' }), 'REGISTRY_CONFLICT')
      // The message says which: not listed at all, or suspended already.
      expect(() => populated().check(block(4, 'suspend', { institution: 'nobody' }), crypto)).toThrow('institution nobody is not admitted')
      expect(() => state.check(block(5, 'suspend', { institution: 'lab' }), crypto)).toThrow('institution lab is suspended already')
    })
    it('reinstate of an active or unknown institution, rotate of an unknown one (REGISTRY_CONFLICT)', () => {
      refuses(populated(), block(4, 'reinstate', { institution: 'lab' }), 'REGISTRY_CONFLICT')
      refuses(populated(), block(4, 'reinstate', { institution: 'nobody' }), 'REGISTRY_CONFLICT')
      refuses(populated(), block(4, 'rotate', { institution: 'nobody', sign: hospital2.sign.publicKey, box: hospital2.box.publicKey }), 'REGISTRY_CONFLICT')
    })
    it('reuse of a key: another institution\'s sign or box key, or one\'s own (REGISTRY_CONFLICT)', () => {
      const newcomer = institution('newcomer', crypto)
      refuses(populated(), block(4, 'admit', { institution: 'newcomer', name: 'N', role: 'examiner', sign: lab.sign.publicKey, box: newcomer.box.publicKey }), 'REGISTRY_CONFLICT')
      refuses(populated(), block(4, 'admit', { institution: 'newcomer', name: 'N', role: 'examiner', sign: newcomer.sign.publicKey, box: lab.box.publicKey }), 'REGISTRY_CONFLICT')
      refuses(populated(), block(4, 'rotate', { institution: 'hospital', sign: lab.sign.publicKey, box: hospital2.box.publicKey }), 'REGISTRY_CONFLICT')
      refuses(populated(), block(4, 'rotate', { institution: 'hospital', sign: hospital.sign.publicKey, box: hospital.box.publicKey }), 'REGISTRY_CONFLICT')
    })
    it('reuse of a key rotated away (REGISTRY_CONFLICT)', () => {
      const state = populated()
      state.apply(block(4, 'rotate', { institution: 'hospital', sign: hospital2.sign.publicKey, box: hospital2.box.publicKey }), crypto)
      const newcomer = institution('newcomer', crypto)
      refuses(state, block(5, 'admit', { institution: 'newcomer', name: 'N', role: 'examiner', sign: hospital.sign.publicKey, box: newcomer.box.publicKey }), 'REGISTRY_CONFLICT')
    })
    it('after a refusal, the next valid block still applies at the same position', () => {
      const state = populated()
      refuses(state, admit(4, hospital2, 'examiner', { signer: intruder }), 'BAD_SIGNATURE')
      state.apply(admit(4, hospital2), crypto)
      expect(state.length).toBe(5)
    })
  })

  it('institutionAt(id, length) answers for every length across admit, suspend, reinstate, rotate', () => {
    const state = populated() // hospital admitted at 1
    state.apply(block(4, 'suspend', { institution: 'hospital', reason: 'audit' }), crypto)
    state.apply(block(5, 'reinstate', { institution: 'hospital' }), crypto)
    state.apply(block(6, 'rotate', { institution: 'hospital', sign: hospital2.sign.publicKey, box: hospital2.box.publicKey, addrs: ['/ip4/127.0.0.1/tcp/1'] }), crypto)
    expect(state.length).toBe(7)
    const at = (length: number) => {
      const r = state.institutionAt('hospital', length)
      return r === undefined ? undefined : { status: r.status, sign: equal(r.sign, hospital.sign.publicKey) ? 'old' : equal(r.sign, hospital2.sign.publicKey) ? 'new' : '?', since: r.since }
    }
    expect(at(0)).toBeUndefined()
    expect(at(1)).toBeUndefined() // entries [0, 1): not yet admitted
    expect(at(2)).toEqual({ status: 'active', sign: 'old', since: 1 })
    expect(at(4)).toEqual({ status: 'active', sign: 'old', since: 1 })
    expect(at(5)).toEqual({ status: 'suspended', sign: 'old', since: 4 })
    expect(at(6)).toEqual({ status: 'active', sign: 'old', since: 5 })
    expect(at(7)).toEqual({ status: 'active', sign: 'new', since: 6 })
    expect(at(100)).toEqual(at(7))
    expect(state.institutionAt('hospital')).toEqual(state.institutionAt('hospital', 7))
    expect(state.institutionAt('hospital', 7)?.addrs).toEqual(['/ip4/127.0.0.1/tcp/1'])
    expect(state.institutionAt('nobody', 7)).toBeUndefined()
    expect(state.institutions(1)).toEqual([])
    expect(state.institutions(3).map((r) => r.id)).toEqual(['hospital', 'lab'])
    expect(state.institutionByBoxKey(hospital.box.publicKey, 6)?.id).toBe('hospital')
    expect(state.institutionByBoxKey(hospital.box.publicKey, 7)).toBeUndefined()
    expect(state.institutionByBoxKey(hospital2.box.publicKey, 7)?.id).toBe('hospital')
    expect(state.historyOf('hospital').map((r) => r.since)).toEqual([1, 4, 5, 6])
    expect(state.historyOf('nobody')).toEqual([])
  })

  it('a rotate keeps peer and addresses it does not name', () => {
    const state = new RegistryState(registryKey)
    state.apply(consortium(), crypto)
    state.apply(block(1, 'admit', { institution: 'hospital', name: 'H', role: 'examiner', sign: hospital.sign.publicKey, box: hospital.box.publicKey, peer: '12D3KooWabcdefghijkmnopqrstuvwxyzABCDEFGH', addrs: ['/ip4/10.0.0.1/tcp/4001'] }), crypto)
    state.apply(block(2, 'rotate', { institution: 'hospital', sign: hospital2.sign.publicKey, box: hospital2.box.publicKey }), crypto)
    expect(state.institutionAt('hospital')).toMatchObject({ peer: '12D3KooWabcdefghijkmnopqrstuvwxyzABCDEFGH', addrs: ['/ip4/10.0.0.1/tcp/4001'], name: 'H', role: 'examiner' })
  })

  it('registry blocks round-trip and their signatures are bound to registry and position', () => {
    const entry = admit(1, hospital)
    const bytes = encodeRegistryEntry(entry)
    const decoded = decodeRegistryEntry(bytes)
    expect(decoded).toEqual(entry)
    expect(encodeRegistryEntry(decoded)).toEqual(bytes)
    expect(verifyRegistrySignature(decoded, { chainKey: registryKey, seq: 1 }, governance.publicKey, crypto)).toBe(true)
    expect(verifyRegistrySignature(decoded, { chainKey: registryKey, seq: 2 }, governance.publicKey, crypto)).toBe(false)
    expect(verifyRegistrySignature(decoded, { chainKey: otherRegistryKey, seq: 1 }, governance.publicKey, crypto)).toBe(false)
    expect(verifyRegistrySignature(decoded, { chainKey: registryKey, seq: 1 }, intruder.publicKey, crypto)).toBe(false)
  })
})

describe('registry core binding', () => {
  const governanceKey = fixedBytes('registry-test/governance-public')

  it('round-trips the governance key through the manifest user data, under its domain', () => {
    const userData = registryCoreUserData(governanceKey)
    expect(new TextDecoder().decode(userData.subarray(0, REGISTRY_CORE_DOMAIN.length))).toBe(REGISTRY_CORE_DOMAIN)
    expect(userData[REGISTRY_CORE_DOMAIN.length]).toBe(0)
    expect(equal(governanceKeyOfRegistryCore(userData), governanceKey)).toBe(true)
  })

  it('refuses user data that does not bind a governance key (BAD_REGISTRY_CORE)', () => {
    const userData = registryCoreUserData(governanceKey)
    const otherDomain = Uint8Array.from(userData)
    otherDomain[0] = otherDomain[0]! ^ 1
    for (const bad of [
      null, undefined, new Uint8Array(0), userData.subarray(0, userData.length - 1), Uint8Array.from([...userData, 0]), otherDomain, governanceKey
    ]) {
      expectCode(() => governanceKeyOfRegistryCore(bad), 'BAD_REGISTRY_CORE')
    }
    expectCode(() => registryCoreUserData(governanceKey.subarray(0, 31)), 'BAD_KEY')
  })
})
