/**
 * Upload FHIR: an Observation or a Bundle of them, as a JSON file from the
 * lab system; the node validates it against FHIR R4 and stores it as one
 * exam. Each upload is listed with its entry number or what was wrong.
 */
import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import { explain } from '../api.js'
import type { Session } from '../session.js'
import { Badge, Card, Field } from '../ui/components.js'
import { uploadFhir } from './api.js'

interface Upload {
  readonly name: string
  readonly ok: boolean
  readonly text: string
}

export function FhirUpload (props: { session: Session, userId: string }): JSX.Element {
  const [file, setFile] = useState<File | undefined>(undefined)
  const [values, setValues] = useState<'plain' | 'sealed'>('plain')
  const [busy, setBusy] = useState(false)
  const [uploads, setUploads] = useState<Upload[]>([])

  const upload = async (e: Event): Promise<void> => {
    e.preventDefault()
    if (file === undefined) return
    setBusy(true)
    let result: Upload
    try {
      let resource: unknown
      try {
        resource = JSON.parse(await file.text())
      } catch {
        throw new Error('This file is not JSON: export the Observation or Bundle as FHIR JSON.')
      }
      const reply = await uploadFhir(props.session.token, props.userId, resource, values)
      const text = reply.duplicate ? `already stored as entry #${reply.seq}` : `stored as entry #${reply.seq} (values ${values})`
      result = { name: file.name, ok: true, text }
    } catch (err) {
      const { code, message } = explain(err)
      result = { name: file.name, ok: false, text: `${message} (${code})` }
    } finally {
      setBusy(false)
    }
    setUploads((before) => [result, ...before])
  }

  return (
    <Card title='Upload FHIR' testId='fhir-upload'>
      <form onSubmit={(e) => { void upload(e) }}>
        <Field label='FHIR file' hint='An Observation, or a Bundle (collection) of Observations, in FHIR R4 JSON. Notes are always sealed.'>
          <input type='file' name='fhir-file' accept='.json,application/json,application/fhir+json' onChange={(e) => setFile(e.currentTarget.files?.[0])} />
        </Field>
        <fieldset class='row'>
          <legend class='label'>Values</legend>
          <label class='row'><input type='radio' name='fhir-values' checked={values === 'plain'} onChange={() => setValues('plain')} /> plain</label>
          <label class='row'><input type='radio' name='fhir-values' checked={values === 'sealed'} onChange={() => setValues('sealed')} /> sealed</label>
        </fieldset>
        <button type='submit' disabled={busy || file === undefined}>{busy ? 'Uploading…' : 'Upload'}</button>
      </form>
      {uploads.length > 0 && (
        <ul class='timeline' data-testid='fhir-results'>
          {uploads.map((u, i) => (
            <li key={i} data-testid='fhir-result'>
              {u.ok ? <Badge kind='ok'>stored</Badge> : <Badge kind='bad'>refused</Badge>} <strong>{u.name}</strong>: {u.text}
            </li>
          ))}
        </ul>
      )}
    </Card>
  )
}
