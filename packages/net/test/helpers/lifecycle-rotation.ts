/**
 * Institution key rotation in the lifecycle world: the model of each
 * examiner's key generations (what governance's `rotate` entries gave it,
 * and at which registry length), and the invariants about them, judged on
 * what a node serves as valid:
 *   I8 every exam verifies with its author's key in force at the registry
 *      length it names, and that key was not rotated out by the chain's
 *      registry mark (the highest length an earlier entry names) — nothing
 *      signed with a rotated-out key after the rotation is accepted;
 *   I9 every sealed exam still opens for its author with one of the
 *      generations it keeps (a rotation never locks an examiner out of the
 *      exams it wrote before).
 * The node side keeps every generation and signs with the one its own
 * registry lists (node/src/institution-keyring.ts); `listed` is that choice.
 */
import { bytesToHex, equal, generatePartyKeys, isRecipient, openSealed, verifyEntrySignature, type Entry, type PartyKeys, type RegistryState } from '@healthchain/core'
import { crypto, type Party } from '@healthchain/net/testing'

export class KeyGenerations {
  /** Per institution, its rotations in registry order: the registry length once the `rotate` entry is in, and the keys it gave. */
  private readonly rotations = new Map<string, Array<{ readonly length: number, readonly keys: PartyKeys }>>()
  /** Sealed exams already opened by their author (an entry id each), so each is opened once per run. */
  private readonly opened = new Set<string>()
  private readonly party: (id: string) => Party

  constructor (party: (id: string) => Party) {
    this.party = party
  }

  /** Every generation of the institution's keys, oldest first. */
  all (id: string): PartyKeys[] {
    return [this.party(id).keys, ...(this.rotations.get(id) ?? []).map((r) => r.keys)]
  }

  /** Fresh keys for `id`, to be rotated to (`rotated` once the registry has them). */
  next (): PartyKeys { return generatePartyKeys(crypto) }

  rotated (id: string, keys: PartyKeys, length: number): void {
    this.rotations.set(id, [...(this.rotations.get(id) ?? []), { length, keys }])
  }

  /** The generation in force at registry length `reg` (a rotation at position P is in force from length P + 1 on). */
  at (id: string, reg: number): PartyKeys {
    let keys = this.party(id).keys
    for (const r of this.rotations.get(id) ?? []) if (r.length <= reg) keys = r.keys
    return keys
  }

  /** The generation a node signs and seals with: the one the registry it holds lists (the first if none matches). */
  listed (id: string, registry: RegistryState): PartyKeys {
    const sign = registry.institutionAt(id)?.sign
    return this.all(id).find((k) => sign !== undefined && equal(k.sign.publicKey, sign)) ?? this.party(id).keys
  }

  /** A generation the host's registry has rotated out, if any. */
  rotatedOut (id: string): PartyKeys | undefined {
    return (this.rotations.get(id)?.length ?? 0) > 0 ? this.all(id)[0] : undefined
  }

  /** The party as it signs now by the model (its newest generation). */
  now (id: string): Party {
    const all = this.all(id)
    return { ...this.party(id), keys: all[all.length - 1]! }
  }

  /** I8 for one exam served as valid at `seq` of a chain whose registry mark before it is `mark`; the violation's detail, or undefined. */
  signatureProblem (entry: Entry, chainKey: Uint8Array, seq: number, mark: number): string | undefined {
    if (entry.type !== 'exam') return undefined
    const reg = entry.reg ?? 0
    const inForce = this.at(entry.author, reg)
    if (!verifyEntrySignature(entry, { chainKey, seq }, inForce.sign.publicKey, crypto)) {
      return `exam ${seq} by ${entry.author} does not verify with the key in force at registry length ${reg}`
    }
    if (this.at(entry.author, Math.max(reg, mark)) !== inForce) {
      return `exam ${seq} by ${entry.author} is signed with a key rotated out by the chain's registry mark ${mark} (it names ${reg})`
    }
    return undefined
  }

  /** I9 for one sealed exam served as valid: its author opens it with a generation it keeps; the violation's detail, or undefined. */
  sealProblem (entry: Entry, chainKey: Uint8Array, seq: number): string | undefined {
    if (entry.type !== 'exam' || entry.sealed === undefined) return undefined
    const id = bytesToHex(entry.id)
    if (this.opened.has(id)) return undefined
    const box = this.all(entry.author).find((k) => isRecipient(entry.sealed!, k.box.publicKey))?.box
    if (box === undefined) return `exam ${seq} by ${entry.author} is sealed for none of its author's key generations`
    try {
      openSealed(entry.sealed, box, { chainKey, entryId: entry.id }, crypto)
    } catch (err) {
      return `exam ${seq} by ${entry.author} does not open with its author's key: ${(err as { code?: string }).code ?? String(err)}`
    }
    this.opened.add(id)
    return undefined
  }
}
