/**
 * The patient's custody actions, on the node that serves this console:
 *
 *   move here    this node (an examiner) offers to continue the chain
 *                (GET /v1/users/{id}/continuation); the offer is checked on
 *                this device (client's checkOffer: it continues the chain
 *                whose genesis the user signed, moves it here, and the old
 *                custodian's head it carries verifies), the migrate signed
 *                with the key in force and sent (POST …/continuation)
 *   renew keys   the recovery phrase typed again derives the next generation:
 *                the rekey reveals it, signed by it (client's buildRotation);
 *                this tab then signs in and writes with the new keys
 *
 * The console talks to its own node only, so a patient moves their record
 * to the institution whose console they opened.
 */
import { buildRotation, checkOffer, signMigrate, type CustodyOffer } from '@healthchain/client/custody-writes'
import { bytesToHex, decodeEntry, encodeEntry, fromHex, type InstitutionId } from '@healthchain/core'
import { chainSummarySchema, continuationOfferSchema, continuedReplySchema, entriesReplySchema, type ContinuedReply } from '@healthchain/node/api'
import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import { ApiFailure, request } from '../api.js'
import { migratePlainOfJson } from '../chain-keys.js'
import { crypto } from '../crypto.js'
import { keysFromPhrase } from '../node-api.js'
import type { Session } from '../session.js'
import { useAsync } from '../ui/async.js'
import { Card, ErrorNotice, Field, Loaded, Notice } from '../ui/components.js'
import { generationsOf, loadChain, userOf } from './chain.js'
import { renewSession, sendEntry } from './writes.js'

/** A step on this device whose refusal (the client's or core's, with its code) is shown like the node's. */
function onDevice<T> (run: () => T): T {
  try {
    return run()
  } catch (err) {
    const code = (err as { code?: unknown }).code
    if (typeof code === 'string') throw new ApiFailure(code, `Refused on this device: ${(err as Error).message}`, 0)
    throw err
  }
}

/** Moves the signed-in patient's chain to the node serving this console (see the file comment). */
export async function moveHere (session: Session): Promise<ContinuedReply> {
  const user = userOf(session)
  const path = `/v1/users/${encodeURIComponent(user.userId)}`
  const summary = await request('GET', path, chainSummarySchema, { token: session.token })
  const offer = await request('GET', `${path}/continuation`, continuationOfferSchema, { token: session.token, query: { chainKey: summary.chainKey }, timeoutMs: 90_000 })
  const genesis = (await request('GET', `${path}/entries`, entriesReplySchema, { token: session.token, query: { type: 'genesis', encoded: 'true' } })).entries[0]
  if (genesis?.encoded === undefined) throw new ApiFailure('BAD_RESPONSE', 'The node sent no genesis of your chain to check its offer against.', 0)
  const migrate = onDevice(() => {
    const custody: CustodyOffer = { key: fromHex(offer.key, 32, 'key'), length: offer.length, plain: migratePlainOfJson(offer.plain) }
    const signedGenesis = decodeEntry(fromHex(genesis.encoded!, genesis.encoded!.length / 2, 'encoded'))
    checkOffer(custody, generationsOf(session)[0]!, session.node.name as InstitutionId, signedGenesis, crypto)
    return signMigrate(custody, user, crypto)
  })
  return await request('POST', `${path}/continuation`, continuedReplySchema, { token: session.token, body: { migrate: bytesToHex(encodeEntry(migrate)) } })
}

/** Renews the patient's keys with the phrase typed again; returns the session signed in with the new generation. */
export async function renewKeys (session: Session, phrase: string, generation: number): Promise<Session> {
  const user = userOf(session)
  if (keysFromPhrase(phrase).userId !== user.userId) throw new ApiFailure('BAD_PHRASE', 'This recovery phrase is not the one you signed in with.', 0)
  const { unsigned, keys } = onDevice(() => buildRotation(phrase, generation, crypto))
  // The rekey is signed by the keys it reveals.
  await sendEntry({ ...session, user: keys }, unsigned)
  const generations = [...generationsOf(session).slice(0, generation + 1), keys]
  return await renewSession({ ...session, user: keys, generations }, keys)
}

function MoveHere (props: { session: Session, custodian: string, onDone: () => void }): JSX.Element {
  const here = props.session.node.name
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(undefined)
  const [done, setDone] = useState<ContinuedReply | undefined>(undefined)
  if (done !== undefined) return <Notice kind='ok' testId='move-done'>Your record is kept by {done.custodian} now, from entry #{done.length} on.</Notice>
  if (props.custodian === here) return <p data-testid='move-here'>Your record is kept here, by {here}.</p>
  const move = async (): Promise<void> => {
    setBusy(true)
    setError(undefined)
    try {
      setDone(await moveHere(props.session))
      props.onDone()
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }
  return (
    <>
      <p data-testid='move-here'>
        Your record is kept by {props.custodian}. {here} can keep it from now on: it copies your record as it is, and you sign the move here.
        Nothing already written changes.
      </p>
      {error !== undefined && <ErrorNotice error={error} testId='move-error' />}
      <button type='button' disabled={busy} onClick={() => { void move() }}>{busy ? 'Moving…' : `Move my record to ${here}`}</button>
    </>
  )
}

function RenewKeys (props: { session: Session, generation: number, onDone: (session: Session) => void }): JSX.Element {
  const [phrase, setPhrase] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(undefined)
  const renew = async (e: Event): Promise<void> => {
    e.preventDefault()
    setBusy(true)
    setError(undefined)
    try {
      props.onDone(await renewKeys(props.session, phrase, props.generation))
      setPhrase('')
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }
  return (
    <form onSubmit={(e) => { void renew(e) }} data-testid='renew-form'>
      <p class='muted'>
        Your keys are at generation {props.generation}. Renewing them derives the next ones from the same recovery phrase: keep it as it is.
        Entries you write from then on are signed with the new keys.
      </p>
      <Field label='Your recovery phrase, to renew your keys'>
        <input type='password' autocomplete='off' value={phrase} onInput={(e) => setPhrase(e.currentTarget.value)} />
      </Field>
      {error !== undefined && <ErrorNotice error={error} testId='renew-error' />}
      <button type='submit' disabled={busy || phrase.trim() === ''}>{busy ? 'Renewing…' : 'Renew my keys'}</button>
    </form>
  )
}

export function CustodyScreen (props: { session: Session }): JSX.Element {
  const [session, setSession] = useState(props.session)
  const [version, setVersion] = useState(0)
  const [renewed, setRenewed] = useState<number | undefined>(undefined)
  const chain = useAsync(async () => await loadChain(session), [session.token, version])
  return (
    <Card title='Where your record is kept, and your keys' testId='custody'>
      <Loaded state={chain} what='your chain'>
        {(data) => (
          <>
            <MoveHere session={session} custodian={data.custodian} onDone={() => setVersion((v) => v + 1)} />
            <h3>Your keys</h3>
            {renewed !== undefined && <Notice kind='ok' testId='renew-done'>Your keys were renewed: generation {renewed} is in force.</Notice>}
            <RenewKeys
              session={session} generation={data.generation}
              onDone={(next) => { setRenewed(generationsOf(next).length - 1); setSession(next); setVersion((v) => v + 1) }}
            />
          </>
        )}
      </Loaded>
    </Card>
  )
}
