/**
 * Known-answer vectors (test/vectors/*.json, written by make-vectors.ts):
 * every output is re-derived from the file's inputs under each provider and
 * must match byte for byte; every block decodes back to what the file says;
 * every reject vector is refused with its code.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  decodeEntry, decodeRegistryEntry, encodeCanonical, encodeEntry, encodeRegistryEntry, isRecipient, openSealed, openWithDataKey,
  governanceKeyOfRegistryCore, registryCoreUserData, RegistryState, unwrapDataKey, userIdFromKey, verifyEntrySignature, verifyRegistrySignature,
  type Entry, type EntryOf
} from '@healthchain/core'
import { expectCode, PROVIDERS } from './helpers/expect-code.js'
import { fromTagged, hex, toTagged, unhex } from './helpers/tagged-json.js'
import {
  computeEntryCase, computeRegistryCase, computeUserKeys, deriveParties, rejectBytes, VECTORS_DIR,
  type EntriesFile, type KeysFile, type PartiesFile, type RegistryFile, type RejectsFile
} from './helpers/vectors.js'
import type { CoreErrorCode } from '@healthchain/core'

function load<T> (name: string): T {
  return JSON.parse(readFileSync(new URL(name, VECTORS_DIR), 'utf8')) as T
}

const keysFile = load<KeysFile>('keys.json')
const partiesFile = load<PartiesFile>('parties.json')
const registryFile = load<RegistryFile>('registry.json')
const entriesFile = load<EntriesFile>('entries.json')
const rejectsFile = load<RejectsFile>('rejects.json')

describe('vector files', () => {
  it('cover what the wire format has', () => {
    expect(keysFile.cases.length).toBeGreaterThanOrEqual(3)
    const registryTypes = new Set(registryFile.cases.map((c) => (c.input as { type: string }).type))
    expect(registryTypes).toEqual(new Set(['consortium', 'admit', 'suspend', 'rotate', 'reassign']))
    expect(new Set(entriesFile.cases.map((c) => c.input.type))).toEqual(new Set(['genesis', 'exam', 'exercise', 'location', 'consent-grant', 'consent-revoke', 'erasure']))
    expect(rejectsFile.cases.length).toBeGreaterThan(50)
    // Positions follow each other from 0, as in a real chain.
    expect(entriesFile.cases.map((c) => c.seq)).toEqual(entriesFile.cases.map((_, i) => i))
    expect(registryFile.cases.map((c) => c.seq)).toEqual(registryFile.cases.map((_, i) => i))
  })
})

describe.each(PROVIDERS)('known answers under $name', (crypto) => {
  it('user keys from BIP39 phrases', () => {
    for (const c of keysFile.cases) {
      expect(computeUserKeys(c.phrase, crypto)).toEqual(c)
      expect(userIdFromKey(unhex(c.signPublicKey))).toBe(c.userId)
    }
  })

  it('party keys from their seeds', () => {
    const parties = deriveParties(partiesFile, crypto)
    expect(hex(parties.user.sign.publicKey)).toBe(partiesFile.user.signPublicKey)
    expect(hex(parties.user.box.publicKey)).toBe(partiesFile.user.boxPublicKey)
    expect(parties.user.userId).toBe(partiesFile.user.userId)
    for (const [label, k] of Object.entries(partiesFile.keys)) {
      const derived = parties.keys.get(label)!
      expect({ sign: hex(derived.sign.publicKey), box: hex(derived.box.publicKey), secret: hex(derived.sign.secretKey) })
        .toEqual({ sign: k.signPublicKey, box: k.boxPublicKey, secret: k.signSeed + k.signPublicKey })
    }
  })

  it('registry: consortium, admits, suspend, rotate, reassign — exact bytes, signing messages, signatures, state', () => {
    const parties = deriveParties(partiesFile, crypto)
    const governance = parties.keys.get(registryFile.governance)!.sign
    // The core's manifest binds the governance key: the state is bound to the key its user data names.
    expect(hex(registryCoreUserData(governance.publicKey))).toBe(registryFile.coreUserData)
    const state = new RegistryState(unhex(registryFile.registryKey), governanceKeyOfRegistryCore(unhex(registryFile.coreUserData)))
    for (const c of registryFile.cases) {
      const { signed, ...out } = computeRegistryCase(c, state, governance.secretKey, crypto)
      const { entry, bytes, signingMessage, signature, state: rows, reassignments } = c
      expect(out, c.name).toEqual({ entry, bytes, signingMessage, signature, state: rows, reassignments })
      expect(state.length).toBe(c.seq + 1)
      // The bytes decode back to the same entry, which re-encodes to the same bytes and verifies.
      const decoded = decodeRegistryEntry(unhex(c.bytes))
      expect(toTagged(decoded)).toEqual(c.entry)
      expect(hex(encodeRegistryEntry(decoded))).toBe(c.bytes)
      expect(decoded).toEqual(signed)
      const slot = { chainKey: state.registryKey, seq: c.seq }
      expect(verifyRegistrySignature(decoded, slot, governance.publicKey, crypto)).toBe(true)
      expect(crypto.verify(unhex(c.signingMessage), unhex(c.signature), governance.publicKey)).toBe(true)
    }
  })

  it('user chain: every entry type — exact bytes, signing messages, signatures', () => {
    const parties = deriveParties(partiesFile, crypto)
    const chainKey = unhex(entriesFile.chainKey)
    const earlier = new Map<number, Entry>()
    for (const c of entriesFile.cases) {
      const { signed, ...out } = computeEntryCase(c, chainKey, parties, earlier, crypto)
      earlier.set(c.seq, signed)
      const expected: Record<string, unknown> = { entry: c.entry, bytes: c.bytes, body: c.body, signingMessage: c.signingMessage, signature: c.signature }
      if (c.dataKey !== undefined) expected.dataKey = c.dataKey
      if (c.sealedPlaintext !== undefined) expected.sealedPlaintext = c.sealedPlaintext
      expect(out, c.name).toEqual(expected)

      const decoded = decodeEntry(unhex(c.bytes))
      expect(toTagged(decoded)).toEqual(c.entry)
      expect(hex(encodeEntry(decoded))).toBe(c.bytes)
      const signer = c.signer === 'user' ? parties.user.sign.publicKey : parties.keys.get(c.signer)!.sign.publicKey
      expect(verifyEntrySignature(decoded, { chainKey, seq: c.seq }, signer, crypto)).toBe(true)
      expect(crypto.verify(unhex(c.signingMessage), unhex(c.signature), signer)).toBe(true)
      // The block is [1, body, sig]; the signing message is domain || chain key || u64be(seq) || body.
      expect(c.bytes).toBe(hex(encodeCanonical([1, unhex(c.body), unhex(c.signature)])))
      expect(c.signingMessage).toBe(hex(new TextEncoder().encode('healthchain/v1/entry\0')) + entriesFile.chainKey + c.seq.toString(16).padStart(16, '0') + c.body)
    }
  })

  it('exam vectors open for exactly their recipients, to the sealed input', () => {
    const parties = deriveParties(partiesFile, crypto)
    const chainKey = unhex(entriesFile.chainKey)
    const everyone = [['user', parties.user.box] as const, ...[...parties.keys].map(([label, k]) => [label, k.box] as const)]
    for (const c of entriesFile.cases) {
      if (c.input.type !== 'exam') continue
      const entry = decodeEntry(unhex(c.bytes))
      const ctx = { chainKey, entryId: entry.id }
      const recipients = new Set(c.input.recipients)
      expect(entry.sealed!.to).toHaveLength(recipients.size)
      for (const [label, box] of everyone) {
        expect(isRecipient(entry.sealed!, box.publicKey), `${c.name} / ${label}`).toBe(recipients.has(label))
        if (recipients.has(label)) expect(openSealed(entry.sealed!, box, ctx, crypto)).toEqual(fromTagged(c.input.sealed))
        else expectCode(() => openSealed(entry.sealed!, box, ctx, crypto), 'NOT_RECIPIENT')
      }
      expect(openWithDataKey(entry.sealed!, unhex(c.dataKey!), ctx, crypto)).toEqual(fromTagged(c.input.sealed))
      expect(crypto.aeadDecrypt(unhex(c.dataKey!), entry.sealed!.nonce, entry.sealed!.ct, new Uint8Array([
        ...new TextEncoder().encode('healthchain/v1/seal'), 0, ...chainKey, ...entry.id
      ]))).toEqual(unhex(c.sealedPlaintext!))
    }
  })

  it('the consent grant vector hands the new examiner every past data key', () => {
    const parties = deriveParties(partiesFile, crypto)
    const chainKey = unhex(entriesFile.chainKey)
    const bySeq = new Map(entriesFile.cases.map((c) => [c.seq, c]))
    for (const c of entriesFile.cases) {
      if (c.input.type !== 'consent-grant') continue
      const grant = decodeEntry(unhex(c.bytes)) as EntryOf<'consent'>
      if (grant.plain.action !== 'grant' || grant.plain.rewrap === undefined) throw new Error('vector must carry a rewrap')
      const examiner = parties.keys.get(c.input.examiner)!.box
      expect(grant.plain.rewrap.to).toEqual(examiner.publicKey)
      const sealedHistory = c.input.history.filter((seq) => bySeq.get(seq)!.input.type === 'exam')
      expect(grant.plain.rewrap.keys.map((k) => k.seq)).toEqual(sealedHistory)
      for (const { seq, wrap } of grant.plain.rewrap.keys) {
        const past = bySeq.get(seq)!
        const pastEntry = decodeEntry(unhex(past.bytes))
        const ctx = { chainKey, entryId: pastEntry.id }
        // The examiner was not a recipient of the original…
        expectCode(() => openSealed(pastEntry.sealed!, examiner, ctx, crypto), 'NOT_RECIPIENT')
        // …but the grant's wrap gives it the data key.
        const dataKey = unwrapDataKey(wrap, grant.plain.rewrap.epk, examiner, ctx, crypto)
        expect(dataKey && hex(dataKey)).toBe(past.dataKey)
        expect(openWithDataKey(pastEntry.sealed!, dataKey!, ctx, crypto)).toEqual(fromTagged((past.input as { sealed: unknown }).sealed))
      }
    }
  })

  it('registry rejects: blocks signed by the host\'s core key or any key but governance, and forbidden transitions, are refused at their position', () => {
    const parties = deriveParties(partiesFile, crypto)
    expect(registryFile.rejects.length).toBeGreaterThan(0)
    // The host's key pair is what signs the core's tree, never a registry entry.
    expect(parties.keys.get(registryFile.host)!.sign.publicKey).not.toEqual(parties.keys.get(registryFile.governance)!.sign.publicKey)
    for (const r of registryFile.rejects) {
      const state = new RegistryState(unhex(registryFile.registryKey), governanceKeyOfRegistryCore(unhex(registryFile.coreUserData)))
      for (const c of registryFile.cases.slice(0, r.seq)) state.apply(decodeRegistryEntry(unhex(c.bytes)), crypto)
      const entry = decodeRegistryEntry(unhex(r.bytes))
      expectCode(() => state.apply(entry, crypto), r.code)
      expect(state.length, r.name).toBe(r.seq)
    }
  })

  it('exams are signed by their author\'s key as the registry stood at `reg`', () => {
    const parties = deriveParties(partiesFile, crypto)
    const state = new RegistryState(unhex(registryFile.registryKey))
    for (const c of registryFile.cases) state.apply(decodeRegistryEntry(unhex(c.bytes)), crypto)
    const chainKey = unhex(entriesFile.chainKey)
    for (const c of entriesFile.cases) {
      if (c.input.type !== 'exam') continue
      const entry = decodeEntry(unhex(c.bytes))
      const author = state.institutionAt(entry.author, entry.reg)
      expect(author?.role).toBe('examiner')
      expect(author?.status).toBe('active')
      expect(author?.sign).toEqual(parties.keys.get(c.signer)!.sign.publicKey)
      expect(verifyEntrySignature(entry, { chainKey, seq: c.seq }, author!.sign, crypto)).toBe(true)
    }
  })
})

describe('reject vectors', () => {
  it.each(rejectsFile.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const bytes = rejectBytes(c)
    const decode = c.decoder === 'entry' ? decodeEntry : decodeRegistryEntry
    expectCode(() => decode(bytes), c.code as CoreErrorCode, c.field)
  })

  it('are each one change away from a valid block (the unchanged blocks decode)', () => {
    for (const c of entriesFile.cases) expect(() => decodeEntry(unhex(c.bytes))).not.toThrow()
    for (const c of registryFile.cases) expect(() => decodeRegistryEntry(unhex(c.bytes))).not.toThrow()
  })
})
