/**
 * The patient's side of enrolment (#/join, or #/join/<code> from the link
 * the hospital shows), reachable without signing in: enter the code → this
 * device makes a new recovery phrase and checks the code with the hospital
 * → the phrase is shown and asked back → the genesis is signed here and
 * sent → the patient is signed in with the phrase and lands on their record.
 * The phrase lives in this screen's memory only.
 */
import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import { signInWithPhrase } from '../node-api.js'
import { routeParams } from '../party.js'
import { navigate, useRoute } from '../router.js'
import { startSession } from '../session.js'
import { Card, ErrorNotice, Field, Notice } from '../ui/components.js'
import { completeEnrolment, prepareEnrolment, type PreparedEnrolment } from './enrol-device.js'
import { ConfirmWords, PhraseWords, positionsToAsk } from './phrase.js'
import './join.css'

type Step = 'code' | 'phrase' | 'confirm'

export function JoinScreen (): JSX.Element {
  const route = useRoute()
  const fromLink = routeParams(route, '/join')?.[0] ?? ''
  const [code, setCode] = useState(fromLink)
  const [step, setStep] = useState<Step>('code')
  const [prepared, setPrepared] = useState<PreparedEnrolment | undefined>(undefined)
  const [positions, setPositions] = useState<[number, number]>([3, 8])
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(undefined)
  const [enrolledAs, setEnrolledAs] = useState<string | undefined>(undefined)

  const start = async (e: Event): Promise<void> => {
    e.preventDefault()
    setBusy(true)
    setError(undefined)
    try {
      const ready = await prepareEnrolment(code)
      setPrepared(ready)
      setPositions(positionsToAsk(ready.phrase.split(' ').length))
      setStep('phrase')
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }

  const finish = async (): Promise<void> => {
    if (prepared === undefined) return
    setBusy(true)
    setError(undefined)
    try {
      const summary = await completeEnrolment(prepared)
      setEnrolledAs(summary.userId)
      const session = await signInWithPhrase(prepared.phrase)
      setPrepared(undefined)
      startSession(session)
      navigate('/patient')
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }

  return (
    <div class='join'>
      <Card title='Start your health record' testId='join'>
        {step === 'code' && (
          <form onSubmit={(e) => { void start(e) }}>
            <p>Your hospital gave you a code. With it, this phone creates your record: your keys are made here and never leave it.</p>
            <Field label='Your code' hint='12 letters and digits, like 7KQ2-M9XD-4HNA (dashes and case do not matter).'>
              <input
                name='code' autocomplete='off' autocapitalize='characters' spellcheck={false} value={code} class='code-input'
                onInput={(e) => setCode(e.currentTarget.value)}
              />
            </Field>
            {error !== undefined && <ErrorNotice error={error} testId='join-error' />}
            <button type='submit' disabled={busy || code.trim() === ''}>{busy ? 'Checking the code…' : 'Continue'}</button>
            <p class='muted'>Already have a record? <a href='#/'>Sign in with your recovery phrase</a>.</p>
          </form>
        )}
        {step === 'phrase' && prepared !== undefined && <PhraseWords phrase={prepared.phrase} onSaved={() => setStep('confirm')} />}
        {step === 'confirm' && prepared !== undefined && (
          <>
            <ConfirmWords
              phrase={prepared.phrase} positions={positions} busy={busy}
              onConfirmed={() => { void finish() }} onShowAgain={() => setStep('phrase')}
            />
            {error !== undefined && <ErrorNotice error={error} testId='join-error' />}
            {enrolledAs !== undefined && (
              <Notice kind='info' testId='join-enrolled'>
                Your record is created (user id <code class='id'>{enrolledAs}</code>), but signing in failed. <a href='#/'>Sign in with your phrase</a>.
              </Notice>
            )}
          </>
        )}
      </Card>
    </div>
  )
}
