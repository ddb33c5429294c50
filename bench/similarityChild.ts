import { readFileSync } from "node:fs";
import { ExactIndex } from "../src/index/exactIndex";
import { HnswIndex } from "../src/index/hnswIndex";

/**
 * Child process of the similarity benchmark: builds an exact or hnswlib index over the
 * float32 matrix in `base` and times k-NN queries for the rows of `queries`; prints a
 * Measurement whose output holds the result rows (base row numbers).
 */
interface Args {
  mode: "exact" | "hnswlib";
  base: string;
  queries: string;
  dim: number;
  k: number;
  m: number;
  efConstruction: number;
  ef: number;
}

function readMatrix(path: string): Float32Array {
  const bytes = readFileSync(path);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

async function main(): Promise<void> {
  const a = JSON.parse(process.argv[2]) as Args;
  const base = readMatrix(a.base);
  const queries = readMatrix(a.queries);
  const n = base.length / a.dim;
  const ids = Array.from({ length: n }, (_, i) => String(i));
  let buildSeconds = 0;
  const t0 = process.hrtime.bigint();
  const index = a.mode === "exact" ? new ExactIndex("cosine", a.dim) : HnswIndex.create("cosine", a.dim, { m: a.m, ef_construction: a.efConstruction, ef: a.ef }, false, n);
  await index.add({ ids, vectors: base });
  buildSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  // one query first: the exact kernel builds its onnxruntime session once per process
  await index.query(queries.subarray(0, a.dim), { k: a.k });
  const t1 = process.hrtime.bigint();
  const results = await index.query(queries, { k: a.k });
  const seconds = Number(process.hrtime.bigint() - t1) / 1e9;
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  console.log(JSON.stringify({ seconds, peakRssMb, output: { buildSeconds, rows: results.map((r) => r.ids.map(Number)) } }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
