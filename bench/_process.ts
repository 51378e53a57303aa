// The memory of a runtime process, as Linux reports it, for the benches that
// drive a real `cli.ts serve`: resident set now, and its peak over a phase.

/**
 * A field of `/proc/PID/status` in MiB (`VmRSS`, `VmHWM`), or `undefined`
 * once the process is gone.
 */
export async function procMiB(pid: number, field = "VmRSS"): Promise<number | undefined> {
  let status: string;
  try {
    status = await Deno.readTextFile(`/proc/${pid}/status`);
  } catch {
    return undefined;
  }
  const kib = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1];
  return kib === undefined ? undefined : Number(kib) / 1024;
}

/** Samples a process's RSS every `everyMs` until stopped; the peak seen. */
export function sampleRss(pid: number, everyMs = 100): { stop(): Promise<number> } {
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      peak = Math.max(peak, (await procMiB(pid)) ?? 0);
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return Math.max(peak, (await procMiB(pid)) ?? 0);
    },
  };
}

/** `n` MiB with one decimal, or `gone` for a process that no longer exists. */
export function mib(n: number | undefined): string {
  return n === undefined ? "gone" : `${n.toFixed(1)} MiB`;
}

/** The value of option `name` as a positive integer; a usage error otherwise. */
export function positive(values: Record<string, unknown>, name: string): number {
  const value = Number(values[name]);
  if (!Number.isInteger(value) || value <= 0) {
    throw new TypeError(`Invalid --${name} "${values[name]}": expected a positive integer`);
  }
  return value;
}
