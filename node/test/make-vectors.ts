/**
 * Writes the known-answer vectors of the node's own formats to
 * node/test/vectors/*.json:
 *
 * - login.json: the login challenge's signed message (version 1) — valid
 *   signatures and signatures that must be refused;
 * - audit-lines.json: audit-log lines (version 1) as canonical CBOR, and
 *   inputs that must be refused.
 *
 *   npx tsx node/test/make-vectors.ts
 *
 * Every input is fixed (seeds, nonces, times) and Ed25519 is deterministic,
 * so running it again writes the same files. Regenerate only when a format
 * changes on purpose; node/test/vectors.test.ts checks every byte.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { bytesToHex, concatBytes, encodeCanonical, userIdFromKey, utf8ToBytes, type InstitutionId } from '@healthchain/core'
import { sodiumProvider } from '@healthchain/core/sodium'
import { hexToBytes } from '@noble/hashes/utils.js'
import { encodeAuditLine, LOGIN_DOMAIN, LOGIN_VERSION, loginMessage, signLogin, type AuditLine } from '@healthchain/node'

const VECTORS_DIR = new URL('./vectors/', import.meta.url)
const crypto = sodiumProvider
const hex = bytesToHex

function write (name: string, data: unknown): void {
  mkdirSync(fileURLToPath(VECTORS_DIR), { recursive: true })
  writeFileSync(new URL(name, VECTORS_DIR), JSON.stringify(data, null, 2) + '\n')
  console.log(`wrote node/test/vectors/${name}`)
}

function fill (byte: number, length = 32): Uint8Array {
  return new Uint8Array(length).fill(byte)
}

/** Ed25519 group order L, little-endian, for a signature whose S is not reduced. */
const L = hexToBytes('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010')

function addLittleEndian (a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(32)
  let carry = 0
  for (let i = 0; i < 32; i++) {
    const sum = a[i]! + b[i]! + carry
    out[i] = sum & 0xff
    carry = sum >> 8
  }
  return out
}

// ------------------------------------------------------------------ login

function loginVectors (): unknown {
  const userSeed = fill(0x11)
  const otherSeed = fill(0x22)
  const user = crypto.signKeyPairFromSeed(userSeed)
  const other = crypto.signKeyPairFromSeed(otherSeed)
  const nodeA = 'hospital-a' as InstitutionId
  const nodeB = 'hospital-b' as InstitutionId
  const nonce = hexToBytes('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f')
  const nonce2 = fill(0xab)
  const longNode = `${'a'.repeat(63)}z` as InstitutionId

  const valid = [
    ['hospital-a, counting nonce', nodeA, nonce],
    ['hospital-b, same nonce', nodeB, nonce],
    ['hospital-a, 0xab nonce', nodeA, nonce2],
    ['64-character institution id', longNode, nonce]
  ].map(([name, node, n]) => {
    const message = loginMessage(node as InstitutionId, n as Uint8Array)
    return {
      name,
      node,
      seed: hex(userSeed),
      publicKey: hex(user.publicKey),
      userId: userIdFromKey(user.publicKey),
      nonce: hex(n as Uint8Array),
      message: hex(message),
      signature: hex(signLogin(node as InstitutionId, n as Uint8Array, user.secretKey, crypto))
    }
  })

  const good = signLogin(nodeA, nonce, user.secretKey, crypto)
  const flipped = new Uint8Array(good)
  flipped[10]! ^= 0x01
  const unreduced = concatBytes(good.subarray(0, 32), addLittleEndian(good.subarray(32), L))
  const rawMessage = concatBytes(utf8ToBytes(nodeA), nonce)
  const identity = hexToBytes('0100000000000000000000000000000000000000000000000000000000000000')

  const reject = [
    { name: 'signed by another key', signature: crypto.sign(loginMessage(nodeA, nonce), other.secretKey) },
    { name: 'signed for another node (hospital-b)', signature: signLogin(nodeB, nonce, user.secretKey, crypto) },
    { name: 'signed for another nonce', signature: signLogin(nodeA, nonce2, user.secretKey, crypto) },
    { name: 'one bit of R flipped', signature: flipped },
    { name: 'S not reduced (S + L)', signature: unreduced },
    { name: 'signed without the domain tag', signature: crypto.sign(rawMessage, user.secretKey) },
    { name: 'small-order public key (identity) with a zero signature', signature: new Uint8Array(64), publicKey: identity }
  ].map((c) => ({
    name: c.name,
    node: nodeA,
    nonce: hex(nonce),
    publicKey: hex(c.publicKey ?? user.publicKey),
    signature: hex(c.signature),
    code: 'BAD_SIGNATURE'
  }))

  const invalidInput = [
    { name: 'node id with capitals', node: 'Hospital-A', nonce: hex(nonce), code: 'BAD_REQUEST', field: 'node' },
    { name: 'node id too long (65)', node: 'a'.repeat(65), nonce: hex(nonce), code: 'BAD_REQUEST', field: 'node' },
    { name: 'nonce of 31 bytes', node: nodeA, nonce: hex(nonce.subarray(1)), code: 'BAD_REQUEST', field: 'nonce' }
  ]

  return {
    version: LOGIN_VERSION,
    domain: LOGIN_DOMAIN,
    layout: 'UTF-8(domain) 0x00 ‖ u8 len(node) ‖ UTF-8(node) ‖ nonce (32 bytes); Ed25519 under libsodium\'s rule',
    valid,
    reject,
    invalidInput
  }
}

// ------------------------------------------------------------------ audit lines

function auditLineVectors (): unknown {
  const time = '2026-01-01T08:30:00.000Z'
  const since = '2026-01-01T08:29:00.000Z'
  const userId = userIdFromKey(crypto.signKeyPairFromSeed(fill(0x11)).publicKey)
  const lines: Array<[string, AuditLine]> = [
    ['staff login granted', { v: 1, time, actor: 'key:0123456789abcdef', role: 'examiner', action: 'login', from: '127.0.0.1', result: 'granted' }],
    ['login refused, unknown key', { v: 1, time, actor: 'key:0123456789abcdef', action: 'login', from: '10.1.2.3', result: 'refused', code: 'UNKNOWN_KEY' }],
    ['anonymous request refused', { v: 1, time, actor: 'anonymous', action: 'read', target: `user:${userId}`, from: '::1', result: 'refused', code: 'MISSING_TOKEN' }],
    ['user read granted', { v: 1, time, actor: `user:${userId}`, role: 'user', action: 'read', target: `user:${userId}`, from: '::ffff:127.0.0.1', result: 'granted' }],
    ['refusals from one address counted in one line', { v: 1, time, actor: 'anonymous', action: 'login', from: '10.1.2.3', result: 'refused', code: 'BAD_REQUEST', count: 4999, since }],
    ['refused connections from one IPv6 /64 counted in one line', {
      v: 1, time, actor: 'anonymous', action: 'login', target: 'p2p', from: '/ip6/2001:db8:1:2::/ipcidr/64', result: 'refused', code: 'NOT_ADMITTED', count: 2, since
    }]
  ]
  const valid = lines.map(([name, line]) => ({ name, line, hex: hex(encodeAuditLine(line)) }))

  const base = lines[0]![1]
  const rejects: Array<[string, unknown, string]> = [
    ['version 2', { ...base, v: 2 }, 'v'],
    ['unknown field', { ...base, note: 'x' }, 'note'],
    ['time without milliseconds', { ...base, time: '2026-01-01T08:30:00Z' }, 'time'],
    ['actor that is neither key, user nor anonymous', { ...base, actor: 'root' }, 'actor'],
    ['unknown action', { ...base, action: 'delete' }, 'action'],
    ['unknown result', { ...base, result: 'maybe' }, 'result'],
    ['target carrying an API key', { ...base, target: 'hck_0123456789abcdef_secret' }, 'target'],
    ['from carrying a token', { ...base, from: 'hct_abc' }, 'from'],
    ['target with a control character', { ...base, target: 'a\nb' }, 'target'],
    ['lower-case code', { ...base, result: 'refused', code: 'unknown_key' }, 'code'],
    ['missing from', { ...base, from: undefined }, 'from'],
    ['a count without since', { ...base, result: 'refused', code: 'UNKNOWN_KEY', count: 2 }, 'since'],
    ['since without a count', { ...base, result: 'refused', code: 'UNKNOWN_KEY', since }, 'count'],
    ['a count of nothing', { ...base, result: 'refused', code: 'UNKNOWN_KEY', count: 0, since }, 'count'],
    ['a granted line with a count', { ...base, count: 2, since }, 'count']
  ]
  const reject = rejects.map(([name, value, field]) => ({ name, hex: hex(encodeCanonical(value)), code: 'BAD_AUDIT_LINE', field }))
  // Not canonical CBOR, hand-made: map keys out of order ("from" before "v"), and trailing bytes.
  reject.push({ name: 'map keys out of canonical order', hex: 'a2' + '6466726f6d' + '6178' + '6176' + '01', code: 'BAD_AUDIT_LINE', field: '' })
  reject.push({ name: 'trailing byte', hex: valid[0]!.hex + '00', code: 'BAD_AUDIT_LINE', field: '' })
  return { version: 1, valid, reject }
}

write('login.json', loginVectors())
write('audit-lines.json', auditLineVectors())
