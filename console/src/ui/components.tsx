/**
 * The few building blocks every screen uses, so that messages, forms and
 * tables look and behave the same for every party.
 */
import type { ComponentChildren, JSX } from 'preact'
import { explain } from '../api.js'
import type { AsyncState } from './async.js'

export function Notice (props: { kind: 'error' | 'info' | 'ok' | 'warn', children: ComponentChildren, testId?: string }): JSX.Element {
  return <div class={`notice notice-${props.kind}`} role={props.kind === 'error' ? 'alert' : 'status'} data-testid={props.testId}>{props.children}</div>
}

/** A failure as a person should read it, with its stable code for support. */
export function ErrorNotice (props: { error: unknown, testId?: string }): JSX.Element {
  const { code, message } = explain(props.error)
  return (
    <Notice kind='error' testId={props.testId ?? 'error'}>
      <strong>{message}</strong> <code class='code'>{code}</code>
    </Notice>
  )
}

export function Loading (props: { what?: string }): JSX.Element {
  return <p class='loading' role='status'>Loading{props.what === undefined ? '' : ` ${props.what}`}…</p>
}

/** Renders an async load: progress, failure (with retry), or the content. */
export function Loaded<T> (props: { state: AsyncState<T> & { reload: () => void }, what?: string, children: (data: T) => ComponentChildren }): JSX.Element {
  const { state } = props
  return (
    <>
      {state.status === 'failed' && (
        <div class='row'>
          <ErrorNotice error={state.error} />
          <button type='button' class='secondary' onClick={state.reload}>Try again</button>
        </div>
      )}
      {state.status === 'loading' && state.data === undefined && <Loading {...(props.what === undefined ? {} : { what: props.what })} />}
      {state.data !== undefined && props.children(state.data)}
    </>
  )
}

export function Card (props: { title?: ComponentChildren, children: ComponentChildren, class?: string, testId?: string }): JSX.Element {
  return (
    <section class={`card ${props.class ?? ''}`} data-testid={props.testId}>
      {props.title !== undefined && <h2>{props.title}</h2>}
      {props.children}
    </section>
  )
}

export function Field (props: { label: string, hint?: string, children: ComponentChildren }): JSX.Element {
  return (
    <label class='field'>
      <span class='label'>{props.label}</span>
      {props.children}
      {props.hint !== undefined && <span class='hint'>{props.hint}</span>}
    </label>
  )
}

export function Badge (props: { kind: 'ok' | 'warn' | 'bad' | 'muted', children: ComponentChildren, title?: string }): JSX.Element {
  return <span class={`badge badge-${props.kind}`} title={props.title}>{props.children}</span>
}

const dateFormat = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric' })
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' })

export function formatDate (time: string | number): string { return dateFormat.format(new Date(time)) }
export function formatDateTime (time: string | number): string { return dateTimeFormat.format(new Date(time)) }

/** A long id shortened for a table cell; the whole id in the tooltip. */
export function ShortId (props: { id: string, length?: number }): JSX.Element {
  const n = props.length ?? 10
  return <code class='id' title={props.id}>{props.id.length > n ? `${props.id.slice(0, n)}…` : props.id}</code>
}
