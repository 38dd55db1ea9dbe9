/**
 * The installed version of the `healthchain` command (`healthchain --version`): the node package's own, read from its
 * package.json, which sits two folders up from both src/cli/ (the repository) and dist/cli/ (a release).
 */
import { createRequire } from 'node:module'

export const HEALTHCHAIN_VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string }).version
