/**
 * CPU and latency figures of a timed benchmark run: the whole process's CPU
 * time per operation, the event loop's own share (Linux), and latency
 * percentiles. Used by the HTTP bench.
 */
import { readFileSync } from 'node:fs'

export interface LatencyFigures {
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly max: number
}

/**
 * CPU time of this whole process (every thread: the event loop, the sealing
 * and storage threads; the load generator runs in a process of its own) during a timed run. The
 * machine's cores bound writes/s at cores ÷ (µs per write).
 */
export interface CpuFigures {
  readonly microsPerWrite: number
  /** CPU seconds per second: how many cores the run kept busy. */
  readonly cores: number
  /**
   * The event loop's own share: its thread's CPU time per write (Linux
   * only, else null) and the fraction of the run it was busy. A loop busy
   * ~100% of the time is the bottleneck however idle the other core is;
   * busy time above its CPU time is time it was runnable but descheduled,
   * i.e. the cores were contended.
   */
  readonly eventLoop: { readonly microsPerWrite: number | null, readonly utilization: number }
}

/** Starts measuring a timed run's CPU: the whole process's, and the event loop's thread and utilization. */
export function startCpuMeter (): { figures (writes: number, seconds: number): CpuFigures } {
  const process0 = process.cpuUsage()
  const loop0 = eventLoopThreadCpuMicros()
  const elu0 = performance.eventLoopUtilization()
  return {
    figures (writes, seconds) {
      const used = process.cpuUsage(process0)
      const micros = used.user + used.system
      const loop1 = eventLoopThreadCpuMicros()
      const perWrite = (us: number): number => writes === 0 ? 0 : round(us / writes, 0)
      return {
        microsPerWrite: perWrite(micros),
        cores: round(micros / 1e6 / seconds, 2),
        eventLoop: {
          microsPerWrite: loop0 === null || loop1 === null ? null : perWrite(loop1 - loop0),
          utilization: round(performance.eventLoopUtilization(elu0).utilization, 3)
        }
      }
    }
  }
}

/**
 * CPU time of the calling thread (the event loop) in µs, from Linux's
 * /proc/thread-self/stat (utime and stime, fields 14 and 15, in clock ticks
 * of 1/100 s: USER_HZ is 100 on every Linux this runs on, and a 10 s run
 * makes the tick's 10 ms negligible); null elsewhere. Read synchronously:
 * an asynchronous read would run on a libuv pool thread and read that
 * thread's figures instead.
 */
function eventLoopThreadCpuMicros (): number | null {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(fields[11]) + Number(fields[12])
    return Number.isFinite(ticks) ? ticks * 10_000 : null
  } catch {
    return null
  }
}

export function latencyFigures (values: number[]): LatencyFigures {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (p: number): number => sorted.length === 0 ? 0 : round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!, 2)
  return { p50: at(50), p90: at(90), p99: at(99), max: round(sorted[sorted.length - 1] ?? 0, 2) }
}

export function round (value: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}
