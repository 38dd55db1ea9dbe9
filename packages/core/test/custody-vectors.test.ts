/**
 * The custody formats' known answers (vectors/custody.json): the whole file
 * re-derived under each provider byte for byte; every block decoded back and
 * its signature checked under the key it must have, the migrate head and the
 * rekey commitment checked; every reject refused by the check it names, and
 * passing every check before it.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  checkMigrate, checkRekey, coreKeyOfManifest, coreKeyOfSigner, decodeEntry, encodeEntry, treeSignable, userKeysFromPhrase, verifyEntrySignature,
  verifyTreeHead, type CoreErrorCode, type CryptoProvider, type Entry, type EntryOf
} from '@healthchain/core'
import {
  computeCustodyFile, type CustodyChain, type CustodyFile, type CustodyReject
} from './helpers/custody-vectors.js'
import { expectCode, PROVIDERS } from './helpers/expect-code.js'
import { fromTagged, hex, unhex } from './helpers/tagged-json.js'
import { VECTORS_DIR } from './helpers/vectors.js'

const file = JSON.parse(readFileSync(new URL('custody.json', VECTORS_DIR), 'utf8')) as CustodyFile
const keyOf = (chain: CustodyChain) => unhex({ chain: file.chainKey, continuation: file.continuationKey, second: file.secondKey }[chain])
const genesisNext = unhex(file.generations[1]!.digest)

/** The key an entry of the file must be signed by: a rekey by its own revealed key, anything else by generation 0. */
function expectedSigner (entry: Entry): Uint8Array {
  return entry.type === 'rekey' ? entry.plain.sign : unhex(file.generations[0]!.signPublicKey)
}

/** Runs the checks in order, up to and including `last`. */
function runChecks (bytes: Uint8Array, chain: CustodyChain, seq: number, last: CustodyReject['check'], crypto: CryptoProvider): Entry {
  const entry = decodeEntry(bytes)
  if (last === 'decode') return entry
  if (!verifyEntrySignature(entry, { chainKey: keyOf(chain), seq }, expectedSigner(entry), crypto)) {
    const err = new Error('signature') as Error & { code: string }
    throw Object.assign(err, { code: 'BAD_SIGNATURE' })
  }
  if (last === 'signature') return entry
  if (entry.type === 'migrate') checkMigrate(entry.plain, crypto)
  if (last === 'migrate') return entry
  if (entry.type === 'rekey') checkRekey(genesisNext, entry.plain)
  return entry
}

describe('custody vector file', () => {
  it('covers the formats and every must-reject case of the design', () => {
    expect(file.cases.map((c) => (c.entry as { type: string }).type)).toEqual(['genesis', 'rekey', 'migrate', 'migrate'])
    expect(new Set(file.rejects.map((r) => r.check))).toEqual(new Set(['decode', 'signature', 'migrate', 'rekey']))
    expect(file.rejects.length).toBeGreaterThanOrEqual(13)
  })
})

describe.each(PROVIDERS)('custody known answers under $name', (crypto) => {
  it('re-derives every byte of the file', () => {
    expect(JSON.parse(JSON.stringify(computeCustodyFile(crypto)))).toEqual(file)
  })

  it('the generations and the old head', () => {
    for (const g of file.generations) {
      const keys = userKeysFromPhrase(file.phrase, crypto, g.generation)
      expect([hex(keys.sign.publicKey), hex(keys.box.publicKey)]).toEqual([g.signPublicKey, g.boxPublicKey])
    }
    const signer = unhex(file.oldCustodian.signPublicKey)
    expect(hex(coreKeyOfSigner(signer))).toBe(file.oldChainKey)
    const { length, fork, root, signable, sig } = file.head
    expect(hex(treeSignable(unhex(file.oldChainKey), unhex(root), length, fork))).toBe(signable)
    expect(verifyTreeHead({ key: unhex(file.oldChainKey), signer, length, fork, root: unhex(root), sig: unhex(sig) }, crypto)).toBe(true)
    const mid = unhex(file.midCustodian.signPublicKey)
    expect(hex(coreKeyOfManifest({ signer: mid, prologue: { hash: unhex(root), length } }))).toBe(file.midChainKey)
    expect(hex(treeSignable(unhex(file.midChainKey), unhex(file.midHead.root), file.midHead.length, file.midHead.fork))).toBe(file.midHead.signable)
  })

  it.each(file.cases)('$name decodes to its entry, re-encodes to its bytes and passes every check', (c) => {
    const entry = runChecks(unhex(c.bytes), c.chain, c.seq, 'rekey', crypto)
    expect(entry).toEqual(fromTagged(c.entry))
    expect(hex(encodeEntry(entry))).toBe(c.bytes)
    expect(hex(entry.sig)).toBe(c.signature)
    if (entry.type === 'genesis') expect(hex((entry as EntryOf<'genesis'>).plain.next!)).toBe(file.generations[1]!.digest)
  })

  it.each(file.rejects)('refuses: $name ($check, $code)', (r) => {
    const bytes = unhex(r.hex)
    // Every check before the named one passes, so the case tests exactly one thing.
    const order = ['decode', 'signature', 'migrate', 'rekey'] as const
    const before = order[order.indexOf(r.check) - 1]
    if (before !== undefined) expect(() => runChecks(bytes, r.chain, r.seq, before, crypto)).not.toThrow()
    if (r.check === 'signature') {
      expect(() => runChecks(bytes, r.chain, r.seq, 'signature', crypto)).toThrow(expect.objectContaining({ code: 'BAD_SIGNATURE' }))
      return
    }
    expectCode(() => runChecks(bytes, r.chain, r.seq, r.check, crypto), r.code as CoreErrorCode, r.field)
  })
})
