import { execFile } from "node:child_process";
import { join } from "node:path";
import { closeDatabases, openDatabase } from "../../src/fiftyone/database";
import { executeJob, JobRequest } from "../../src/runtime/execute";
import { SimilarityIndexInfo, SortBySimilarityResult } from "../../src/runtime/jobs/similarity";
import { runPython, testDatabase } from "../support/fiftyone";

jest.setTimeout(180_000);

const DATASET = "brain_ts_similarity";

function request(method: string, params: Record<string, unknown>, target?: JobRequest["target"]): JobRequest {
  return { method, params, database: testDatabase(), dataset: DATASET, fiftyone_version: "1.22.1", ...(target ? { target } : {}) };
}
const run = <T>(method: string, params: Record<string, unknown>, target?: JobRequest["target"]) =>
  executeJob(request(method, params, target)) as Promise<T>;

let ids: string[];
let emb: number[][];
let view: { pipeline: string; view_stages: string[] };

interface RefResult {
  ids: string[];
  dists: number[];
}

interface Case {
  name: string;
  ours: string;
  ref: string;
  /** Python expression of the query. */
  query: string;
  params: Record<string, unknown>;
  options: Record<string, unknown>;
  inView?: boolean;
}

const VECTOR = Array.from({ length: 24 }, (_, i) => Math.sin(i + 1));
let cases: Case[];
const mine = new Map<string, SortBySimilarityResult>();
let py: {
  refs: Record<string, RefResult>;
  runs: string[];
  cls: string;
  metric: string;
  field: string;
  size: number;
  first: string[];
  hnsw: { method: string | null; metric: string };
  dist: Record<string, number | null>;
};

function expectSame(ours: SortBySimilarityResult, ref: RefResult, tol = 2e-6): void {
  expect(ours.ids.length).toBe(ref.ids.length);
  ours.distances.forEach((d, i) => expect(Math.abs(d - ref.dists[i])).toBeLessThan(tol));
  // Same order, except among distances equal within rounding.
  ours.ids.forEach((id, i) => {
    if (id !== ref.ids[i]) expect(Math.abs(ours.distances[i] - ref.dists[ref.ids.indexOf(id)])).toBeLessThan(tol);
  });
}

const pyValue = (v: unknown) => (typeof v === "boolean" ? (v ? "True" : "False") : JSON.stringify(v));

beforeAll(async () => {
  ({ ids, emb, view } = await runPython<{ ids: string[]; emb: number[][]; view: { pipeline: string; view_stages: string[] } }>(`
import json, numpy as np, fiftyone as fo, fiftyone.brain as fob
from bson import json_util
rng = np.random.RandomState(5)
emb = list(rng.randn(120, 24).astype(np.float32))
ds = fo.Dataset(${JSON.stringify(DATASET)}, overwrite=True)
ds.persistent = True
ds.add_samples([fo.Sample(filepath="/tmp/sim_%d.png" % i, tags=["odd"] if i % 2 else []) for i in range(len(emb) + 2)])
ds.set_values("emb", emb + [None, None])
ds.set_values("emb64", [e.astype(np.float64) for e in emb] + [None, None])
fob.compute_similarity(ds, embeddings="emb", brain_key="ref_cosine")
fob.compute_similarity(ds, embeddings="emb", brain_key="ref_euclidean", metric="euclidean")
view = ds.match_tags("odd")
print(json.dumps({"ids": ds.values("id"), "emb": [e.tolist() for e in emb],
  "view": {"pipeline": json_util.dumps(view._pipeline()), "view_stages": [json_util.dumps(s) for s in view._serialize(include_uuids=False)]}}))
`));
  const one = (i: number) => ({ query: JSON.stringify(ids[i]), params: { query_ids: [ids[i]] } });
  const many = (...is: number[]) => ({ query: JSON.stringify(is.map((i) => ids[i])), params: { query_ids: is.map((i) => ids[i]) } });
  cases = [
    { name: "one id", ours: "sim_cos", ref: "ref_cosine", ...one(7), options: {} },
    { name: "one id, k and reverse", ours: "sim_cos", ref: "ref_cosine", ...one(7), options: { k: 10, reverse: true } },
    { name: "several ids, mean", ours: "sim_cos", ref: "ref_cosine", ...many(1, 2, 9), options: { k: 15 } },
    { name: "several ids, post-min", ours: "sim_cos", ref: "ref_cosine", ...many(1, 2), options: { aggregation: "post-min" } },
    { name: "one id (euclidean)", ours: "sim_euc", ref: "ref_euclidean", ...one(0), options: { k: 20 } },
    { name: "several ids, post-max (euclidean)", ours: "sim_euc", ref: "ref_euclidean", ...many(4, 5), options: { aggregation: "post-max", k: 30 } },
    { name: "a vector (raw distances)", ours: "sim_cos", ref: "ref_cosine", query: `np.array(${JSON.stringify(VECTOR)})`, params: { query_vector: VECTOR }, options: { k: 25 } },
    { name: "view: an id inside it (centred)", ours: "sim_cos", ref: "ref_cosine", ...one(3), options: { k: 12 }, inView: true },
    { name: "view: an id outside it (raw)", ours: "sim_cos", ref: "ref_cosine", ...one(4), options: { k: 12 }, inView: true },
  ];
  await run("compute_similarity", { brain_key: "sim_cos", embeddings: "emb" });
  await run("compute_similarity", { brain_key: "sim_euc", embeddings: "emb", metric: "euclidean", backend: "sklearn" });
  await run("compute_similarity", { brain_key: "sim_hnsw", embeddings: "emb", backend: "hnswlib", m: 8, ef: 200 });
  for (const c of cases) {
    const target = c.inView ? { pipeline: view.pipeline, view_stages: view.view_stages } : undefined;
    mine.set(c.name, await run<SortBySimilarityResult>("sort_by_similarity", { brain_key: c.ours, ...c.params, ...c.options }, target));
  }
  mine.set("dist", await run<SortBySimilarityResult>("sort_by_similarity", { brain_key: "sim_cos", query_ids: [ids[10]], k: 5, dist_field: "sim_dist" }));
  mine.set("first", await run<SortBySimilarityResult>("sort_by_similarity", { brain_key: "sim_cos", query_ids: [ids[3]], k: 3 }));
  // One Python process for every reference result and every check of what Python reads.
  py = await runPython(`
import json, numpy as np, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
refs = {}
def ref(name, key, query, v, **kwargs):
    # a fresh index each time: the reference centres its stored vectors in place on id queries
    idx = ds.load_brain_results(key, cache=False)
    idx.use_view(v)
    out = idx.sort_by_similarity(query, dist_field="ref_dist", **kwargs)
    refs[name] = {"ids": out.values("id"), "dists": out.values("ref_dist")}
${cases.map((c) => `ref(${JSON.stringify(c.name)}, ${JSON.stringify(c.ref)}, ${c.query}, ${c.inView ? 'ds.match_tags("odd")' : "ds"}${Object.entries(c.options).map(([k, v]) => `, ${k}=${pyValue(v)}`).join("")})`).join("\n")}
info = ds.get_brain_info("sim_cos")
idx = ds.load_brain_results("sim_cos", cache=False)
hnsw = ds.get_brain_info("sim_hnsw")
print(json.dumps({"refs": refs, "runs": ds.list_brain_runs(type="similarity"), "cls": type(info.config).__name__, "metric": info.config.metric,
  "field": info.config.embeddings_field, "size": idx.total_index_size,
  "first": idx.sort_by_similarity(${JSON.stringify(ids[3])}, k=3).values("id"),
  "hnsw": {"method": hnsw.config.method, "metric": hnsw.config.metric},
  "dist": dict(zip(ds.values("id"), ds.values("sim_dist")))}))
`);
});
afterAll(closeDatabases);

describe("compute_similarity (exact) and sort_by_similarity against fiftyone-brain's sklearn backend", () => {
  it("stores a run Python reads and queries as its own sklearn index", async () => {
    expect(py.runs).toEqual(expect.arrayContaining(["sim_cos", "sim_euc", "ref_cosine"]));
    expect(py).toMatchObject({ cls: "SklearnSimilarityConfig", metric: "cosine", field: "emb", size: 120 });
    expect(mine.get("first")!.ids).toEqual(py.first);
  });

  it("the same order and distances as the reference for each query", () => {
    for (const c of cases) {
      const ours = mine.get(c.name)!;
      expect([c.name, ours.ids.length]).toEqual([c.name, py.refs[c.name].ids.length]);
      if (c.inView) expect(ours.ids.every((id) => ids.indexOf(id) % 2 === 1)).toBe(true);
      expectSame(ours, py.refs[c.name]);
    }
  });

  it("writes distances into dist_field for the returned samples", () => {
    const ours = mine.get("dist")!;
    ours.ids.forEach((id, i) => expect(py.dist[id]).toBeCloseTo(ours.distances[i], 6));
    expect(Object.values(py.dist).filter((v) => v !== null)).toHaveLength(5);
  });

  it("refuses bad input clearly and writes nothing", async () => {
    const bad = (params: Record<string, unknown>, method = "sort_by_similarity") => run(method, params);
    await expect(bad({ brain_key: "sim_cos", query_ids: ["0123456789abcdef01234567"] })).rejects.toThrow(/do not exist in this index/);
    await expect(bad({ brain_key: "sim_cos", query_ids: [ids[0]], k: 0 })).rejects.toThrow(/'k' must be a positive integer/);
    await expect(bad({ brain_key: "sim_cos", query_ids: [ids[0]], k: -3 })).rejects.toThrow(/'k' must be a positive integer/);
    await expect(bad({ brain_key: "sim_cos", query_vector: [1, 2, 3] })).rejects.toThrow(/3 values but this index's embeddings have dimension 24/);
    await expect(bad({ brain_key: "sim_cos" })).rejects.toThrow(/At least one query must be provided/);
    await expect(bad({ brain_key: "sim_cos", query_ids: [] })).rejects.toThrow(/At least one query must be provided/);
    await expect(bad({ brain_key: "sim_cos", text: "a dog" })).rejects.toThrow(/this model does not support prompts/);
    await expect(bad({ brain_key: "sim_cos", query_ids: [ids[0]], aggregation: "median" })).rejects.toThrow(/Unsupported aggregation method 'median'/);
    await expect(bad({ brain_key: "sim_cos", query_ids: [ids[0]], dist_field: "emb" })).rejects.toThrow(/already exists/);
    await expect(bad({ brain_key: "nope", query_ids: [ids[0]] })).rejects.toThrow(/no brain run with key 'nope'/);
    await expect(bad({ brain_key: "sim_cos", embeddings: "emb" }, "compute_similarity")).rejects.toThrow(/already exists/);
    await expect(bad({ brain_key: "x1", embeddings: "emb", backend: "faiss" }, "compute_similarity")).rejects.toThrow(/Unsupported backend 'faiss'/);
    await expect(bad({ brain_key: "x2", embeddings: "emb", metric: "manhattan" }, "compute_similarity")).rejects.toThrow(/Unsupported metric 'manhattan'/);
    await expect(bad({ brain_key: "x3", embeddings: "filepath" }, "compute_similarity")).rejects.toThrow(/not an embeddings field/);
    await expect(bad({ brain_key: "x4", embeddings: "emb", backend: "hnswlib", m: 0 }, "compute_similarity")).rejects.toThrow(/'m' must be an integer ≥ 2/);
    const list = await run<{ runs: { key: string }[] }>("list_brain_runs", {});
    expect(list.runs.map((r) => r.key).filter((k) => /^x\d$/.test(k))).toEqual([]);
  });
});

describe("hnswlib backend", () => {
  it("builds on the view, matches exact on small data, persists with the run and survives a new process", async () => {
    const info = await run<SimilarityIndexInfo>("get_similarity_index_info", { brain_key: "sim_hnsw" });
    expect(info).toMatchObject({ backend: "hnswlib", metric: "cosine", size: 120, supports_least_similarity: false });
    const q = { query_ids: [ids[11]], k: 10 };
    const approx = await run<SortBySimilarityResult>("sort_by_similarity", { brain_key: "sim_hnsw", ...q });
    const exact = await run<SortBySimilarityResult>("sort_by_similarity", { brain_key: "sim_cos", query_vector: emb[11], k: 10 });
    expect(approx.ids).toEqual(exact.ids);
    approx.distances.forEach((d, i) => expect(d).toBeCloseTo(exact.distances[i], 5));

    // A new runtime process reads the stored index (the CLI is one process per call).
    const cli = await cliJson<SortBySimilarityResult>(["sort_by_similarity", "--params", JSON.stringify({ brain_key: "sim_hnsw", ...q })]);
    expect(cli.ids).toEqual(approx.ids);

    // Python reads the run (a generic brain run: no Python class implements hnswlib).
    expect(py.hnsw).toEqual({ method: null, metric: "cosine" });
    await expect(run("sort_by_similarity", { brain_key: "sim_hnsw", ...q, reverse: true })).rejects.toThrow(/does not support least-similarity/);
  });

  it("add_to_index / remove_from_index are stored (seen by a new process) and list_similarity_indexes reports sizes", async () => {
    const removed = await run<{ removed: number; size: number }>("remove_from_index", { brain_key: "sim_hnsw", ids: [ids[0], ids[1], "0123456789abcdef01234567"] });
    expect(removed).toMatchObject({ removed: 2, size: 118 });
    const after = await run<SortBySimilarityResult>("sort_by_similarity", { brain_key: "sim_hnsw", query_vector: emb[0], k: 118 });
    expect(after.ids).not.toContain(ids[0]);
    const cliInfo = await cliJson<SimilarityIndexInfo>(["get_similarity_index_info", "--param", "brain_key=sim_hnsw"]);
    expect(cliInfo.size).toBe(118);
    const added = await run<{ added: number; replaced: number; size: number }>("add_to_index", { brain_key: "sim_hnsw" }, { sample_ids: [ids[0], ids[2]] });
    expect(added).toMatchObject({ added: 1, replaced: 1, size: 119 });
    const list = await run<{ indexes: SimilarityIndexInfo[] }>("list_similarity_indexes", {});
    const byKey = Object.fromEntries(list.indexes.map((i) => [i.brain_key, i]));
    expect(byKey.sim_hnsw).toMatchObject({ backend: "hnswlib", size: 119, supports_prompts: false });
    expect(byKey.sim_cos).toMatchObject({ backend: "exact", metric: "cosine", size: 120, supports_least_similarity: true });
    expect(byKey.ref_euclidean).toMatchObject({ backend: "exact", metric: "euclidean", size: 120 });
  });

  it("deleting the run removes its stored index file", async () => {
    const db = await openDatabase(testDatabase());
    const fileCount = () => db.collection("fs.files").countDocuments({ filename: "hnswlib-index.bin" });
    const before = await fileCount();
    await run("compute_similarity", { brain_key: "sim_hnsw2", embeddings: "emb64", backend: "hnswlib", metric: "euclidean" });
    expect(await fileCount()).toBe(before + 1);
    await run("delete_brain_run", { brain_key: "sim_hnsw2" });
    expect(await fileCount()).toBe(before);
  });
});

function cliJson<T>(args: string[]): Promise<T> {
  const db = testDatabase();
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [join(__dirname, "../../bin/brain-ts.js"), ...args, "--dataset", DATASET, "--database-uri", db.uri, "--database-name", db.name, "--json", "--quiet"],
      { maxBuffer: 64 << 20 },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout) as T)),
    );
  });
}
