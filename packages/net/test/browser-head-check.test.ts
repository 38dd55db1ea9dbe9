/**
 * The browser's head and cosignature checks (`@healthchain/net/browser`,
 * BLAKE2b from @noble/hashes, noble Ed25519) against the node's own (Hypercore
 * and libsodium), on real heads of real Hypercores on disk: the same bytes,
 * the same verdicts, and a tampered head or cosignature refused by both.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Corestore from 'corestore'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bytesToHex, generatePartyKeys, nobleProvider, utf8ToBytes } from '@healthchain/core'
import { sodiumProvider } from '@healthchain/core/sodium'
import * as browser from '@healthchain/net/browser'
import {
  coreKeyOfSigner, cosign, cosignMessage, headOf, headSignable, verifyCosignature, verifyHead, type Cosignature, type SignedHead
} from '../src/index.js'

let dir: string
let store: Corestore
const heads: SignedHead[] = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'healthchain-browser-heads-'))
  store = new Corestore(dir)
  // Several cores (several signers), each at a few lengths, one truncated so its fork id is not 0.
  for (const name of ['chain/a', 'chain/b', 'chain/c']) {
    const core = store.get({ name })
    await core.ready()
    for (let i = 1; i <= 3; i++) {
      await core.append(utf8ToBytes(`${name} block ${i}`))
      heads.push(await headOf(core, sodiumProvider))
    }
    if (name === 'chain/c') {
      await core.truncate(1)
      await core.append(utf8ToBytes('after the truncation'))
      heads.push(await headOf(core, sodiumProvider))
    }
  }
})

afterAll(async () => {
  await store?.close()
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

const witness = generatePartyKeys(sodiumProvider).sign

function flipped (bytes: Uint8Array, at = 0): Uint8Array {
  const out = new Uint8Array(bytes)
  out[at]! ^= 1
  return out
}

describe('@healthchain/net/browser checks heads and cosignatures as the node does', () => {
  it('gives byte-identical signable bytes, core keys and cosign messages on real heads', () => {
    expect(heads.length).toBe(10)
    expect(heads.some((h) => h.fork > 0)).toBe(true)
    for (const head of heads) {
      expect(bytesToHex(browser.headSignable(head))).toBe(bytesToHex(headSignable(head)))
      expect(bytesToHex(browser.coreKeyOfSigner(head.signer))).toBe(bytesToHex(coreKeyOfSigner(head.signer)))
      expect(bytesToHex(browser.coreKeyOfSigner(head.signer))).toBe(bytesToHex(head.key))
      expect(bytesToHex(browser.cosignMessage(head))).toBe(bytesToHex(cosignMessage(head)))
    }
  })

  it('accepts every real head and its cosignature, with noble crypto', () => {
    for (const head of heads) {
      expect(verifyHead(head, sodiumProvider)).toBe(true)
      expect(browser.verifyHead(head, nobleProvider)).toBe(true)
      const c = cosign(head, 'regulator-r', witness.secretKey, sodiumProvider)
      expect(verifyCosignature(c, witness.publicKey, sodiumProvider)).toBe(true)
      expect(browser.verifyCosignature(c, witness.publicKey, nobleProvider)).toBe(true)
    }
  })

  it('refuses a tampered head the node refuses too: any field changed', () => {
    const head = heads[4]!
    const other = heads[0]!
    const tampered: SignedHead[] = [
      { ...head, length: head.length + 1 },
      { ...head, fork: head.fork + 1 },
      { ...head, root: flipped(head.root) },
      { ...head, sig: flipped(head.sig, 5) },
      { ...head, key: other.key },
      // Another chain's valid signer and signature, with this chain's key: the signer does not own the key.
      { ...head, signer: other.signer, sig: other.sig }
    ]
    for (const bad of tampered) {
      expect(verifyHead(bad, sodiumProvider)).toBe(false)
      expect(browser.verifyHead(bad, nobleProvider)).toBe(false)
    }
  })

  it('refuses a cosignature of another head, by another key, or with a broken signature', () => {
    const head = heads[2]!
    const c = cosign(head, 'regulator-r', witness.secretKey, sodiumProvider)
    const stranger = generatePartyKeys(sodiumProvider).sign
    const bad: Array<[Cosignature, Uint8Array]> = [
      [{ ...c, head: heads[1]! }, witness.publicKey],
      [{ ...c, head: { ...head, root: flipped(head.root) } }, witness.publicKey],
      [{ ...c, sig: flipped(c.sig, 9) }, witness.publicKey],
      [c, stranger.publicKey]
    ]
    for (const [cosignature, key] of bad) {
      expect(verifyCosignature(cosignature, key, sodiumProvider)).toBe(false)
      expect(browser.verifyCosignature(cosignature, key, nobleProvider)).toBe(false)
    }
  })

  it('reads heads and cosignatures from the API\'s hex JSON, and refuses hex of the wrong size', () => {
    const head = heads[3]!
    const c = cosign(head, 'regulator-r', witness.secretKey, sodiumProvider)
    const json = {
      head: {
        key: bytesToHex(head.key), signer: bytesToHex(head.signer), length: head.length, fork: head.fork, root: bytesToHex(head.root), sig: bytesToHex(head.sig)
      },
      witness: c.witness,
      sig: bytesToHex(c.sig)
    }
    expect(browser.verifyCosignature(browser.cosignatureFromJson(json), witness.publicKey, nobleProvider)).toBe(true)
    expect(() => browser.headFromJson({ ...json.head, root: json.head.root.slice(2) })).toThrowError(expect.objectContaining({ code: 'INVALID_FIELD', field: 'root' }))
  })

  it('imports nothing that pulls in Node built-ins, Hypercore, libp2p or sodium', async () => {
    for (const file of ['head-check.ts', 'index.ts']) {
      const source = await readFile(new URL(`../src/browser/${file}`, import.meta.url), 'utf8')
      const imports = [...source.matchAll(/from '([^']+)'/g)].map((m) => m[1]!)
      for (const spec of imports) expect(['@noble/hashes/blake2.js', '@healthchain/core', './head-check.js']).toContain(spec)
    }
  })
})
