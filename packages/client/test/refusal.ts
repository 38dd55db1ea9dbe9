import { ClientError } from '../src/index.js'

/** The ClientError `run` throws (anything else is rethrown; no throw fails the test). */
export function refusal (run: () => unknown): ClientError {
  try {
    run()
  } catch (err) {
    if (err instanceof ClientError) return err
    throw err
  }
  throw new Error('expected a ClientError')
}
