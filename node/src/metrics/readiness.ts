/**
 * What "ready" means for a node, checked on every GET /readyz:
 *
 *   registry  the node holds the consortium's registry with at least its
 *             first entry: without it, no entry, peer or login can be checked
 *   network   the libp2p host is started (it stops first on shutdown)
 *   index     the query index has caught up with the chains held: the
 *             follower's start-up catch-up (every chain held compared with
 *             its index cursor by stored length, every one that grew while
 *             the node was down indexed) has finished. After that, changes
 *             are indexed as they arrive, a moment behind at most, and
 *             readiness does not flap under write load.
 *   restore   the data directory was not restored from a backup, or the
 *             node has caught up with its peers since (backup/catch-up.ts):
 *             until then its own chains refuse writes with CATCHING_UP.
 *
 * Each check is cheap (no chain is opened), so a load balancer may poll it.
 */
import type { Ledger } from '@healthchain/ledger'
import type { NetworkNode } from '@healthchain/net'
import { READINESS_CHECKS, type ReadinessCheck } from '../api/health.js'
import type { IndexFollower } from '../query-index/index.js'

export interface Readiness {
  readonly ready: boolean
  /** Each check and whether it holds. */
  readonly checks: Readonly<Record<ReadinessCheck, boolean>>
}

/** The verdict from the checks' values. */
export function readinessOf (checks: Readonly<Record<ReadinessCheck, boolean>>): Readiness {
  return { ready: READINESS_CHECKS.every((check) => checks[check]), checks: { ...checks } }
}

export interface ReadinessComponents {
  readonly ledger: Ledger
  readonly network: NetworkNode
  readonly follower: IndexFollower
}

/** Watches the follower's start-up catch-up and answers the readiness checks of a running node. */
export class ReadinessProbe {
  private readonly components: ReadinessComponents
  private caughtUp = false

  constructor (components: ReadinessComponents) {
    this.components = components
    // idle() resolves once the catch-up ran and nothing is queued; after a stop it resolves too, but then the network check fails.
    void components.follower.idle().then(() => { this.caughtUp = true }, () => {})
  }

  check (): Readiness {
    const { ledger, network } = this.components
    return readinessOf({
      registry: ledger.hasRegistry && ledger.registry.length > 0,
      network: network.host.status === 'started',
      index: this.caughtUp,
      restore: network.catchUp?.isHolding !== true
    })
  }
}
