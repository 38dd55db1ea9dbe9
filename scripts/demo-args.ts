/**
 * The demos' command lines: `parse` is node's parseArgs with the demo's
 * options (help among them); --help prints `usage`, and a mistake (an
 * unknown option, a missing value) is answered as the CLI answers one —
 * `error USAGE: …`, the usage, exit 2 — not with a stack trace.
 */
export function demoArgs<V extends { help?: boolean | undefined }> (parse: () => { values: V }, usage: string): V {
  let values: V
  try {
    values = parse().values
  } catch (err) {
    console.error(`error USAGE: ${(err as Error).message}\n\n${usage}`)
    process.exit(2)
  }
  if (values.help === true) {
    console.log(usage)
    process.exit(0)
  }
  return values
}
