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

export function formatTable(rows: Row[]): string {
  const head = "| benchmark | size | brain-ts (s) | fiftyone-brain (s) | speed-up | peak RSS brain-ts / Python (MB) | outputs agree |\n|---|---|---|---|---|---|---|";
  const body = rows.map((r) =>
    `| ${r.benchmark} | ${r.size} | ${r.ours.seconds.toFixed(3)} | ${r.reference.seconds.toFixed(3)} | ${(r.reference.seconds / r.ours.seconds).toFixed(2)}× | ${r.ours.peakRssMb.toFixed(0)} / ${r.reference.peakRssMb.toFixed(0)} | ${r.agree ? "yes" : "**NO**"} |`,
  );
  return [head, ...body].join("\n");
}
