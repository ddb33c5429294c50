import { execFile } from "node:child_process";

/** One side of a benchmark: seconds for the method itself, the process's peak memory, its output. */
export interface Measurement<T = unknown> {
  seconds: number;
  peakRssMb: number;
  output: T;
}

/** Runs a child that prints one JSON Measurement as its last line. */
export function measureChild<T>(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<Measurement<T>> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { env, maxBuffer: 256 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${command} failed: ${err.message}\n${stderr}`));
      const lines = stdout.trim().split("\n");
      resolve(JSON.parse(lines[lines.length - 1]) as Measurement<T>);
    });
  });
}

/** The q-quantile of sorted values (nearest rank: the smallest value with at least q of them at or below it). */
export function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export interface Row {
  benchmark: string;
  size: string;
  ours: { seconds: number; peakRssMb: number };
  reference: { seconds: number; peakRssMb: number };
  agree: boolean;
}

/** The reference column of a row whose Python side was not run. */
export const NOT_RUN = { seconds: NaN, peakRssMb: NaN };

export function formatTable(rows: Row[]): string {
  const head = "| benchmark | size | brain-ts (s) | fiftyone-brain (s) | speed-up | peak RSS brain-ts / Python (MB) | outputs agree |\n|---|---|---|---|---|---|---|";
  const num = (x: number, digits: number, unit = "") => (Number.isFinite(x) ? `${x.toFixed(digits)}${unit}` : "—");
  const body = rows.map((r) =>
    `| ${r.benchmark} | ${r.size} | ${num(r.ours.seconds, 3)} | ${num(r.reference.seconds, 3)} | ${num(r.reference.seconds / r.ours.seconds, 2, "×")} | ${num(r.ours.peakRssMb, 0)} / ${num(r.reference.peakRssMb, 0)} | ${r.agree ? "yes" : "**NO**"} |`,
  );
  return [head, ...body].join("\n");
}
