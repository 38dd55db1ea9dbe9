/**
 * `healthchain phone init | quorum | sync | import | timeline | grant | revoke | transfer | rotate | status`:
 * the command line plays a user's phone, for demos and tests, through
 * packages/client's PhoneClient — this file only parses options, opens the
 * device (phone-device.ts) and prints (phone-render.ts); everything a phone
 * does is the client's. A phone is the reference user side: a light peer
 * that syncs and verifies its own chain. `healthchain user` is a user at an
 * institution's terminal, through one node's HTTP API, writing the same
 * entries with the same client code.
 *
 *   init       creates (or reopens) a device directory for the user of a
 *              phrase file. The phrase is kept in the directory owner-only
 *              (the client's `savePhrase`), the registry key and the node
 *              addresses in its device.json (`rememberNodes`), so the other
 *              commands need only --device; --quorum sets how many
 *              regulators must have cosigned a head before the phone trusts
 *              it (kept in device.json; default a majority of the registry's
 *              active regulators, 0 an explicit opt-out). Works offline.
 *   quorum     changes that quorum on an existing device, or goes back to
 *              the default with `default`. Works offline.
 *   the rest   reopen the device from its directory (`readSavedDevice`,
 *              `openSaved`), dial the nodes it remembers — best effort, and,
 *              as on a phone, that alone sends whatever the outbox holds —
 *              do one thing and close the device again. `timeline` (without
 *              --sync) and `status --offline` stay off the network.
 *
 * Errors: the client's ClientError codes pass through unchanged (`error
 * NOT_CONNECTED: …`, `error IMPORT_INVALID: day.gpx: GPX line 12: …`,
 * `error NO_QUORUM: no head has 1 cosignatures: the best has 0 …`). The
 * phrase is read from its file and never printed.
 */
import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { Option, type Command } from 'commander'
import { ENTRY_TYPES, bytesToHex, fromHex, type EntryType, type InstitutionId } from '@healthchain/core'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import { PhoneClient, parseGpx, parseStepsCsv, reassignmentWarning } from '@healthchain/client'
import type { CliContext } from '../context.js'
import { usageError } from '../errors.js'
import { Output } from '../output.js'
import { examples, grantEndArg, institutionIdArg, intArg, pathArg, withJson } from '../options.js'
import {
  DEVICE_OPTION, clientCall, initTarget, nodeAddressArg, peerOf, readDevice, registryKeyArg, requireConnected, withDevice
} from '../phone-device.js'
import { renderItem, stoppedOf, stoppedText, tally, writtenText } from '../phone-render.js'
import { readPhraseFile } from '../user-device.js'

function quorumText (quorum: number | undefined): string {
  if (quorum === undefined) return 'a majority of the registry\'s active regulators must cosign a head'
  return quorum === 0 ? '0: no witness asked (opted out)' : `${quorum} regulator${quorum === 1 ? '' : 's'} must cosign a head`
}

/** `default` (a majority of the registry's active regulators) or a count. */
function quorumArg (value: string): number | 'majority' {
  return value === 'default' ? 'majority' : intArg(0, 1_000)(value)
}

export function registerPhone (program: Command, ctx: CliContext): void {
  const phone = program.command('phone').helpCommand(false)
    .description('play a user\'s phone (a light peer): its own chain synced and verified, imports, timeline, consent, custody moves, key rotation')
    .addHelpText('after', `
Which to use: this is what a phone runs, the reference user side — a light libp2p peer that syncs and
verifies only its own chain, signs on the device and keeps an offline outbox. \`healthchain user\` acts
for a user through one node's HTTP API instead (a user at an institution's terminal); both write the
same entries, built, signed and re-signed by the same client code.
`)

  withJson(phone.command('init'))
    .summary('set up a phone\'s device directory for a user')
    .description('Create (or reopen) a device directory for the user of a phrase file: the phrase is kept there owner-only, with the registry key and the nodes to dial (every node of a running `healthchain dev` network with --dev). Offline: nothing is dialled until `phone sync`. Running it again adds nodes.')
    .requiredOption(...DEVICE_OPTION, pathArg)
    .requiredOption('--phrase-file <file>', 'the user\'s phrase file (`user new --out`)', pathArg)
    .option('--dev <dir>', 'a running dev network\'s directory: its registry key and nodes from dev.json', pathArg)
    .option('--registry-key <hex>', 'the consortium registry\'s key (with --node)', registryKeyArg)
    .option('--node <multiaddr>', 'a node to dial, with /p2p/<peer id> (repeatable)', nodeAddressArg)
    .option('--quorum <n>',
      'regulators that must have cosigned a head before the phone trusts it (default: a majority of the registry\'s active regulators; 0: none)',
      intArg(0, 1_000))
    .addHelpText('after', examples(
      'healthchain phone init --device ./alice-phone --phrase-file ./alice.phrase.json --dev ./.healthchain-dev',
      'healthchain phone init --device ./alice-phone --phrase-file ./alice.phrase.json --dev ./.healthchain-dev --quorum 0',
      'healthchain phone init --device ./alice-phone --phrase-file ./alice.phrase.json --registry-key 3f1c… --node /ip4/10.0.0.1/tcp/4001/p2p/12D3KooW…'
    ))
    .action(async (opts: { device: string, phraseFile: string, dev?: string, registryKey?: string, node?: string[], quorum?: number, json?: boolean }) => {
      const out = new Output(ctx.io, opts)
      const { registryKey, nodes } = await initTarget(opts)
      const phrase = await readPhraseFile(opts.phraseFile)
      const client = await clientCall(async () => await PhoneClient.open({
        dir: opts.device,
        phrase,
        savePhrase: true,
        registryKey: fromHex(registryKey, 32, 'registryKey'),
        bootstrapPeers: nodes.map(peerOf),
        crypto,
        ...(opts.quorum === undefined ? {} : { quorum: opts.quorum })
      }))
      try {
        await clientCall(async () => { await client.rememberNodes(nodes) })
        const saved = await readDevice(opts.device)
        const chainKey = client.chainKey === undefined ? undefined : bytesToHex(client.chainKey)
        out.result({ device: opts.device, userId: client.userId, peerId: client.peerId, registryKey, chainKey, nodes: saved.nodes, quorum: saved.quorum }, [
          `phone device ${opts.device} for user ${client.userId}`,
          `  peer id   ${client.peerId} (the user's key)`,
          `  registry  ${registryKey}`,
          `  chain     ${chainKey ?? 'not known yet: the first `phone sync` asks the nodes and checks block 0'}`,
          `  nodes     ${saved.nodes.length} to dial`,
          `  quorum    ${quorumText(saved.quorum)}`,
          'The recovery phrase is kept in the device directory, owner-only.',
          `Next: healthchain phone sync --device ${opts.device}`
        ])
      } finally {
        await client.close()
      }
    })

  withJson(phone.command('quorum'))
    .summary('set how many regulators must cosign a head, or go back to the default')
    .description('Set the quorum of an existing device: how many regulators must have cosigned a head before the phone trusts it. ' +
      '`default` goes back to a majority of the registry\'s active regulators (the quorum follows the registry as it changes); ' +
      'a number fixes it (0: no witness asked, an explicit opt-out). Kept in device.json; the next sync uses it. Offline.')
    .argument('<quorum>', '`default`, or a number of regulators (0 to 1000)', quorumArg)
    .requiredOption(...DEVICE_OPTION, pathArg)
    .addHelpText('after', examples(
      'healthchain phone quorum default --device ./alice-phone',
      'healthchain phone quorum 2 --device ./alice-phone --json'
    ))
    .action(async (quorum: number | 'majority', opts: { device: string, json?: boolean }) => {
      const out = new Output(ctx.io, opts)
      await withDevice(opts.device, { dial: false }, async ({ client }) => {
        await client.setQuorum(quorum)
        const saved = await readDevice(opts.device)
        const status = await client.status()
        out.result({ device: opts.device, quorum: saved.quorum, demanded: status.quorum }, [
          `phone device ${opts.device}: ${quorumText(saved.quorum)} (${status.quorum} with the registry this device holds)`,
          `Next: healthchain phone sync --device ${opts.device}`
        ])
      })
    })

  withJson(phone.command('sync'))
    .summary('sync the user\'s chain and send the outbox')
    .description('Dial the device\'s nodes, find the user\'s chain if the device does not know it yet (block 0 must be the user\'s own genesis), ' +
      'get the newest head the regulators cosigned (the device\'s quorum of them), fetch and verify the chain up to it, and send what the outbox holds. ' +
      'NO_QUORUM when no head has enough cosignatures: the device keeps what it trusted before.')
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
          userId: client.userId,
          chainKey: status.chainKey,
          connectedNodes: connected,
          length: report.length,
          verifiedLength: report.verifiedLength,
          trustedLength: report.trustedLength,
          quorum: report.quorum,
          witnessed: report.witnessed,
          problem: report.problem,
          sent,
          failed,
          outbox: status.outbox,
          stopped: stoppedOf(report.flush)
        }, [
          `synced ${client.userId}'s chain from ${connected.length} node${connected.length === 1 ? '' : 's'}`,
          `  local length     ${report.length}`,
          `  verified length  ${report.verifiedLength}${report.problem === undefined ? '' : ` — block ${String(report.problem.seq)} failed verification (${report.problem.code}): it and what follows are not shown`}`,
          report.witnessed === undefined
            ? '  witnessed        not asked (quorum 0): every verified block is shown'
            : `  witnessed        head at ${report.witnessed.length}, cosigned by ${report.witnessed.witnesses.join(', ')} (quorum ${report.quorum}); ` +
              `${report.trustedLength} blocks shown`,
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
          file,
          kind: parsed.kind,
          records: parsed.kind === 'gpx' ? parsed.points.length : parsed.rows.length,
          entries: written.entries,
          ...tally(written.entries),
          pending: written.flush.pending,
          stopped: stoppedOf(written.flush)
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
        const unwitnessed = status.verifiedLength - status.trustedLength
        out.result({ userId: client.userId, chainKey: status.chainKey, verifiedLength: status.verifiedLength, trustedLength: status.trustedLength, items }, [
          `timeline of ${client.userId}: ${items.length} entr${items.length === 1 ? 'y' : 'ies'}${opts.type === undefined ? '' : ` of type ${opts.type}`} ` +
            `(verified length ${status.verifiedLength}${unwitnessed > 0 ? `; the last ${unwitnessed} not shown: no witnessed head covers them yet` : ''})`,
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
        out.result({
          userId: client.userId, examiner: opts.examiner, until: opts.until, rewrapped, entries: written.entries, stopped: stoppedOf(written.flush)
        },
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

  withJson(phone.command('transfer'))
    .summary('move the user\'s chain to another examiner')
    .description('Move the user\'s chain to another examiner: its node offers the continuation, this device checks the offer against the chain it verified (the old custodian\'s signed head, the history, the examiner named), signs the migrate and follows the new chain, to which what is queued is then sent. The examiner must be active in the registry this device holds; its node must hold a copy of the chain.')
    .requiredOption(...DEVICE_OPTION, pathArg)
    .requiredOption('--to <institution>', 'the examiner to move the chain to', institutionIdArg)
    .addHelpText('after', examples('healthchain phone transfer --device ./alice-phone --to hospital-b'))
    .action(async (opts: { device: string, to: InstitutionId, json?: boolean }) => {
      const out = new Output(ctx.io, opts)
      await withDevice(opts.device, { dial: true }, async ({ client, saved }) => {
        await requireConnected(client, saved)
        const moved = await client.transfer(opts.to)
        const { custodian, length } = moved
        out.result({ userId: client.userId, from: bytesToHex(moved.from), chainKey: bytesToHex(moved.chainKey), length, custodian },
          `moved the chain to ${moved.custodian}: chain ${bytesToHex(moved.chainKey)} continues ${bytesToHex(moved.from)} from position ${moved.length}`)
      })
    })

  withJson(phone.command('rotate'))
    .summary('rotate the user\'s keys to the next generation')
    .description('Rotate the user\'s keys: a rekey entry reveals the next generation\'s keys (derived from the recovery phrase, committed to by the genesis or the last rekey) and commits to the one after; it is sent to the custodian, and once this device verified it, the user\'s entries are signed with the new key and new exams are sealed to the new box key. Old exams still open: the phrase derives every generation\'s box key. Writes still queued are sent first; a chain whose genesis committed to no next key cannot rotate.')
    .requiredOption(...DEVICE_OPTION, pathArg)
    .addHelpText('after', examples('healthchain phone rotate --device ./alice-phone'))
    .action(async (opts: { device: string, json?: boolean }) => {
      const out = new Output(ctx.io, opts)
      await withDevice(opts.device, { dial: true }, async ({ client, saved }) => {
        await requireConnected(client, saved)
        const rotated = await client.rotate()
        out.result({ userId: client.userId, generation: rotated.generation, seq: rotated.seq },
          `rotated the user's keys: generation ${rotated.generation} is in force from position ${rotated.seq}`)
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
          `  trusted length   ${status.trustedLength} ` +
            `(${status.quorum === 0 ? 'quorum 0: no witness asked' : `witnessed head ${status.witnessedLength ?? 'none yet'}, quorum ${status.quorum}`})`,
          `  custodian        ${status.custody.custodian ?? 'not known yet (phone sync)'}` +
            `${status.custody.custodianStatus === undefined || status.custody.custodianStatus === 'active' ? '' : ` (${status.custody.custodianStatus})`}`,
          `  key generation   ${status.custody.generation ?? 'not known yet'}`,
          `  outbox           ${status.outbox.pending} pending, ${status.outbox.failed} failed`,
          ...failed.map((f) => `    refused: ${f.type} ${f.id} (${f.code})`)
        ])
        const warning = reassignmentWarning(status.custody)
        if (warning !== undefined) out.warn(warning)
      })
    })
}
