#!/usr/bin/env node
// The `healthchain` command. The repository runs its TypeScript directly
// (no build step), so this launcher registers tsx's loader in this process
// and imports the CLI's entry: no child process, so signals (Ctrl-C) reach
// the CLI itself.
import { register } from 'tsx/esm/api'

register()
await import('../src/cli/main.ts')
