import { join } from "node:path";
import { BenchContext } from "./context";
import { measureChild, median, Measurement, Row } from "./measure";
import { execFileSync } from "node:child_process";

/**
 * Scores side by side with fiftyone-brain on the same datasets: uniqueness and
 * representativeness from a float32 embeddings field (clustered vectors, as model
 * embeddings are), and detection mistakenness on generated detection sets. Sizes from
 * `--scores-sizes 10000,50000,100000`, `--scores-dim 512`, `--det-images 10000`.
 */
export interface ScoreBenchOptions {
  sizes: number[];
  dim: number;
  detImages: number;
  /** Which embedding scores to run at each size. */
  methods: ScoreBenchMethod[];
}

const SCORE_METHODS = ["uniqueness", "representativeness"] as const;
type ScoreBenchMethod = (typeof SCORE_METHODS)[number];

export function scoreBenchOptions(argv: string[]): ScoreBenchOptions {
  const arg = (name: string, fallback: string) => {
    const i = argv.indexOf(name);
    return i > 0 ? argv[i + 1] : fallback;
  };
  return {
    sizes: arg("--scores-sizes", "10000,50000,100000").split(",").map(Number).filter((n) => n > 0),
    dim: Number(arg("--scores-dim", "512")),
    detImages: Number(arg("--det-images", "10000")),
    methods: arg("--scores-methods", SCORE_METHODS.join(",")).split(",").filter((m): m is ScoreBenchMethod => (SCORE_METHODS as readonly string[]).includes(m)),
  };
}

const py = (ctx: BenchContext, code: string) => execFileSync(ctx.python, ["-c", code], { env: ctx.env, maxBuffer: 64 << 20 }).toString();

function makeEmbeddings(ctx: BenchContext, name: string, n: number, dim: number): void {
  py(ctx, `
import numpy as np, fiftyone as fo
rng = np.random.RandomState(0)
ds = fo.Dataset(${JSON.stringify(name)}, overwrite=True)
ds.add_samples([fo.Sample(filepath="/nonexistent/%d.jpg" % i) for i in range(${n})], progress=False)
centers = rng.randn(64, ${dim}).astype(np.float32) * 2
emb = centers[rng.randint(64, size=${n})] + rng.randn(${n}, ${dim}).astype(np.float32)
ds.set_values("emb", list(emb.astype(np.float32)), progress=False)
`);
}

function makeDetections(ctx: BenchContext, name: string, n: number): void {
  py(ctx, `
import numpy as np, fiftyone as fo
rng = np.random.RandomState(1)
D = fo.Detection
classes = ["cat", "dog", "bird", "car", "person"]
samples = []
for i in range(${n}):
    gts, prs = [], []
    for _ in range(rng.randint(1 if i == 0 else 0, 8)):
        w, h = rng.uniform(0.05, 0.4, 2); x, y = rng.uniform(0, 1 - w), rng.uniform(0, 1 - h)
        gts.append(D(label=classes[rng.randint(5)], bounding_box=[x, y, w, h]))
        if i > 0 and rng.rand() < 0.15: continue  # sample 0 has a match: the reference types its field from it
        j = rng.uniform(-0.08, 0.08, 4) * [w, h, w, h]
        prs.append(D(label=gts[-1].label if rng.rand() < 0.85 else classes[rng.randint(5)], confidence=float(rng.uniform(0.2, 1.0)),
                     bounding_box=[float(v) for v in np.clip([x + j[0], y + j[1], w + j[2], h + j[3]], 0, 1)]))
    for _ in range(rng.randint(0, 3)):
        w, h = rng.uniform(0.05, 0.3, 2)
        prs.append(D(label=classes[rng.randint(5)], confidence=float(rng.uniform(0.9, 1.0)), bounding_box=[rng.uniform(0, 1 - w), rng.uniform(0, 1 - h), w, h]))
    samples.append(fo.Sample(filepath="/nonexistent/%d.jpg" % i, gt=fo.Detections(detections=gts), pred=fo.Detections(detections=prs)))
ds = fo.Dataset(${JSON.stringify(name)}, overwrite=True)
ds.add_samples(samples, progress=False)
`);
}

interface Side {
  seconds: number;
  peakRssMb: number;
}

/** One side of a comparison: a run on a dataset, and the brain keys that undo it. */
interface Runner {
  dataset: string;
  cleanup: string[];
  once: () => Promise<Measurement>;
}

/**
 * Runs both sides ctx.repeats times, alternating (ours, reference, ours, …), so that the
 * machine's drift and mongod's background work (checkpoints after the previous runs'
 * writes) fall on both; each run but the last is undone before the next.
 */
async function alternate(ctx: BenchContext, ours: Runner, reference: Runner): Promise<{ ours: Side[]; ref: Side[] }> {
  const out = { ours: [] as Side[], ref: [] as Side[] };
  for (let i = 0; i < ctx.repeats; i++) {
    for (const [runner, into] of [[ours, out.ours], [reference, out.ref]] as const) {
      into.push(await runner.once());
      if (i < ctx.repeats - 1) {
        py(ctx, `
import fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(runner.dataset)})
for k in ${JSON.stringify(runner.cleanup)}:
    if k in ds.list_brain_runs(): ds.delete_brain_run(k)
`);
      }
    }
  }
  return out;
}

const oursOnce = (ctx: BenchContext, method: string, dataset: string, params: Record<string, unknown>) => () =>
  measureChild(process.execPath, [join(__dirname, "runJob.js"), JSON.stringify({ method, params, database: ctx.database, dataset })], ctx.env);

const referenceOnce = (ctx: BenchContext, dataset: string, call: string) => () =>
  measureChild(ctx.python, ["-c", `
import json, resource, time
import fiftyone as fo, fiftyone.brain as fob
ds = fo.load_dataset(${JSON.stringify(dataset)})
t0 = time.perf_counter()
${call}
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "peakRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "output": None}))
`], ctx.env);

function side(ctx: BenchContext, method: string, dataset: string, params: Record<string, unknown>, call: string, field: string, refField: string) {
  return alternate(ctx, { dataset, cleanup: [field], once: oursOnce(ctx, method, dataset, params) }, { dataset, cleanup: [refField], once: referenceOnce(ctx, dataset, call) });
}

/** max |Δ| and Spearman ρ between two score fields, read by Python. */
function compare(ctx: BenchContext, dataset: string, a: string, b: string): { maxDiff: number; rho: number } {
  const out = py(ctx, `
import json, numpy as np, fiftyone as fo
from scipy.stats import spearmanr
ds = fo.load_dataset(${JSON.stringify(dataset)})
x = np.array(ds.values(${JSON.stringify(a)}), dtype=float); y = np.array(ds.values(${JSON.stringify(b)}), dtype=float)
print(json.dumps({"maxDiff": float(np.nanmax(np.abs(x - y))), "rho": float(spearmanr(x, y).correlation)}))
`);
  const lines = out.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

function row(benchmark: string, size: string, r: { ours: Side[]; ref: Side[] }, agree: boolean): Row {
  return {
    benchmark,
    size,
    ours: { seconds: median(r.ours.map((o) => o.seconds)), peakRssMb: Math.max(...r.ours.map((o) => o.peakRssMb)) },
    reference: { seconds: median(r.ref.map((o) => o.seconds)), peakRssMb: Math.max(...r.ref.map((o) => o.peakRssMb)) },
    agree,
  };
}

export async function benchScores(ctx: BenchContext, options: ScoreBenchOptions): Promise<Row[]> {
  const rows: Row[] = [];
  for (const n of options.sizes) {
    const name = `bench_scores_${n}_${options.dim}`;
    makeEmbeddings(ctx, name, n, options.dim);
    if (options.methods.includes("uniqueness")) {
      const u = await side(ctx, "compute_uniqueness", name, { embeddings: "emb", uniqueness_field: "u" },
        `fob.compute_uniqueness(ds, embeddings="emb", uniqueness_field="ref_u", progress=False)`, "u", "ref_u");
      const cu = compare(ctx, name, "u", "ref_u");
      console.error(`uniqueness ${n}×${options.dim}: max |Δ| ${cu.maxDiff.toExponential(2)}, ρ ${cu.rho.toFixed(6)}`);
      rows.push(row("uniqueness", `${n} × ${options.dim} float32 embeddings`, u, cu.maxDiff <= 1e-4));
    }
    if (options.methods.includes("representativeness")) {
      const r = await side(ctx, "compute_representativeness", name, { embeddings: "emb", representativeness_field: "r" },
        `fob.compute_representativeness(ds, embeddings="emb", representativeness_field="ref_r", progress=False)`, "r", "ref_r");
      const cr = compare(ctx, name, "r", "ref_r");
      console.error(`representativeness ${n}×${options.dim}: max |Δ| ${cr.maxDiff.toExponential(2)}, ρ ${cr.rho.toFixed(6)}`);
      // both sides cluster float32 input in float32: same clusters expected, values to float32 rounding
      rows.push(row("representativeness (cluster-center)", `${n} × ${options.dim} float32 embeddings`, r, cr.rho >= 0.99));
    }
    py(ctx, `import fiftyone as fo; fo.delete_dataset(${JSON.stringify(name)})`);
  }
  if (options.detImages > 0) {
    const name = `bench_detmist_${options.detImages}`;
    makeDetections(ctx, name, options.detImages);
    const ours = `${name}_ours`;
    py(ctx, `import fiftyone as fo; fo.load_dataset(${JSON.stringify(name)}).clone(${JSON.stringify(ours)})`);
    // each side on its own copy: the run writes into the label fields
    const sides = await alternate(
      ctx,
      { dataset: ours, cleanup: ["mistakenness"], once: oursOnce(ctx, "compute_mistakenness", ours, { pred_field: "pred", label_field: "gt" }) },
      { dataset: name, cleanup: ["mistakenness"], once: referenceOnce(ctx, name, `fob.compute_mistakenness(ds, "pred", label_field="gt", progress=False)`) },
    );
    const agree = py(ctx, `
import json, numpy as np, fiftyone as fo
a = fo.load_dataset(${JSON.stringify(ours)}); b = fo.load_dataset(${JSON.stringify(name)})
ok = all(np.allclose(np.array(a.values(f), dtype=float), np.array(b.values(f), dtype=float), atol=1e-6) for f in ("mistakenness", "possible_missing", "possible_spurious"))
print(json.dumps(ok))
`).trim().endsWith("true");
    rows.push(row("detection mistakenness", `${options.detImages} images, ~4 objects each`, sides, agree));
    py(ctx, `import fiftyone as fo; fo.delete_dataset(${JSON.stringify(name)}); fo.delete_dataset(${JSON.stringify(ours)})`);
  }
  return rows;
}
