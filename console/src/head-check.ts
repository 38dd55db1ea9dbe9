/**
 * A chain's signed head and its witnesses' cosignatures, checked here in
 * the browser with @healthchain/net/browser and core's noble crypto: the
 * regulator (auditor/verify.tsx) and the patient (patient/head.ts) do not
 * have to take the node's word for them. A cosignature
 * counts when it verifies under the witness's signing key as the registry
 * lists it, the witness is one of the active regulators, and it covers the
 * head shown.
 *
 * A chain that moved lives in a continuation core, whose key is its
 * manifest's: the custodian's signer and the prologue (the old core's tree
 * hash where the migrate stands). The node's head names only the signer, so
 * the caller gives the prologue it read from the chain's latest migrate.
 */
import type { ChainHeadReply, RegistryReply } from '@healthchain/node/api'
import { cosignatureFromJson, headFromJson, verifyCosignature, verifyHead } from '@healthchain/net/browser'
import { fromHex, type Prologue } from '@healthchain/core'
import { crypto } from './crypto.js'

export interface CosignatureCheck {
  readonly witness: string
  readonly length: number
  readonly valid: boolean
  /** Why it does not count, in words; undefined when it does. */
  readonly problem: string | undefined
}

export interface HeadCheck {
  readonly present: boolean
  /** The custodian's signature verifies and its key is the chain's. */
  readonly headValid: boolean
  /** The head is of this chain (its key is the chain key the report names). */
  readonly ofThisChain: boolean
  readonly length: number | undefined
  readonly cosignatures: readonly CosignatureCheck[]
  readonly witnesses: readonly string[]
}

/** `prologue`: the chain core's manifest prologue when it is a continuation (see the file comment). */
export function checkHead (reply: ChainHeadReply, registry: RegistryReply, chainKey: string, prologue?: Prologue): HeadCheck {
  const head = reply.head
  if (head === null) return { present: false, headValid: false, ofThisChain: false, length: undefined, cosignatures: [], witnesses: reply.witnesses }
  const withPrologue = <T extends object>(fields: T): T => prologue === undefined ? fields : { ...fields, prologue }
  let headValid = false
  try {
    headValid = verifyHead(withPrologue(headFromJson(head)), crypto)
  } catch {}
  const cosignatures = reply.cosignatures.map((c): CosignatureCheck => {
    const institution = registry.institutions.find((i) => i.id === c.witness)
    const base = { witness: c.witness, length: c.head.length }
    if (institution === undefined) return { ...base, valid: false, problem: 'the registry lists no such institution' }
    if (!reply.witnesses.includes(c.witness)) return { ...base, valid: false, problem: 'not an active regulator of the registry' }
    let valid = false
    try {
      const cosignature = cosignatureFromJson(c)
      valid = verifyCosignature({ ...cosignature, head: withPrologue(cosignature.head) }, fromHex(institution.sign, 32, 'sign'), crypto)
    } catch {}
    if (!valid) return { ...base, valid: false, problem: 'the signature does not verify under the witness\'s registry key' }
    if (c.head.key !== head.key) return { ...base, valid: false, problem: 'it cosigns a head of another chain' }
    return { ...base, valid: true, problem: undefined }
  })
  return { present: true, headValid, ofThisChain: head.key === chainKey, length: head.length, cosignatures, witnesses: reply.witnesses }
}
