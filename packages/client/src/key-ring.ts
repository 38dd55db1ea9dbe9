/**
 * The user's keys by generation, on the device: generation 0 from the
 * phrase (the user id, the libp2p identity), generation g ≥ 1 the
 * pre-rotated keys the phrase also derives (userKeysFromPhrase(phrase,
 * crypto, g)). `current` is the generation the chain has in force — 0, then
 * one more per rekey the device verified — so it is derived from the chain
 * on every open and sync and survives a restart without being stored.
 * Every generation's box key up to the current one opens seals: an exam
 * written before a rotation was sealed to the box key in force then.
 */
import { userKeysFromPhrase, type BoxKeyPair, type CryptoProvider, type UserKeys } from '@healthchain/core'

export class KeyRing {
  private readonly derive: (generation: number) => UserKeys
  private readonly derived = new Map<number, UserKeys>()
  private generation = 0

  constructor (phrase: string, crypto: CryptoProvider, base: UserKeys) {
    // The phrase stays inside this closure: later generations are derived when first needed, never stored.
    this.derive = (generation) => userKeysFromPhrase(phrase, crypto, generation)
    this.derived.set(0, base)
  }

  /** The generation in force on the chain as this device verified it. */
  get current (): number { return this.generation }

  /** The keys of the generation in force: what the user's entries are signed with. */
  get keys (): UserKeys { return this.keysAt(this.generation) }

  keysAt (generation: number): UserKeys {
    let keys = this.derived.get(generation)
    if (keys === undefined) {
      keys = this.derive(generation)
      this.derived.set(generation, keys)
    }
    return keys
  }

  /** Follows the chain: the generation its last verified rekey revealed (never goes back). */
  follow (generation: number | undefined): void {
    if (generation !== undefined && generation > this.generation) this.generation = generation
  }

  /** Every generation's box key up to the current one, newest first. */
  boxKeys (): BoxKeyPair[] {
    const out: BoxKeyPair[] = []
    for (let g = this.generation; g >= 0; g--) out.push(this.keysAt(g).box)
    return out
  }
}
