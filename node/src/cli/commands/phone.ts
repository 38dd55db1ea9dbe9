/**
 * `healthchain phone init | sync | import | timeline | grant | revoke | status`:
 * the command line plays a user's phone, for demos and tests, through
 * packages/client's PhoneClient — this file only parses options, opens the
 * device and prints; everything a phone does is the client's.
 *
 *   init       creates (or reopens) a device directory for the user of a
 *              phrase file. The phrase is kept in the directory owner-only
 *              (the client's `savePhrase`), the registry key and the node
 *              addresses in its device.json (`rememberNodes`), so the other
 *              commands need only --device. Works offline.
 *   the rest   reopen the device from its directory (`readSavedDevice`,
 *              `openSaved`), dial the nodes it remembers — best effort, and,
 *              as on a phone, that alone sends whatever the outbox holds —
 *              do one thing and close the device again. `timeline` (without
 *              --sync) and `status --offline` stay off the network.
 *
 * Errors: the client's ClientError codes pass through unchanged (`error
 * NOT_CONNECTED: …`, `error IMPORT_INVALID: day.gpx: GPX line 12: …`). The
 * phrase is read from its file and never printed.
 */
import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { InvalidArgumentError, Option, type Command } from 'commander'
import { multiaddr } from '@multiformats/multiaddr'
import { ENTRY_TYPES, bytesToHex, fromHex, type EntryType, type InstitutionId } from '@healthchain/core'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import {
  PhoneClient, isClientError, measureOfCode, parseGpx, parseStepsCsv, readSavedDevice,
  type ExerciseMeasure, type FlushResult, type SavedDevice, type TimelineItem, type WriteResult, type WrittenEntry
} from '@healthchain/client'
import type { CliContext } from '../context.js'
import { CliError, usageError } from '../errors.js'
import { readDevManifest } from '../dev/layout.js'
import { Output, toJsonText } from '../output.js'
import { examples, grantEndArg, institutionIdArg, intArg, pathArg, withJson } from '../options.js'
import { readPhraseFile } from '../user-device.js'

/** A multiaddr a phone dials: it must name the node's peer id (the phone checks whom it reached). */
function nodeAddressArg (value: string, previous: string[] = []): string[] {
  try {
    if (!multiaddr(value).getComponents().some((c) => c.name === 'p2p')) throw new Error('no /p2p')
  } catch {
    throw new InvalidArgumentError('expected a node\'s multiaddr with its peer id, such as /ip4/127.0.0.1/tcp/7010/p2p/12D3KooW…')
  }
  return [...previous, value]
}

function registryKeyArg (value: string): string {
  if (!/^[0-9a-f]{64}$/i.test(value)) throw new InvalidArgumentError('expected the registry key: 64 hex characters (as `consortium create` or dev.json show it)')
  return value.toLowerCase()
}

const DEVICE_OPTION = ['--device <dir>', 'the phone\'s device directory (made by `phone init`)'] as const

export function registerPhone (program: Command, ctx: CliContext): void {
  const phone = program.command('phone').helpCommand(false)
    .description('play a user\'s phone (a light peer): its own chain synced and verified, imports, timeline, consent')

  withJson(phone.command('init'))
    .summary('set up a phone\'s device directory for a user')
    .description('Create (or reopen) a device directory for the user of a phrase file: the phrase is kept there owner-only, with the registry key and the nodes to dial (every node of a running `healthchain dev` network with --dev). Offline: nothing is dialled until `phone sync`. Running it again adds nodes.')
    .requiredOption(...DEVICE_OPTION, pathArg)
    .requiredOption('--phrase-file <file>', 'the user\'s phrase file (`user new --out`)', pathArg)
    .option('--dev <dir>', 'a running dev network\'s directory: its registry key and nodes from dev.json', pathArg)
    .option('--registry-key <hex>', 'the consortium registry\'s key (with --node)', registryKeyArg)
    .option('--node <multiaddr>', 'a node to dial, with /p2p/<peer id> (repeatable)', nodeAddressArg)
    .addHelpText('after', examples(
      'healthchain phone init --device ./alice-phone --phrase-file ./alice.phrase.json --dev ./.healthchain-dev',
      'healthchain phone init --device ./alice-phone --phrase-file ./alice.phrase.json --registry-key 3f1c… --node /ip4/10.0.0.1/tcp/4001/p2p/12D3KooW…'
    ))
    .action(async (opts: { device: string, phraseFile: string, dev?: string, registryKey?: string, node?: string[], json?: boolean }) => {
      const out = new Output(ctx.io, opts)
      const { registryKey, nodes } = await initTarget(opts)
      const phrase = await readPhraseFile(opts.phraseFile)
      const client = await clientCall(async () => await PhoneClient.open({
        dir: opts.device, phrase, savePhrase: true, registryKey: fromHex(registryKey, 32, 'registryKey'), bootstrapPeers: nodes.map(peerOf), crypto
      }))
      try {
        await clientCall(async () => { await client.rememberNodes(nodes) })
        const saved = await readDevice(opts.device)
        const chainKey = client.chainKey === undefined ? undefined : bytesToHex(client.chainKey)
        out.result({ device: opts.device, userId: client.userId, peerId: client.peerId, registryKey, chainKey, nodes: saved.nodes }, [
          `phone device ${opts.device} for user ${client.userId}`,
          `  peer id   ${client.peerId} (the user's key)`,
          `  registry  ${registryKey}`,
          `  chain     ${chainKey ?? 'not known yet: the first `phone sync` asks the nodes and checks block 0'}`,
          `  nodes     ${saved.nodes.length} to dial`,
          'The recovery phrase is kept in the device directory, owner-only.',
          `Next: healthchain phone sync --device ${opts.device}`
        ])
      } finally {
        await client.close()
      }
    })

  withJson(phone.command('sync'))
    .summary('sync the user\'s chain and send the outbox')
    .description('Dial the device\'s nodes, find the user\'s chain if the device does not know it yet (block 0 must be the user\'s own genesis), fetch and verify every new block, and send what the outbox holds.')
    .requiredOption(...DEVICE_OPTION, pathArg)
    .option('--timeout <ms>', 'time limit of the sync (default 10000)', intArg(100, 600_000))
    .addHelpText('after', examples('healthchain phone sync --device ./alice-phone', 'healthchain phone sync --device ./alice-phone --json'))
    .action(async (opts: { device: string, timeout?: number, json?: boolean }) => {
      const out = new Output(ctx.io, opts)
      await withDevice(opts.device, { dial: true, syncTimeoutMs: opts.timeout }, async ({ client, saved, dialled }) => {
        const connected = await requireConnected(client, saved)
        const report = await client.sync()
        const status = await client.status()
        const sent = [...dialled.sent, ...report.flush.sent]
        const failed = [...dialled.failed, ...report.flush.failed]
        out.result({
          userId: client.userId, chainKey: status.chainKey, connectedNodes: connected, length: report.length, verifiedLength: report.verifiedLength,
          problem: report.problem, sent, failed, outbox: status.outbox, stopped: stoppedOf(report.flush)
        }, [
          `synced ${client.userId}'s chain from ${connected.length} node${connected.length === 1 ? '' : 's'}`,
          `  local length     ${report.length}`,
          `  verified length  ${report.verifiedLength}${report.problem === undefined ? '' : ` — block ${String(report.problem.seq)} failed verification (${report.problem.code}): it and what follows are not shown`}`,
          `  outbox           ${sent.length} sent now, ${status.outbox.pending} pending, ${status.outbox.failed} failed${stoppedText(report.flush)}`
        ])
      })
    })

  withJson(phone.command('import'))
    .summary('import a day of movement (GPX) or steps (CSV)')
    .description('Import a GPX track (its points become location entries) or a steps CSV (each row an exercise entry: header start,end,steps[,distance_m,active_energy_kcal,heart_rate_bpm]). The entries are signed on this device and go through the outbox: sent if a node is reachable, else kept and sent by a later command. A bad file is refused whole, naming its line and field.')
    .requiredOption(...DEVICE_OPTION, pathArg)
    .addOption(new Option('--gpx <file>', 'a GPX 1.0/1.1 track').argParser(pathArg).conflicts('csv'))
    .addOption(new Option('--csv <file>', 'a steps CSV').argParser(pathArg))
    .addHelpText('after', examples(
      'healthchain phone import --device ./alice-phone --gpx ./day.gpx',
      'healthchain phone import --device ./alice-phone --csv ./steps.csv --json'
    ))
    .action(async (opts: { device: string, gpx?: string, csv?: string, json?: boolean }) => {
      const out = new Output(ctx.io, opts)
      const file = opts.gpx ?? opts.csv
      if (file === undefined) throw usageError('say what to import: --gpx <file> or --csv <file>')
      const text = await readFile(file, 'utf8')
      // Parsed before the device is opened: a bad file costs no dialling, and nothing of it is queued.
      const parsed = await clientCall(() => opts.gpx !== undefined ? { kind: 'gpx' as const, points: parseGpx(text).points } : { kind: 'csv' as const, rows: parseStepsCsv(text) }, basename(file))
      await withDevice(opts.device, { dial: true }, async ({ client }) => {
        const written = parsed.kind === 'gpx' ? await client.writeLocation(parsed.points) : await client.writeExercises(parsed.rows)
        const count = parsed.kind === 'gpx' ? `${parsed.points.length} track point${parsed.points.length === 1 ? '' : 's'}` : `${parsed.rows.length} row${parsed.rows.length === 1 ? '' : 's'}`
        const kind = parsed.kind === 'gpx' ? 'location' : 'exercise'
        out.result({
          file, kind: parsed.kind, records: parsed.kind === 'gpx' ? parsed.points.length : parsed.rows.length,
          entries: written.entries, ...tally(written.entries), pending: written.flush.pending, stopped: stoppedOf(written.flush)
        }, [`imported ${count} from ${basename(file)} as ${written.entries.length} ${kind} entr${written.entries.length === 1 ? 'y' : 'ies'}: ${writtenText(written)}`])
      })
    })

  withJson(phone.command('timeline'))
    .summary('the user\'s timeline, exam results opened on this device')
    .description('The verified entries of the user\'s chain as this device holds them, oldest first, with every exam\'s sealed part opened on this device (the nodes only ever hold it encrypted). Offline unless --sync.')
    .requiredOption(...DEVICE_OPTION, pathArg)
    .addOption(new Option('--type <type>', 'only entries of this type').choices(ENTRY_TYPES))
    .option('--sync', 'dial the nodes and sync first')
    .addHelpText('after', examples(
      'healthchain phone timeline --device ./alice-phone',
      'healthchain phone timeline --device ./alice-phone --type exam --sync --json'
    ))
    .action(async (opts: { device: string, type?: EntryType, sync?: boolean, json?: boolean }) => {
      const out = new Output(ctx.io, opts)
      await withDevice(opts.device, { dial: opts.sync === true }, async ({ client, saved }) => {
        if (opts.sync === true) {
          await requireConnected(client, saved)
          await client.sync()
        }
        const items = await client.timeline(opts.type === undefined ? {} : { types: [opts.type], genesis: opts.type === 'genesis' })
        const status = await client.status()
        out.result({ userId: client.userId, chainKey: status.chainKey, verifiedLength: status.verifiedLength, items }, [
          `timeline of ${client.userId}: ${items.length} entr${items.length === 1 ? 'y' : 'ies'}${opts.type === undefined ? '' : ` of type ${opts.type}`} (verified length ${status.verifiedLength})`,
          ...items.flatMap(renderItem)
        ])
      })
    })

  withJson(phone.command('grant'))
    .summary('grant an examiner access to sealed data, history included')
    .description('Grant an examiner access to the user\'s sealed data: later exams are sealed for it too, and the data keys of the exams this device holds are re-wrapped for it on this device. Syncs first when a node is reachable, so the history is complete; else the grant covers this device\'s copy and is kept until a node takes it.')
    .requiredOption(...DEVICE_OPTION, pathArg)
    .requiredOption('--examiner <id>', 'the examiner to grant', institutionIdArg)
    .option('--until <time>', 'access ends at this time (ISO 8601 with a zone, in the future; default: until revoked)', grantEndArg)
    .addHelpText('after', examples(
      'healthchain phone grant --device ./alice-phone --examiner hospital-b',
      'healthchain phone grant --device ./alice-phone --examiner hospital-b --until 2026-12-31T00:00:00Z --json'
    ))
    .action(async (opts: { device: string, examiner: InstitutionId, until?: number, json?: boolean }) => {
      const out = new Output(ctx.io, opts)
      await withDevice(opts.device, { dial: true }, async ({ client }) => {
        if ((await client.status()).connectedNodes.length > 0) await client.sync()
        else out.warn('no node reachable: the grant covers the exams this device holds, and is kept until a node takes it')
        // The exams whose sealed part opens here are exactly those whose data keys the grant re-wraps.
        const rewrapped = (await client.timeline({ types: ['exam'] })).filter((item) => item.type === 'exam' && item.sealed !== undefined).length
        const written = await client.grant(opts.examiner, opts.until === undefined ? {} : { until: opts.until })
        out.result({ userId: client.userId, examiner: opts.examiner, until: opts.until, rewrapped, entries: written.entries, stopped: stoppedOf(written.flush) },
          `granted ${opts.examiner} access${opts.until === undefined ? '' : ` until ${new Date(opts.until).toISOString()}`} (${rewrapped} past exam key${rewrapped === 1 ? '' : 's'} re-wrapped): ${writtenText(written)}`)
      })
    })

  withJson(phone.command('revoke'))
    .summary('revoke an examiner\'s access to sealed data')
    .description('Revoke an examiner\'s access: later exams are no longer sealed for it (what it could read stays readable to it). Kept until a node takes it if none is reachable.')
    .requiredOption(...DEVICE_OPTION, pathArg)
    .requiredOption('--examiner <id>', 'the examiner to revoke', institutionIdArg)
    .addHelpText('after', examples('healthchain phone revoke --device ./alice-phone --examiner hospital-b'))
    .action(async (opts: { device: string, examiner: InstitutionId, json?: boolean }) => {
      const out = new Output(ctx.io, opts)
      await withDevice(opts.device, { dial: true }, async ({ client }) => {
        const written = await client.revoke(opts.examiner)
        out.result({ userId: client.userId, examiner: opts.examiner, entries: written.entries, stopped: stoppedOf(written.flush) },
          `revoked ${opts.examiner}'s access: ${writtenText(written)}`)
      })
    })

  withJson(phone.command('status'))
    .summary('the phone\'s sync status and outbox')
    .description('The device\'s sync status: nodes connected (after dialling those it remembers, which also sends what is queued, unless --offline), the chain\'s local and verified lengths, and the outbox (writes pending, writes the custodian refused for good with its code).')
    .requiredOption(...DEVICE_OPTION, pathArg)
    .option('--offline', 'do not dial: only what the device holds')
    .addHelpText('after', examples('healthchain phone status --device ./alice-phone', 'healthchain phone status --device ./alice-phone --offline --json'))
    .action(async (opts: { device: string, offline?: boolean, json?: boolean }) => {
      const out = new Output(ctx.io, opts)
      await withDevice(opts.device, { dial: opts.offline !== true }, async ({ client, saved }) => {
        const status = await client.status()
        const pending = client.pending().map(({ id, type, time }) => ({ id, type, time }))
        const failed = client.failedWrites().map(({ id, type, time, code }) => ({ id, type, time, code }))
        out.result({ device: opts.device, ...status, nodes: saved.nodes, pending, failed }, [
          `phone device ${opts.device}: user ${status.userId}`,
          `  chain            ${status.chainKey ?? 'not known yet (phone sync)'}`,
          `  nodes            ${status.connectedNodes.length} connected of ${saved.nodes.length} remembered${opts.offline === true ? ' (offline: none dialled)' : ''}`,
          ...status.connectedNodes.map((peer) => `                   ${client.institutionOfPeer(peer) ?? '(not in the registry)'}  ${peer}`),
          `  local length     ${status.localLength}`,
          `  verified length  ${status.verifiedLength}`,
          `  outbox           ${status.outbox.pending} pending, ${status.outbox.failed} failed`,
          ...failed.map((f) => `    refused: ${f.type} ${f.id} (${f.code})`)
        ])
      })
    })
}

// ------------------------------------------------------------------ the device

interface OpenDevice {
  readonly client: PhoneClient
  readonly saved: SavedDevice
  /** What dialling the remembered nodes sent (empty when not dialled). */
  readonly dialled: FlushResult
}

const NOTHING_SENT: FlushResult = { sent: [], failed: [], pending: 0 }

/**
 * Opens the device in `dir` (with the phrase it keeps), dials its nodes if
 * asked, runs `fn`, and always closes it: the store's lock is released and
 * the light peer stopped before the command returns.
 */
async function withDevice (dir: string, opts: { dial: boolean, syncTimeoutMs?: number }, fn: (device: OpenDevice) => Promise<void>): Promise<void> {
  const saved = await readDevice(dir)
  const client = await clientCall(async () => await PhoneClient.openSaved({
    dir, registryKey: saved.registryKey, bootstrapPeers: saved.nodes.map(peerOf), crypto, ...(opts.syncTimeoutMs === undefined ? {} : { syncTimeoutMs: opts.syncTimeoutMs })
  }))
  try {
    const dialled = opts.dial ? await clientCall(async () => await dialNodes(client, saved)) : NOTHING_SENT
    await clientCall(async () => { await fn({ client, saved, dialled }) })
  } finally {
    await client.close()
  }
}

/**
 * A node's libp2p resets new connections past 5 a second from one host
 * (its connection manager's `inboundConnectionThreshold`): phone commands
 * run back to back from one machine meet that limit, so a device that
 * reached none of its nodes tries once more after the window.
 */
const REDIAL_AFTER_MS = 1_100

/** Dials the remembered nodes (which also sends what is queued); once more after REDIAL_AFTER_MS if none answered. */
async function dialNodes (client: PhoneClient, saved: SavedDevice): Promise<FlushResult> {
  const first = await client.reconnect()
  if (saved.nodes.length === 0 || (await client.status()).connectedNodes.length > 0) return first
  await new Promise((resolve) => setTimeout(resolve, REDIAL_AFTER_MS))
  const second = await client.reconnect()
  return { ...second, sent: [...first.sent, ...second.sent], failed: [...first.failed, ...second.failed] }
}

async function readDevice (dir: string): Promise<SavedDevice> {
  const saved = await clientCall(async () => await readSavedDevice(dir))
  if (saved === undefined) throw new CliError('NOT_A_DATA_DIR', `${dir} is not a phone device directory: set it up with \`healthchain phone init --device ${dir} --phrase-file …\``)
  return saved
}

/** The peer ids connected now; NOT_CONNECTED (the client's code) when none of the remembered nodes answered. */
async function requireConnected (client: PhoneClient, saved: SavedDevice): Promise<string[]> {
  const connected = (await client.status()).connectedNodes
  if (connected.length === 0) {
    throw new CliError('NOT_CONNECTED', saved.nodes.length === 0
      ? 'this device knows no node: add one with `phone init --node <multiaddr>` (or --dev)'
      : `none of the ${saved.nodes.length} node${saved.nodes.length === 1 ? '' : 's'} this device knows could be dialled`)
  }
  return connected
}

/** The registry key and node addresses `phone init` was given, from dev.json or from the options. */
async function initTarget (opts: { dev?: string, registryKey?: string, node?: string[] }): Promise<{ registryKey: string, nodes: string[] }> {
  if (opts.dev !== undefined) {
    if (opts.registryKey !== undefined || opts.node !== undefined) throw usageError('--dev gives the registry key and the nodes: leave out --registry-key and --node')
    const manifest = await readDevManifest(opts.dev)
    if (manifest === undefined) throw new CliError('NOT_A_DATA_DIR', `${opts.dev} has no dev.json: is \`healthchain dev --dir ${opts.dev}\` (npm start) running?`)
    const nodes = manifest.nodes.map((n) => n.p2p.includes('/p2p/') ? n.p2p : `${n.p2p}/p2p/${n.peerId}`)
    return { registryKey: manifest.registryKey, nodes }
  }
  if (opts.registryKey === undefined || opts.node === undefined || opts.node.length === 0) {
    throw usageError('say which consortium: --dev <dir> (a running dev network), or --registry-key <hex> with at least one --node <multiaddr>')
  }
  return { registryKey: opts.registryKey, nodes: opts.node }
}

function peerOf (address: string): string {
  return address.slice(address.lastIndexOf('/p2p/') + 5)
}

/**
 * Runs a client call with its ClientError as the CLI's failure: the code
 * unchanged (scripts branch on it), the message prefixed with `context`
 * (an import's file name), the custodian's code added when there is one.
 */
async function clientCall<T> (fn: () => T | Promise<T>, context?: string): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (!isClientError(err)) throw err
    const remote = err.remoteCode === undefined || err.message.includes(err.remoteCode) ? '' : ` (${err.remoteCode})`
    const hint = err.code === 'NOT_ENROLLED' || err.code === 'NOT_SYNCED' ? ' — run `healthchain phone sync` with a node reachable first' : ''
    throw new CliError(err.code, `${context === undefined ? '' : `${context}: `}${err.message}${remote}${hint}`, { cause: err })
  }
}

// ------------------------------------------------------------------ printing

function stoppedOf (flush: FlushResult): { code: string, message: string } | undefined {
  return flush.stopped === undefined ? undefined : { code: flush.stopped.code, message: flush.stopped.message }
}

function stoppedText (flush: FlushResult): string {
  return flush.stopped === undefined ? '' : ` (sending stopped: ${flush.stopped.code})`
}

function tally (entries: readonly WrittenEntry[]): { sent: number, queued: number, failed: number } {
  return {
    sent: entries.filter((e) => e.state === 'sent').length,
    queued: entries.filter((e) => e.state === 'queued').length,
    failed: entries.filter((e) => e.state === 'failed').length
  }
}

function writtenText (written: WriteResult): string {
  const { sent, queued, failed } = tally(written.entries)
  const parts: string[] = []
  if (sent > 0) {
    const seqs = written.entries.flatMap((e) => e.seq === undefined ? [] : [e.seq])
    parts.push(`${sent} sent (position${seqs.length === 1 ? '' : 's'} ${seqs.length > 3 ? `${seqs[0]!}–${seqs.at(-1)!}` : seqs.join(', ')})`)
  }
  if (queued > 0) parts.push(`${queued} kept on this device${written.flush.stopped === undefined ? '' : ` (${written.flush.stopped.code})`}, sent by a later \`phone sync\``)
  if (failed > 0) parts.push(`${failed} refused for good (${[...new Set(written.entries.flatMap((e) => e.remoteCode === undefined ? [] : [e.remoteCode]))].join(', ')}): see \`phone status\``)
  return parts.join('; ')
}

function when (ms: number): string {
  return new Date(ms).toISOString().replace(/:\d\d\.\d{3}Z$/, 'Z').replace('T', ' ')
}

/** Names people read for the exercise measures (the JSON output keeps the LOINC codes). */
const MEASURE_LABELS: Readonly<Record<ExerciseMeasure, string>> = { steps: 'steps', distance: 'distance', activeEnergy: 'active energy', heartRate: 'heart rate' }

function observationText (o: { code: string, value: number | string, unit?: string | undefined }): string {
  const measure = measureOfCode(o.code)
  // UCUM's annotations ({steps}) are for machines.
  const unit = (o.unit ?? '').replace(/^\{.*\}$/, '')
  return `${measure === undefined ? o.code : MEASURE_LABELS[measure]} ${String(o.value)}${unit === '' ? '' : ` ${unit}`}`
}

/** One timeline item as a line or two of text (the JSON output carries everything). */
function renderItem (item: TimelineItem): string[] {
  const head = `  #${String(item.seq).padEnd(4)} ${when(item.time)}  ${item.type.padEnd(8)}  by ${item.author.padEnd(12)}`
  switch (item.type) {
    case 'exam': {
      const lines = [`${head}  ${item.plain.title ?? '(untitled)'}${item.plain.observations.length === 0 ? '' : `: ${item.plain.observations.map(observationText).join(', ')}`}`]
      if (item.sealed !== undefined) lines.push(`         sealed (opened on this device): ${compact(item.sealed)}`)
      else if (item.sealedError !== undefined) lines.push(`         sealed: cannot be opened (${item.sealedError})`)
      return lines
    }
    case 'exercise':
      return [`${head}  ${when(item.plain.start)} to ${when(item.plain.end)}: ${item.plain.observations.map(observationText).join(', ')}`]
    case 'location': {
      const times = item.plain.points.map((p) => p.time)
      return [`${head}  ${item.plain.points.length} point${item.plain.points.length === 1 ? '' : 's'}, ${when(Math.min(...times))} to ${when(Math.max(...times))}`]
    }
    case 'consent':
      return [`${head}  ${item.plain.action} ${item.plain.examiner}${item.plain.action === 'grant' && item.plain.until !== undefined ? ` until ${when(item.plain.until)}` : ''}${item.plain.action === 'grant' && item.plain.rewrap !== undefined ? ` (${item.plain.rewrap.keys.length} past key${item.plain.rewrap.keys.length === 1 ? '' : 's'} re-wrapped)` : ''}`]
    case 'erasure':
      return [`${head}  erases #${item.plain.entries.join(', #')}`]
    case 'genesis':
      return [`${head}  custodian ${item.plain.custodian}`]
  }
}

function compact (value: unknown): string {
  const text = toJsonText(value).replace(/\s*\n\s*/g, ' ')
  return text.length > 200 ? `${text.slice(0, 197)}...` : text
}
