/**
 * Sign-in, for every party. A patient types their recovery phrase or picks
 * their phrase file: the keys are derived here and the node's challenge is
 * signed here; the phrase never leaves this tab. Staff paste their API key.
 */
import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import { ApiFailure } from './api.js'
import { signInWithApiKey, signInWithPhrase } from './node-api.js'
import { phraseOfFile } from './phrase-file.js'
import { startSession, whySessionEnded } from './session.js'
import { navigate } from './router.js'
import { Card, ErrorNotice, Field, Notice } from './ui/components.js'

type Mode = 'patient' | 'staff'

const HOME: Record<string, string> = { user: '/patient', examiner: '/examiner', inquirer: '/analyst', regulator: '/auditor' }

export function homeOf (role: string): string { return HOME[role] ?? '/' }

export function LoginScreen (props: { nodeName: string | undefined }): JSX.Element {
  const [mode, setMode] = useState<Mode>('patient')
  const [secret, setSecret] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(undefined)
  const ended = whySessionEnded()

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault()
    setBusy(true)
    setError(undefined)
    try {
      const session = mode === 'patient' ? await signInWithPhrase(secret) : await signInWithApiKey(secret)
      setSecret('')
      startSession(session)
      navigate(homeOf(session.role))
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }

  const readPhraseFile = async (e: Event): Promise<void> => {
    const file = (e.currentTarget as HTMLInputElement).files?.[0]
    if (file === undefined) return
    const phrase = phraseOfFile(await file.text())
    setSecret(phrase)
    if (phrase === '') setError(new ApiFailure('BAD_PHRASE_FILE', 'This file does not hold a recovery phrase: pick the phrase file you saved at enrolment.', 0))
  }

  return (
    <div class='login'>
      <Card title={`Sign in${props.nodeName === undefined ? '' : ` to ${props.nodeName}`}`} testId='login'>
        {ended !== undefined && <Notice kind='warn' testId='session-ended'>{ended}</Notice>}
        <div class='tabs' role='tablist'>
          <button
            type='button' role='tab' aria-selected={mode === 'patient'} class={mode === 'patient' ? 'tab active' : 'tab'}
            onClick={() => { setMode('patient'); setSecret(''); setError(undefined) }}
          >I am a patient
          </button>
          <button
            type='button' role='tab' aria-selected={mode === 'staff'} class={mode === 'staff' ? 'tab active' : 'tab'}
            onClick={() => { setMode('staff'); setSecret(''); setError(undefined) }}
          >Staff (API key)
          </button>
        </div>
        <form onSubmit={(e) => { void submit(e) }}>
          {mode === 'patient'
            ? (
                <>
                  <Field label='Your recovery phrase' hint='The 12 or 24 words you were given at enrolment. They stay on this device: only a signature is sent.'>
                    <textarea
                      name='phrase' rows={3} autocomplete='off' autocapitalize='off' spellcheck={false} value={secret}
                      onInput={(e) => setSecret(e.currentTarget.value)} placeholder='word word word …'
                    />
                  </Field>
                  <Field label='…or your phrase file'>
                    <input type='file' name='phrase-file' accept='.json,.txt,application/json,text/plain' onChange={(e) => { void readPhraseFile(e) }} />
                  </Field>
                </>
              )
            : (
                <Field label='API key' hint='A staff key of this node (hck_…), from your administrator.'>
                  <input type='password' name='api-key' autocomplete='off' value={secret} onInput={(e) => setSecret(e.currentTarget.value)} />
                </Field>
              )}
          {error !== undefined && <ErrorNotice error={error} testId='login-error' />}
          <button type='submit' disabled={busy || secret.trim() === ''}>{busy ? 'Signing in…' : 'Sign in'}</button>
        </form>
        {mode === 'patient' && <p class='muted'>New here, and your hospital gave you a code? <a href='#/join'>Start your record</a>.</p>}
      </Card>
    </div>
  )
}
