/** What every command is given: where to print, the environment, and how to wait for a stop request. */
import type { Io } from './output.js'

export interface CliContext {
  readonly io: Io
  /** The process environment (HEALTHCHAIN_* config overrides for `start`, HEALTHCHAIN_API_KEY). */
  readonly env: Readonly<Record<string, string | undefined>>
  /**
   * Resolves with the signal's name when the process is asked to stop
   * (SIGINT, SIGTERM). Long-running commands (`start`, `dev`) wait on it and
   * then shut down cleanly; other commands never install a handler, so
   * Ctrl-C ends them as usual.
   */
  readonly untilStopped: () => Promise<string>
}
