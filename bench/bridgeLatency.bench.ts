import { execFileSync } from "node:child_process";
import { startAppServer } from "../test/support/appServer";
import { BenchContext } from "./context";
import { quantile } from "./measure";

/**
 * The hop an App operator call adds to a runtime job: `sort_by_similarity` requests sent
 * as the App sends them (POST /operators/execute of the plugin's `run_method` to a real
 * FiftyOne App server, whose Python operator forwards them over the runtime's socket),
 * timed at the client, against the same job's time inside the runtime. The hop does not
 * depend on the index size, so a small index is used.
 */
export interface BridgeLatency {
  n: number;
  requests: number;
  p50: number;
  p95: number;
}

export async function benchBridgeLatency(ctx: BenchContext, n = 10_000, dim = 512, requests = 50): Promise<BridgeLatency> {
  const name = `bench_bridge_${n}_${dim}`;
  execFileSync(ctx.python, ["-c", `
import numpy as np, fiftyone as fo
rng = np.random.RandomState(5)
ds = fo.Dataset(${JSON.stringify(name)}, overwrite=True)
ds.persistent = True
ds.add_samples([fo.Sample(filepath="/tmp/bridge_%d.png" % i) for i in range(${n})], progress=False)
ds.set_values("emb", list(rng.randn(${n}, ${dim}).astype(np.float32)), progress=False)
`], { env: ctx.env });
  const app = await startAppServer(ctx.env);
  try {
    const call = async (method: string, params: Record<string, unknown>) => {
      const res = await fetch(`${app.url}/operators/execute`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ operator_uri: "@brain-ts/brain/run_method", dataset_name: name, view: [], params: { method, params, target: "DATASET" } }),
      });
      const body = (await res.json()) as { error?: string; result?: unknown };
      if (!res.ok || body.error) throw new Error(`${method} through the App failed: ${res.status} ${JSON.stringify(body).slice(0, 500)}`);
      return body.result;
    };
    await call("compute_similarity", { brain_key: "bridge", embeddings: "emb", backend: "hnswlib" });
    const times: number[] = [];
    let seed = 1;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) - 0.5;
    for (let q = 0; q < requests + 3; q++) {
      const vector = Array.from({ length: dim }, random);
      const t = process.hrtime.bigint();
      await call("sort_by_similarity", { brain_key: "bridge", query_vector: vector, k: 25 });
      if (q >= 3) times.push(Number(process.hrtime.bigint() - t) / 1e9); // the first warm the runtime's cache
    }
    times.sort((a, b) => a - b);
    return { n, requests, p50: quantile(times, 0.5), p95: quantile(times, 0.95) };
  } finally {
    await app.stop();
  }
}
