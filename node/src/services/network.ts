/**
 * The consortium as this node sees it (GET /v1/network), knowing nothing of
 * HTTP: the registry's institutions with whether this node is connected to
 * each, how many of the chains held here each is custodian of, how far
 * behind this node is on their chains and how many of them are forked; the
 * fork proofs; the witness service's decisions; the heads service's counters.
 *
 * Cost. Everything but the custodian counts is read from memory, in time
 * proportional to the institutions, the chains behind and the forks — never
 * to the chains held. Which institution is custodian of a chain only its
 * genesis says, so `custodianOf` is counted by a census: the first view
 * starts it, and it visits each chain held once, one at a time in the
 * background, in catalog order (new chains come last, so each later view
 * carries it on from where it stopped); `census` says how far it got. The
 * lag per custodian opens only the chains behind, at most MAX_LAG_LOOKUPS.
 */
import { fromHex, type InstitutionId, type InstitutionRole, type UserId } from '@healthchain/core'
import type { Ledger } from '@healthchain/ledger'
import type { AnyForkProof, NetworkNode } from '@healthchain/net'
import type { ForkView, InstitutionView, NetworkReply } from '../api/network.js'

/** Chains behind whose custodian a view looks up (each opened, briefly); the rest count in `lag` only. */
export const MAX_LAG_LOOKUPS = 1024

export interface NetworkServiceComponents {
  readonly ledger: Pick<Ledger, 'registry' | 'users' | 'chainCount' | 'userOfChain' | 'withChain'>
  readonly network: Pick<NetworkNode, 'peerId' | 'status' | 'chainsBehind' | 'heads' | 'witness'>
  /** This node's institution id and role (config `name`, `role`). */
  readonly self: { readonly name: InstitutionId, readonly role: InstitutionRole }
}

export interface NetworkService {
  view (): Promise<NetworkReply>
  /** Stops the census (waits for the chain it is visiting). */
  close (): Promise<void>
}

/** What kind of fork a proof shows, in the API's words (see ForkView.kind). */
function forkKind (proof: AnyForkProof | undefined): ForkView['kind'] {
  if (proof?.v === 2) return 'consistency'
  if (proof?.v === 3) return proof.moves.length === 2 ? 'two-moves' : 'after-move'
  return 'same-length'
}

export function createNetworkService (components: NetworkServiceComponents): NetworkService {
  const { ledger, network, self } = components
  const census = new CustodianCensus(ledger)

  const custodianOf = async (user: UserId): Promise<InstitutionId | undefined> =>
    await ledger.withChain(user, async (chain) => chain.user?.custodian).catch(() => undefined)

  /** Chains and blocks behind, per custodian, over the chains behind that this node holds. */
  const lagByCustodian = async (): Promise<Map<string, { chains: number, blocks: number }>> => {
    const out = new Map<string, { chains: number, blocks: number }>()
    for (const { keyHex, blocks } of network.chainsBehind().slice(0, MAX_LAG_LOOKUPS)) {
      const user = ledger.userOfChain(fromHex(keyHex, 32, 'chainKey'))
      // A chain not held yet has no genesis here: its custodian is not known.
      const custodian = user === undefined ? undefined : await custodianOf(user)
      if (custodian === undefined) continue
      const lag = out.get(custodian) ?? { chains: 0, blocks: 0 }
      out.set(custodian, { chains: lag.chains + 1, blocks: lag.blocks + blocks })
    }
    return out
  }

  return {
    async view () {
      census.advance()
      const status = network.status()
      const connected = new Set(status.peers)
      const behind = await lagByCustodian()
      const forks: ForkView[] = status.forkedChains.map((f) => {
        const key = fromHex(f.chain, 32, 'chainKey')
        return {
          chainKey: f.chain,
          userId: ledger.userOfChain(key) ?? null,
          custodian: f.custodian ?? null,
          kind: forkKind(network.heads.forkOf(key)),
          length: f.length
        }
      })
      const institutions: InstitutionView[] = ledger.registry.state.institutions().map((r) => ({
        id: r.id,
        name: r.name,
        role: r.role,
        status: r.status,
        peerId: r.peer ?? null,
        connected: r.peer !== undefined && connected.has(r.peer),
        custodianOf: census.of(r.id),
        behind: behind.get(r.id) ?? { chains: 0, blocks: 0 },
        forked: forks.filter((f) => f.custodian === r.id).length
      }))
      // Every node runs the witness service, but only a regulator's cosignatures count: elsewhere it only refuses.
      const witness = self.role === 'regulator' ? network.witness : undefined
      return {
        self: { name: self.name, role: self.role, peerId: network.peerId },
        institutions,
        census: census.progress(),
        forks,
        witness: witness === undefined ? null : { cosigned: witness.stats.cosigned, refused: Object.fromEntries(witness.stats.refused) },
        lag: { chainsBehind: status.replicationLag.chainsBehind, blocksBehind: status.replicationLag.blocksBehind },
        heads: flattenCounters(status.heads)
      }
    },
    async close () { await census.close() }
  }
}

/**
 * How many chains held here each institution is custodian of, counted by
 * visiting each chain once (Ledger.withChain: a chain not open before is
 * closed again), in catalog order, one run at a time. Memory: one number
 * per institution and a cursor.
 */
class CustodianCensus {
  private readonly counts = new Map<string, number>()
  private counted = 0
  private running: Promise<void> | undefined
  private closed = false

  constructor (private readonly ledger: Pick<Ledger, 'users' | 'chainCount' | 'withChain'>) {}

  /** Starts a run over the chains not counted yet, unless one is under way or none is left. */
  advance (): void {
    if (this.running !== undefined || this.closed || this.counted >= this.ledger.chainCount) return
    this.running = this.run().finally(() => { this.running = undefined })
  }

  private async run (): Promise<void> {
    const users = this.ledger.users()
    while (this.counted < users.length && !this.closed) {
      let custodian: string | undefined
      try {
        custodian = await this.ledger.withChain(users[this.counted]!, async (chain) => chain.user?.custodian)
      } catch {
        // The ledger closing, or a chain that cannot be opened now: the next view tries again from here.
        return
      }
      // A chain without its genesis yet names no custodian: counted as seen, under nobody.
      if (custodian !== undefined) this.counts.set(custodian, (this.counts.get(custodian) ?? 0) + 1)
      this.counted++
    }
  }

  of (institution: string): number { return this.counts.get(institution) ?? 0 }

  progress (): { counted: number, held: number } { return { counted: this.counted, held: this.ledger.chainCount } }

  async close (): Promise<void> {
    this.closed = true
    await this.running
  }
}

/** Numbers by dotted path; a Map's entries (counts by code) under their keys, plus their total under the Map's own name. */
export function flattenCounters (value: object, prefix = '', out: Record<string, number> = {}): Record<string, number> {
  for (const [name, v] of Object.entries(value)) {
    const path = prefix + name
    if (typeof v === 'number') {
      out[path] = v
    } else if (v instanceof Map) {
      let total = 0
      for (const [k, n] of v) {
        if (typeof n !== 'number') continue
        out[`${path}.${String(k)}`] = n
        total += n
      }
      out[path] = total
    } else if (v !== null && typeof v === 'object') {
      flattenCounters(v as object, `${path}.`, out)
    }
  }
  return out
}
