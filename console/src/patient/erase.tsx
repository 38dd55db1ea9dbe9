/**
 * Erasure: the patient picks entries (exams, exercise, places) and, after a
 * confirm step that says what erasure means, signs one erasure entry
 * naming them. Every node then clears their content; the chain keeps their
 * fingerprints, so it still verifies.
 */
import { buildErasureEntry } from '@healthchain/client/user-side'
import { ERASABLE_TYPES } from '@healthchain/core'
import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import { crypto } from '../crypto.js'
import type { Session } from '../session.js'
import { useAsync } from '../ui/async.js'
import { Card, ErrorNotice, Loaded, Notice, formatDateTime } from '../ui/components.js'
import { loadChain, type PatientChain } from './chain.js'
import { entryTitle } from './labels.js'
import { submit } from './writes.js'

function EraseList (props: { session: Session, chain: PatientChain, onDone: () => void }): JSX.Element {
  const { chain } = props
  const erasable = chain.entries.filter((e) => ERASABLE_TYPES.includes(e.view.type) && !chain.erased.has(e.seq)).reverse()
  const [chosen, setChosen] = useState<ReadonlySet<number>>(new Set())
  const [confirming, setConfirming] = useState(false)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(undefined)
  const [done, setDone] = useState<string | undefined>(undefined)
  const toggle = (seq: number): void => {
    const next = new Set(chosen)
    if (next.has(seq)) next.delete(seq)
    else next.add(seq)
    setChosen(next)
    setConfirming(false)
  }
  const erase = async (): Promise<void> => {
    setBusy(true)
    setError(undefined)
    try {
      const seqs = [...chosen].sort((a, b) => a - b)
      const result = await submit(props.session, buildErasureEntry(seqs, crypto), `Erasure of ${seqs.length} entries`)
      setDone('queued' in result
        ? 'The node does not answer: the erasure is kept on this device and sent when it answers.'
        : `Erased ${seqs.length} ${seqs.length === 1 ? 'entry' : 'entries'} (#${seqs.join(', #')}).`)
      setChosen(new Set())
      setConfirming(false)
      props.onDone()
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }
  if (erasable.length === 0) return <p class='muted' data-testid='erase-empty'>Nothing to erase: exams, exercise and places you can erase appear here.</p>
  return (
    <>
      {done !== undefined && <Notice kind='ok' testId='erase-done'>{done}</Notice>}
      <ul class='timeline' data-testid='erase-list'>
        {erasable.map((e) => (
          <li key={e.seq}>
            <label class='row'>
              <input type='checkbox' checked={chosen.has(e.seq)} onChange={() => toggle(e.seq)} aria-label={`Erase #${e.seq} ${entryTitle(e)}`} />
              <span><strong>{entryTitle(e)}</strong> <span class='muted'>#{e.seq} · {formatDateTime(e.time)}</span></span>
            </label>
          </li>
        ))}
      </ul>
      {error !== undefined && <ErrorNotice error={error} testId='erase-error' />}
      {!confirming
        ? <button type='button' class='danger' disabled={chosen.size === 0} onClick={() => setConfirming(true)}>Erase {chosen.size} chosen…</button>
        : (
            <Notice kind='warn' testId='erase-confirm'>
              <p>
                Erasing {chosen.size === 1 ? 'this entry' : `these ${chosen.size} entries`} clears {chosen.size === 1 ? 'its' : 'their'} content on every node that
                holds your record, for good: nobody, you included, can read {chosen.size === 1 ? 'it' : 'them'} again. Your chain keeps a fingerprint of
                each, so it still proves it was not tampered with, and a signed erasure entry records that you asked.
              </p>
              <div class='row'>
                <button type='button' class='danger' disabled={busy} onClick={() => { void erase() }}>{busy ? 'Signing…' : 'Yes, erase for good'}</button>
                <button type='button' class='secondary' disabled={busy} onClick={() => setConfirming(false)}>Cancel</button>
              </div>
            </Notice>
          )}
    </>
  )
}

export function EraseScreen (props: { session: Session }): JSX.Element {
  const [version, setVersion] = useState(0)
  const chain = useAsync(async () => await loadChain(props.session), [props.session.token, version])
  return (
    <Card title='Erase entries' testId='erase'>
      <Loaded state={chain} what='your entries'>
        {(data) => <EraseList session={props.session} chain={data} onDone={() => setVersion((n) => n + 1)} />}
      </Loaded>
    </Card>
  )
}
