/**
 * A chain's integrity, for a regulator: pick a chain (its user id, or find
 * it by the start of the id), and read the node's full report — valid or
 * not, the tree check, entries verified, erased, missing, each problem with
 * its position and code, forked — beside the chain's signed head and its
 * witnesses' cosignatures, which this page checks itself in the browser.
 * A chain that moved lists its cores (segments), oldest first, as its
 * latest migrate names them; its head is checked with that migrate's
 * prologue (a continuation core's key is its manifest's).
 */
import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import { registry } from '../node-api.js'
import { routeParams } from '../party.js'
import { navigate } from '../router.js'
import type { Session } from '../session.js'
import { useAsync } from '../ui/async.js'
import { Badge, Card, ErrorNotice, Field, Loaded, Notice, ShortId } from '../ui/components.js'
import { chainHead, chainLayout, findUsers, verifyChain } from './auditor-api.js'
import { prologueOf, type ChainLayout } from '../chain-keys.js'
import { checkHead, type HeadCheck } from '../head-check.js'
import type { VerifyReply } from '@healthchain/node/api'

const ID_CHARS = /^[a-zA-Z2-7]{1,32}$/

export function VerifyScreen (props: { session: Session, route: string }): JSX.Element {
  const userId = routeParams(props.route, '/auditor/verify')?.[0]
  return (
    <>
      <ChainPicker session={props.session} current={userId} />
      {userId !== undefined && <ChainReport key={userId} session={props.session} userId={userId} />}
    </>
  )
}

function ChainPicker (props: { session: Session, current: string | undefined }): JSX.Element {
  const [text, setText] = useState(props.current ?? '')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(undefined)
  const [matches, setMatches] = useState<Awaited<ReturnType<typeof findUsers>>['users'] | undefined>(undefined)
  const value = text.trim().toLowerCase()

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault()
    setError(undefined)
    setMatches(undefined)
    if (value.length === 32) {
      navigate(`/auditor/verify/${value}`)
      return
    }
    setBusy(true)
    try {
      setMatches((await findUsers(props.session.token, value)).users)
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }

  return (
    <Card title='Verify a chain' testId='verify-picker'>
      <p class='muted'>
        Type a patient's whole user id to verify their chain, or its first letters to find it among the chains this node holds.
      </p>
      <form onSubmit={(e) => { void submit(e) }}>
        <Field label='User id, or its start' hint='Letters a–z and digits 2–7; 32 characters in all.'>
          <input name='user-id' autocomplete='off' spellcheck={false} value={text} onInput={(e) => setText(e.currentTarget.value)} />
        </Field>
        {value !== '' && !ID_CHARS.test(value) && <Notice kind='warn'>A user id has only the letters a–z and the digits 2–7.</Notice>}
        {error !== undefined && <ErrorNotice error={error} testId='find-error' />}
        <button type='submit' disabled={busy || !ID_CHARS.test(value)}>{value.length === 32 ? 'Verify' : busy ? 'Finding…' : 'Find'}</button>
      </form>
      {matches !== undefined && (matches.length === 0
        ? <p data-testid='find-empty'>No chain held here starts with <code>{value}</code>.</p>
        : (
            <ul class='timeline' data-testid='find-results'>
              {matches.map((m) => (
                <li key={m.userId} class='row'>
                  <button type='button' class='link' onClick={() => navigate(`/auditor/verify/${m.userId}`)}>{m.userId}</button>
                  <span class='muted'>custodian {m.custodian} · {m.length} entries</span>
                  {m.forked && <Badge kind='bad'>forked</Badge>}
                </li>
              ))}
            </ul>
          ))}
    </Card>
  )
}

function ChainReport (props: { session: Session, userId: string }): JSX.Element {
  const { token } = props.session
  const state = useAsync(async () => {
    const [report, head, reg] = await Promise.all([verifyChain(token, props.userId), chainHead(token, props.userId), registry(token)])
    const layout = await chainLayout(token, props.userId, report.chainKey)
    return { report, layout, check: checkHead(head, reg, report.chainKey, prologueOf(layout)) }
  }, [token, props.userId])
  return (
    <Loaded state={state} what='the integrity report (every signature is checked: this can take a while)'>
      {({ report, layout, check }) => (
        <>
          <IntegrityReport report={report} />
          <SegmentsReport layout={layout} length={report.length} reported={report.segments} />
          <HeadReport check={check} />
        </>
      )}
    </Loaded>
  )
}

function IntegrityReport (props: { report: VerifyReply }): JSX.Element {
  const r = props.report
  return (
    <Card title='Integrity report' testId='verify-report'>
      {r.valid
        ? (
            <Notice kind='ok' testId='verify-headline'>
              <strong>Valid.</strong> Every entry this node holds checks out: signatures, roles, consent and the tree.
            </Notice>
          )
        : <Notice kind='error' testId='verify-headline'><strong>Invalid.</strong> This chain fails its checks: see the problems below.</Notice>}
      {r.forked && <Notice kind='error' testId='verify-forked'>Forked: its custodian signed two histories of this chain. Do not trust it.</Notice>}
      <dl class='kv'>
        <dt>user</dt><dd><code class='id' data-testid='verify-user'>{r.userId ?? 'unknown'}</code></dd>
        <dt>chain key</dt><dd><ShortId id={r.chainKey} length={16} /></dd>
        <dt>length</dt><dd data-testid='verify-length'>{r.length} entries</dd>
        <dt>verified</dt><dd data-testid='verify-verified'>{r.verified} of {r.length}</dd>
        <dt>tree</dt>
        <dd data-testid='verify-tree'>
          {r.tree.ok ? <Badge kind='ok'>ok</Badge> : <Badge kind='bad'>failed</Badge>} {r.tree.blocksChecked} blocks checked
          {r.tree.problem !== null && <span class='out-of-range'> · {r.tree.problem}</span>}
        </dd>
        <dt>erased</dt>
        <dd data-testid='verify-erased'>{r.erased.length === 0 ? 'none' : `positions ${r.erased.join(', ')} (erased at the patient's request)`}</dd>
        <dt>missing</dt><dd data-testid='verify-missing'>{r.missing.length === 0 ? 'none' : `positions ${r.missing.join(', ')} (not held here)`}</dd>
        <dt>forked</dt><dd>{r.forked ? <Badge kind='bad'>yes</Badge> : <Badge kind='ok'>no</Badge>}</dd>
      </dl>
      <h3>Problems ({r.problems.length})</h3>
      {r.problems.length === 0
        ? <p class='muted' data-testid='verify-no-problems'>None.</p>
        : (
            <div class='table-wrap'>
              <table data-testid='verify-problems'>
                <thead><tr><th class='num'>position</th><th>code</th><th>what is wrong</th></tr></thead>
                <tbody>
                  {r.problems.map((p, i) => (
                    <tr key={i} class='refused'><td class='num'>{p.seq ?? 'chain'}</td><td><code>{p.code}</code></td><td>{p.message}</td></tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
    </Card>
  )
}

/** The cores the chain was written in: one unless it moved to another custodian. */
function SegmentsReport (props: { layout: ChainLayout, length: number, reported: VerifyReply['segments'] }): JSX.Element {
  const { layout } = props
  // The node's report names the cores too: they must be the ones the chain's latest migrate names, checked here.
  const mine = layout.segments.map((s) => `${s.key}:${s.start}:${s.end ?? props.length}`).join(' ')
  const agrees = props.reported.map((s) => `${s.key}:${s.start}:${s.end}`).join(' ') === mine
  return (
    <Card title='Segments: the cores the chain was written in' testId='segments'>
      {layout.problem !== undefined && <Notice kind='error' testId='segments-problem'>{layout.problem}.</Notice>}
      {!agrees && <Notice kind='error' testId='segments-disagree'>The node's report names other cores than the chain's own migrate does.</Notice>}
      {layout.migrate === undefined
        ? <p class='muted' data-testid='segments-none'>One core: the chain never moved to another custodian.</p>
        : <p class='muted'>The chain moved to {layout.migrate.plain.to} at position {layout.migrate.seq}; entries below it stay signed for the core they were written in.</p>}
      <table>
        <thead><tr><th>core key</th><th class='num'>positions</th></tr></thead>
        <tbody>
          {layout.segments.map((s) => (
            <tr key={s.key} data-testid='segment-row'>
              <td><ShortId id={s.key} length={16} /></td>
              <td class='num'>{s.start}–{(s.end ?? props.length) - 1}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Card>
  )
}

function HeadReport (props: { check: HeadCheck }): JSX.Element {
  const c = props.check
  const counted = c.cosignatures.filter((s) => s.valid).length
  return (
    <Card title='Signed head and witnesses, checked in this browser' testId='head-report'>
      <p class='muted'>
        The custodian signs the chain's head; regulators (the witnesses) cosign it. This page checks those signatures itself,
        with the keys the registry lists, so it does not rely on this node's word.
      </p>
      {!c.present
        ? <Notice kind='warn' testId='head-none'>This node holds no signed head for the chain yet.</Notice>
        : (
            <dl class='kv'>
              <dt>custodian's signature</dt>
              <dd data-testid='head-signature'>{c.headValid ? <Badge kind='ok'>valid</Badge> : <Badge kind='bad'>invalid</Badge>} at length {c.length}</dd>
              <dt>of this chain</dt>
              <dd data-testid='head-chain'>{c.ofThisChain ? <Badge kind='ok'>yes</Badge> : <Badge kind='bad'>no: another chain's key</Badge>}</dd>
              <dt>witnesses</dt>
              <dd data-testid='head-witnesses'>{c.witnesses.length === 0 ? 'none active' : c.witnesses.join(', ')}</dd>
              <dt>cosignatures</dt>
              <dd data-testid='head-cosigned'>{counted} valid of {c.cosignatures.length}</dd>
            </dl>
          )}
      {c.cosignatures.length > 0 && (
        <table data-testid='cosignatures'>
          <thead><tr><th>witness</th><th class='num'>length</th><th>checked here</th></tr></thead>
          <tbody>
            {c.cosignatures.map((s, i) => (
              <tr key={i} data-testid='cosignature-row'>
                <td>{s.witness}</td>
                <td class='num'>{s.length}</td>
                <td>{s.valid ? <Badge kind='ok'>valid</Badge> : <Badge kind='bad'>{s.problem ?? 'invalid'}</Badge>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  )
}
