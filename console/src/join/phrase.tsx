/**
 * The recovery phrase, shown once: the words in order, a phrase file to
 * keep (the CLI's and the phone's format, so the sign-in and the CLI read
 * it; a Blob link made here, never stored by the console), and a check
 * that the patient wrote it down (two of its words, asked back).
 */
import type { JSX } from 'preact'
import { useEffect, useMemo, useState } from 'preact/hooks'
import { phraseFileText } from '../phrase-file.js'
import { Field, Notice } from '../ui/components.js'

export function PhraseWords (props: { phrase: string, onSaved: () => void }): JSX.Element {
  const words = props.phrase.split(' ')
  const [written, setWritten] = useState(false)
  const href = useMemo(() => URL.createObjectURL(new Blob([phraseFileText(props.phrase)], { type: 'application/json' })), [props.phrase])
  useEffect(() => () => { URL.revokeObjectURL(href) }, [href])
  return (
    <>
      <Notice kind='warn' testId='phrase-warning'>
        <strong>Write these {words.length} words down, in order, on paper.</strong> They are the only way into your record:
        nobody, not even the hospital, can recover them. Anyone who has them can read your record, so keep them private.
      </Notice>
      <ol class='phrase-words' data-testid='phrase' aria-label='Your recovery phrase'>
        {words.map((w, i) => <li key={i} data-testid='phrase-word'><span class='n'>{i + 1}</span> {w}</li>)}
      </ol>
      <p>
        <a href={href} download='healthchain-recovery-phrase.json' data-testid='phrase-file'>Save the phrase as a file</a>
        <span class='muted'> — keep it somewhere only you can reach (not on a shared computer). You can sign in with this file later.</span>
      </p>
      <label class='row'>
        <input type='checkbox' checked={written} onChange={(e) => setWritten(e.currentTarget.checked)} /> I have written the {words.length} words down
      </label>
      <button type='button' disabled={!written} onClick={props.onSaved}>Continue</button>
    </>
  )
}

/** Two distinct word positions (1-based, in order) to ask back. */
export function positionsToAsk (count: number, random: () => number = Math.random): [number, number] {
  const a = 1 + Math.floor(random() * count)
  let b = 1 + Math.floor(random() * (count - 1))
  if (b >= a) b += 1
  return a < b ? [a, b] : [b, a]
}

export function ConfirmWords (props: {
  phrase: string
  positions: readonly [number, number]
  busy: boolean
  onConfirmed: () => void
  onShowAgain: () => void
}): JSX.Element {
  const words = props.phrase.split(' ')
  const [typed, setTyped] = useState<[string, string]>(['', ''])
  const [wrong, setWrong] = useState<number[]>([])
  const submit = (e: Event): void => {
    e.preventDefault()
    const bad = props.positions.filter((p, i) => typed[i]!.trim().toLowerCase() !== words[p - 1])
    setWrong(bad)
    if (bad.length === 0) props.onConfirmed()
  }
  return (
    <form onSubmit={submit}>
      <p>To be sure you have them, type two of your words from what you wrote down.</p>
      {props.positions.map((p, i) => (
        <Field key={p} label={`Word #${p}`}>
          <input
            name={`word-${p}`} data-testid='confirm-word' data-position={p} autocomplete='off' autocapitalize='off' spellcheck={false} value={typed[i]}
            onInput={(e) => { const v = e.currentTarget.value; setTyped((t) => (i === 0 ? [v, t[1]] : [t[0], v])) }}
          />
        </Field>
      ))}
      {wrong.length > 0 && (
        <Notice kind='error' testId='confirm-wrong'>
          {wrong.map((p) => `Word #${p}`).join(' and ')} {wrong.length === 1 ? 'is' : 'are'} not right. Look again at what you wrote down.
        </Notice>
      )}
      <div class='row'>
        <button type='submit' disabled={props.busy || typed.some((t) => t.trim() === '')}>{props.busy ? 'Creating your record…' : 'Create my record'}</button>
        <button type='button' class='secondary' onClick={props.onShowAgain}>Show the words again</button>
      </div>
    </form>
  )
}
