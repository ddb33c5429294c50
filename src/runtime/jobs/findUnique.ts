import { BrainError } from "../../errors";
import { readEmbeddings } from "../../fiftyone/embeddings";
import { countForFraction, findUnique } from "../../methods/nearDuplicates";
import { Metric, vectorScan } from "../../methods/neighborGraph";
import { Job } from "../job";
import { requiredString } from "../params";
import { resolveMetric } from "./nearDuplicates";

export interface FindUniqueResult {
  /** The threshold the search ended on; null when every sample or none is kept. */
  threshold: number | null;
  metric: Metric;
  requested: number;
  numSamples: number;
  numMissing: number;
  uniqueIds: string[];
  duplicateIds: string[];
}

/**
 * find_unique from an embeddings field (spec §6.4): the reference's bisection on the
 * near-duplicate threshold until the greedy scan keeps `count` samples, or
 * round-half-even((1 − fraction)·n) with `fraction`. The result may miss the count
 * when no threshold reaches it, as in the reference.
 */
export const findUniqueJob: Job<FindUniqueResult> = {
  name: "find_unique",
  description: "Find a given number (or fraction) of mutually distant samples from an embeddings field",
  async run(ctx, params) {
    const field = requiredString(params, "embeddings");
    const metric = resolveMetric(params, ctx.brainConfig);
    const hasCount = params.count !== undefined && params.count !== null;
    const hasFraction = params.fraction !== undefined && params.fraction !== null;
    if (hasCount === hasFraction) throw new BrainError("INVALID_PARAMS", "Give either 'count' (samples to keep) or 'fraction' (share of samples to drop as duplicates)");
    if (hasCount && (typeof params.count !== "number" || !Number.isInteger(params.count) || params.count < 1)) {
      throw new BrainError("INVALID_PARAMS", `'count' must be a whole number of samples ≥ 1; got ${String(params.count)}`);
    }
    if (hasFraction && (typeof params.fraction !== "number" || !(params.fraction >= 0 && params.fraction < 1))) {
      throw new BrainError("INVALID_PARAMS", `'fraction' must be a share of samples in [0, 1); got ${String(params.fraction)}`);
    }
    const emb = await readEmbeddings(ctx.db, ctx.dataset, ctx.target, field, { signal: ctx.signal, progress: (f) => ctx.progress(0.3 * f, "Reading embeddings") });
    const n = emb.ids.length;
    if (n === 0) throw new BrainError("EMPTY_VIEW", `No sample of the view has embeddings in '${field}'`);
    const count = hasCount ? (params.count as number) : countForFraction(n, params.fraction as number);
    ctx.progress(0.3, `Searching the threshold that keeps ${count} of ${n} samples`);
    const scan = vectorScan(emb.vectors, n, emb.dim, metric);
    let scans = 0;
    const found = findUnique({ n, scan: (t) => {
      ctx.signal.throwIfAborted();
      ctx.progress(Math.min(0.95, 0.3 + 0.03 * ++scans), `Scan ${scans} at threshold ${t.toPrecision(4)}`);
      return scan(t);
    } }, count);
    return {
      threshold: found.thresh,
      metric,
      requested: count,
      numSamples: n,
      numMissing: emb.numMissing,
      uniqueIds: found.unique.map((i) => emb.ids[i]),
      duplicateIds: found.duplicates.map((i) => emb.ids[i]),
    };
  },
};
