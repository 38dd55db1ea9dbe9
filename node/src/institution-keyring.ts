/**
 * Which of the node's institution key generations to use, decided by the
 * registry as this node has replicated it (node-keys.ts keeps the files):
 *
 *   signing and sealing new entries   the generation whose signing key the
 *                                     registry lists for this institution at
 *                                     the length the entry is signed against;
 *                                     a rotation takes effect here when its
 *                                     `rotate` entry arrives, not when the
 *                                     new key file is made
 *   opening sealed parts              every generation's box key, newest
 *                                     first: an exam sealed before a rotation
 *                                     names the old key, and stays readable
 *
 * A node the registry does not list yet signs with its newest generation
 * (the one `admit` registers). `keys rotate` may run while the node does:
 * when the registry lists a key the keyring does not hold, `refresh()`
 * reads the key store again (the services call it before they use keys).
 */
import { equal, type BoxKeyPair, type InstitutionId, type PartyKeys, type RegistryState } from '@healthchain/core'
import { NodeError } from './errors.js'

export interface InstitutionKeyringComponents {
  /** The registry, read live: `state` follows replication. */
  readonly registry: { readonly state: RegistryState }
  /** Reads every generation from the key store again, oldest first. */
  readonly load?: () => Promise<readonly PartyKeys[]>
}

export class InstitutionKeyring {
  readonly id: InstitutionId
  private readonly registry: InstitutionKeyringComponents['registry']
  private readonly load: InstitutionKeyringComponents['load']
  /** Oldest first. */
  private generations: readonly PartyKeys[]
  private loading: Promise<void> | undefined

  constructor (components: InstitutionKeyringComponents, id: InstitutionId, generations: readonly PartyKeys[]) {
    if (generations.length === 0) throw new NodeError('DATA_FILE', 'an institution keyring needs at least one key generation')
    this.registry = components.registry
    this.load = components.load
    this.id = id
    this.generations = generations
  }

  /** Reads the key store again if the registry now lists a signing key for this institution that the keyring does not hold. */
  async refresh (): Promise<void> {
    const record = this.registry.state.institutionAt(this.id)
    if (record === undefined || this.load === undefined || this.generations.some((g) => equal(g.sign.publicKey, record.sign))) return
    this.loading ??= (async () => {
      try {
        const generations = await this.load!()
        if (generations.length > 0) this.generations = generations
      } finally {
        this.loading = undefined
      }
    })()
    await this.loading
  }

  /**
   * The keys the registry lists for this institution at `length` (default:
   * the whole registry this node has). DATA_FILE when it lists a signing
   * key this node does not hold: the registry was rotated to keys made
   * elsewhere, and nothing signed here would verify.
   */
  inForce (length: number = this.registry.state.length): PartyKeys {
    const record = this.registry.state.institutionAt(this.id, length)
    if (record === undefined) return this.generations[this.generations.length - 1]!
    const keys = this.generations.find((g) => equal(g.sign.publicKey, record.sign))
    if (keys === undefined) {
      throw new NodeError('DATA_FILE', `the registry lists a signing key for ${this.id} that is not in this node's key store (rotated to keys made elsewhere?)`)
    }
    return keys
  }

  /**
   * inForce() where it answers; else (the registry names a key the store has
   * not been re-read for yet) the newest generation, for callers that must
   * not throw, such as the witness's signer: a key the registry does not list
   * gets its cosignatures refused, never a crash.
   */
  current (): PartyKeys {
    try {
      return this.inForce()
    } catch {
      return this.generations[this.generations.length - 1]!
    }
  }

  /** Every generation's sealing key pair, newest first (the order sealed parts are tried in). */
  boxKeys (): BoxKeyPair[] {
    return this.generations.map((g) => g.box).reverse()
  }

  /** Every generation, oldest first. */
  all (): readonly PartyKeys[] { return this.generations }
}
