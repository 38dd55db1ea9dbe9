/**
 * The network as this node sees it, for a regulator: every institution of
 * the registry with its role and status, whether this node is connected to
 * it, how many chains it is custodian of and how far behind this node is
 * on them; fork proofs in a red panel (a custodian that signed two
 * histories); what this node's witness cosigned and refused; the heads
 * service's counters. Refreshed every few seconds, with the time said.
 */
import type { ForkView, NetworkReply, RegistryReply, StatusReply } from '@healthchain/node/api'
import { Fragment, type JSX } from 'preact'
import { useEffect } from 'preact/hooks'
import { nodeStatus, registry } from '../node-api.js'
import type { Session } from '../session.js'
import { useAsync } from '../ui/async.js'
import { Badge, Card, ErrorNotice, Loaded, Notice, ShortId } from '../ui/components.js'
import { networkView } from './auditor-api.js'

/** A fork's kind in words, for the auditor. */
const FORK_KINDS: Record<ForkView['kind'], string> = {
  'same-length': 'two different heads at the same length',
  consistency: 'two lengths whose histories disagree',
  'after-move': 'the old custodian wrote on after the user moved the chain',
  'two-moves': 'the user signed two different moves from one head'
}

export const REFRESH_MS = 5000

interface Snapshot {
  readonly network: NetworkReply
  readonly registry: RegistryReply
  readonly status: StatusReply
  readonly at: number
}

const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false })

export function NetworkScreen (props: { session: Session }): JSX.Element {
  const { token } = props.session
  const state = useAsync(async (): Promise<Snapshot> => {
    const [network, reg, status] = await Promise.all([networkView(token), registry(token), nodeStatus()])
    return { network, registry: reg, status, at: Date.now() }
  }, [token])
  const { reload } = state
  useEffect(() => {
    const timer = setInterval(reload, REFRESH_MS)
    return () => { clearInterval(timer) }
  }, [reload])
  return (
    <>
      <div class='row'>
        <span class='muted' data-testid='updated'>
          {state.data === undefined ? 'Loading…' : `updated ${clock.format(state.data.at)}`} · refreshes every {REFRESH_MS / 1000} s
        </span>
        {state.status === 'failed' && state.data !== undefined && <ErrorNotice error={state.error} testId='refresh-error' />}
      </div>
      <Loaded state={state} what='the network'>
        {(snap) => <NetworkView snap={snap} />}
      </Loaded>
    </>
  )
}

function NetworkView (props: { snap: Snapshot }): JSX.Element {
  const { network, status } = props.snap
  const reg = props.snap.registry
  const census = network.census
  return (
    <>
      {network.forks.length > 0 && <ForkPanel forks={network.forks} />}
      <Card title={`Institutions (${network.institutions.length})`} testId='institutions'>
        <p class='muted'>
          As {network.self.name} sees the consortium: the registry ({reg.length} entries) says who belongs and in which role;
          this node says whom it is connected to and how far behind it is on each custodian's chains.
        </p>
        <div class='table-wrap'>
          <table data-testid='institutions-table'>
            <thead>
              <tr>
                <th>institution</th><th>role</th><th>status</th><th>connection</th><th class='num'>chains in custody</th>
                <th class='num'>behind (chains / blocks)</th><th class='num'>forked chains</th>
              </tr>
            </thead>
            <tbody>
              {network.institutions.map((inst) => {
                const listed = reg.institutions.find((r) => r.id === inst.id)
                const registryStatus = listed?.status ?? inst.status
                const self = inst.id === network.self.name
                return (
                  <tr key={inst.id} data-testid='institution-row' data-id={inst.id} class={inst.forked > 0 ? 'refused' : ''}>
                    <td><strong>{inst.name}</strong><br /><code class='id'>{inst.id}</code></td>
                    <td>{inst.role}</td>
                    <td data-testid='registry-status'>
                      <Badge kind={registryStatus === 'active' ? 'ok' : 'bad'}>{registryStatus}</Badge>
                    </td>
                    <td data-testid='connection'>
                      {self
                        ? <Badge kind='muted'>this node</Badge>
                        : inst.connected ? <Badge kind='ok'>connected</Badge> : <Badge kind='warn'>not connected</Badge>}
                    </td>
                    <td class='num' data-testid='custody'>{inst.custodianOf}</td>
                    <td class='num' data-testid='behind'>
                      {inst.behind.chains === 0 ? <span class='muted'>up to date</span> : `${inst.behind.chains} / ${inst.behind.blocks}`}
                    </td>
                    <td class='num'>{inst.forked === 0 ? '0' : <Badge kind='bad'>{inst.forked}</Badge>}</td>
                  </tr>
                )
              })}
            </tbody>
          </table>
        </div>
        {census.counted < census.held && (
          <p class='muted' data-testid='census'>
            Chains in custody counted so far: {census.counted} of the {census.held} held here (the count goes on in the background).
          </p>
        )}
      </Card>
      <div class='grid-2'>
        <Card title='This node' testId='this-node'>
          <dl class='kv'>
            <dt>name</dt><dd>{status.name} ({status.role})</dd>
            <dt>chains held</dt><dd data-testid='chains-held'>{status.chainsHeld}</dd>
            <dt>connected peers</dt><dd>{status.connectedPeers.length}</dd>
            <dt>replication lag</dt>
            <dd data-testid='lag'>
              {lagWords(network.lag)}
            </dd>
          </dl>
        </Card>
        <WitnessCard witness={network.witness} />
      </div>
      <HeadsCard heads={network.heads} />
    </>
  )
}

function lagWords (lag: NetworkReply['lag']): string {
  if (lag === null) return 'not reported yet'
  return lag.chainsBehind === 0 ? 'up to date' : `${lag.chainsBehind} chains, ${lag.blocksBehind} blocks behind`
}

function ForkPanel (props: { forks: NetworkReply['forks'] }): JSX.Element {
  return (
    <section class='card' data-testid='forks' style={{ borderColor: 'var(--bad)', background: '#fff5f4' }} role='alert'>
      <h2 style={{ color: 'var(--bad)' }}>
        {props.forks.length === 1 ? 'A custodian signed two histories' : `${props.forks.length} chains with two histories`}
      </h2>
      <p>
        A fork proof is two signed heads of one chain that cannot both be true: its custodian signed two different histories.
        Nothing on a forked chain is to be trusted until the consortium has looked into it.
      </p>
      <div class='table-wrap'>
        <table>
          <thead><tr><th>chain (user)</th><th>custodian</th><th>what was seen</th><th class='num'>at length</th></tr></thead>
          <tbody>
            {props.forks.map((f) => (
              <tr key={`${f.chainKey} ${f.length}`} data-testid='fork-row' data-user={f.userId ?? ''}>
                <td>
                  {f.userId === null ? <><ShortId id={f.chainKey} /> <span class='muted'>(not held here)</span></> : <ShortId id={f.userId} length={14} />}
                </td>
                <td data-testid='fork-custodian'>{f.custodian ?? <span class='muted'>unknown here</span>}</td>
                <td>{FORK_KINDS[f.kind]}</td>
                <td class='num'>{f.length}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  )
}

function WitnessCard (props: { witness: NetworkReply['witness'] }): JSX.Element {
  const w = props.witness
  if (w === null) {
    return <Card title='Witness' testId='witness'><p class='muted'>This node is no witness: only regulators cosign custodians' heads.</p></Card>
  }
  const reasons = Object.entries(w.refused).sort((a, b) => b[1] - a[1])
  return (
    <Card title='Witness' testId='witness'>
      <p>Heads cosigned by this node: <strong data-testid='cosigned'>{w.cosigned}</strong></p>
      {reasons.length === 0
        ? <p class='muted' data-testid='refusals'>No head refused.</p>
        : (
            <table data-testid='refusals'>
              <thead><tr><th>refused because</th><th class='num'>heads</th></tr></thead>
              <tbody>{reasons.map(([reason, n]) => <tr key={reason}><td><code>{reason}</code></td><td class='num'>{n}</td></tr>)}</tbody>
            </table>
          )}
    </Card>
  )
}

function HeadsCard (props: { heads: NetworkReply['heads'] }): JSX.Element {
  const entries = Object.entries(props.heads).sort((a, b) => a[0].localeCompare(b[0]))
  const nonZero = entries.filter(([, n]) => n !== 0)
  const list = (items: ReadonlyArray<[string, number]>): JSX.Element => (
    <dl class='kv'>{items.map(([name, n]) => <Fragment key={name}><dt><code>{name}</code></dt><dd>{n}</dd></Fragment>)}</dl>
  )
  return (
    <Card title='Heads service' testId='heads'>
      <p class='muted'>How this node hears of other nodes' chains: announcements received, fetches, syncs, and their failures by code.</p>
      {nonZero.length === 0 ? <Notice kind='info'>Nothing counted yet.</Notice> : list(nonZero)}
      {entries.length > nonZero.length && (
        <details>
          <summary>All {entries.length} counters, zeros included</summary>
          {list(entries)}
        </details>
      )}
    </Card>
  )
}
