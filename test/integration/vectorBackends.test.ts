import { existsSync } from "node:fs";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { closeDatabases } from "../../src/fiftyone/database";
import { MilvusIndex } from "../../src/index/milvusIndex";
import { executeJob, JobRequest } from "../../src/runtime/execute";
import { SimilarityIndexInfo, SortBySimilarityResult } from "../../src/runtime/jobs/similarity";
import { bruteForce } from "../support/bruteForce";
import { runPython, testDatabase } from "../support/fiftyone";
import { startMilvusLite, type MilvusLiteServer } from "../support/milvusLiteServer";
import { startPgliteServer, type PgliteServer } from "../support/pgliteServer";

// compute_similarity and sort_by_similarity through the job runner on the external backends,
// each against a real server (PGlite's pgvector over the wire, Milvus Lite) or folder (LanceDB).
jest.setTimeout(300_000);

const DATASET = "brain_ts_vector_backends";
const DIM = 24;

function request(method: string, params: Record<string, unknown>, target?: JobRequest["target"]): JobRequest {
  return { method, params, database: testDatabase(), dataset: DATASET, fiftyone_version: "1.22.1", ...(target ? { target } : {}) };
}
const run = <T>(method: string, params: Record<string, unknown>, target?: JobRequest["target"]) => executeJob(request(method, params, target)) as Promise<T>;

let ids: string[];
let vectors: Float32Array;
let view: { pipeline: string; view_stages: string[] };
let pg: PgliteServer;
let milvus: MilvusLiteServer;
let lanceDir: string;
const savedEnv = { ...process.env };

const BACKENDS = [
  { backend: "pgvector", key: "sim_pg", params: { hnsw_ef_search: 200 } },
  { backend: "lancedb", key: "sim_lance", params: {} as Record<string, unknown> },
  { backend: "milvus", key: "sim_milvus", params: {} as Record<string, unknown> },
];

/** Same ids in the same order (but for near-ties), same distances, as brute force over the given rows. */
function expectBruteForce(got: SortBySimilarityResult, query: Float32Array, k: number, restrict?: ReadonlySet<string>): void {
  const ref = bruteForce("cosine", ids, vectors, DIM, query, k + 1, restrict);
  expect(got.ids).toHaveLength(Math.min(k, ref.ids.length));
  got.ids.forEach((id, i) => {
    expect(Math.abs(got.distances[i] - ref.distances[i])).toBeLessThan(1e-4);
    if (id !== ref.ids[i]) expect(Math.abs(ref.distances[i] - ref.distances[ref.ids.indexOf(id)])).toBeLessThan(1e-4);
  });
}

beforeAll(async () => {
  lanceDir = mkdtempSync(join(tmpdir(), "brain-ts-lance-it-"));
  [pg, milvus] = await Promise.all([startPgliteServer(), startMilvusLite()]);
  process.env.FIFTYONE_BRAIN_CONFIG_PATH = join(lanceDir, "no_brain_config.json");
  process.env.FIFTYONE_BRAIN_SIMILARITY_PGVECTOR_CONNECTION_STRING = pg.connectionString;
  process.env.FIFTYONE_BRAIN_SIMILARITY_MILVUS_URI = milvus.uri;
  process.env.FIFTYONE_BRAIN_SIMILARITY_LANCEDB_URI = lanceDir;
  let emb: number[][];
  ({ ids, emb, view } = await runPython<{ ids: string[]; emb: number[][]; view: { pipeline: string; view_stages: string[] } }>(`
import json, numpy as np, fiftyone as fo
from bson import json_util
rng = np.random.RandomState(11)
emb = list(rng.randn(120, ${DIM}).astype(np.float32))
ds = fo.Dataset(${JSON.stringify(DATASET)}, overwrite=True)
ds.persistent = True
ds.add_samples([fo.Sample(filepath="/tmp/vb_%d.png" % i, tags=["odd"] if i % 2 else []) for i in range(len(emb))])
ds.set_values("emb", emb)
view = ds.match_tags("odd")
print(json.dumps({"ids": ds.values("id"), "emb": [e.tolist() for e in emb],
  "view": {"pipeline": json_util.dumps(view._pipeline()), "view_stages": [json_util.dumps(s) for s in view._serialize(include_uuids=False)]}}))
`));
  vectors = Float32Array.from(emb.flat());
  await run("compute_similarity", { brain_key: "sim_exact", embeddings: "emb" });
  for (const b of BACKENDS) await run("compute_similarity", { brain_key: b.key, embeddings: "emb", backend: b.backend, metric: "cosine", ...b.params });
});

afterAll(async () => {
  process.env = savedEnv;
  await closeDatabases();
  await Promise.all([pg?.stop(), milvus?.stop()]);
  rmSync(lanceDir, { recursive: true, force: true });
});

describe.each(BACKENDS)("the $backend backend through the jobs", ({ backend, key }) => {
  it("builds the index as a brain run", async () => {
    const info = await run<SimilarityIndexInfo>("get_similarity_index_info", { brain_key: key });
    expect(info).toMatchObject({ backend, metric: "cosine", size: 120, dim: DIM, embeddings_field: "emb", supports_least_similarity: false });
  });

  it("sorts by a vector like the exact backend", async () => {
    const query = Array.from(vectors.subarray(5 * DIM, 6 * DIM), (v, i) => v + Math.sin(i));
    const ours = await run<SortBySimilarityResult>("sort_by_similarity", { brain_key: key, query_vector: query, k: 15 });
    const exact = await run<SortBySimilarityResult>("sort_by_similarity", { brain_key: "sim_exact", query_vector: query, k: 15 });
    expect(ours.ids).toEqual(exact.ids);
    ours.distances.forEach((d, i) => expect(Math.abs(d - exact.distances[i])).toBeLessThan(1e-5));
    expectBruteForce(ours, Float32Array.from(query), 15);
  });

  it("sorts by sample ids (mean of their vectors) and within the current view", async () => {
    const byId = await run<SortBySimilarityResult>("sort_by_similarity", { brain_key: key, query_ids: [ids[8]], k: 10 });
    expect(byId.ids[0]).toBe(ids[8]);
    expectBruteForce(byId, vectors.subarray(8 * DIM, 9 * DIM), 10);

    const odd = new Set(ids.filter((_, i) => i % 2 === 1));
    const inView = await run<SortBySimilarityResult>("sort_by_similarity", { brain_key: key, query_ids: [ids[8]], k: 12 }, view);
    expect(inView.ids.every((id) => odd.has(id))).toBe(true);
    expectBruteForce(inView, vectors.subarray(8 * DIM, 9 * DIM), 12, odd);

    const mean = new Float32Array(DIM).map((_, d) => (vectors[2 * DIM + d] + vectors[3 * DIM + d]) / 2);
    const two = await run<SortBySimilarityResult>("sort_by_similarity", { brain_key: key, query_ids: [ids[2], ids[3]], k: 5 });
    expectBruteForce(two, mean, 5);
  });

  it("refuses least-similarity queries", async () => {
    await expect(run("sort_by_similarity", { brain_key: key, query_ids: [ids[0]], reverse: true })).rejects.toThrow(/least-similarity|least similar/);
  });
});

describe("external indexes as runs", () => {
  it("store where the index lives, never the credentials", async () => {
    const configs = await runPython<Record<string, Record<string, unknown>>>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
print(json.dumps({k: ds.get_brain_info(k).config.serialize() for k in ${JSON.stringify(BACKENDS.map((b) => b.key))}}))
`);
    expect(configs.sim_pg).toMatchObject({ metric: "cosine", index_name: `${String(configs.sim_pg.table_name)}_hnsw`, hnsw_ef_search: 200 });
    expect(String(configs.sim_pg.table_name)).toMatch(/^brain_ts_brain_ts_vector_backends_sim_pg_[0-9a-f]{6}$/);
    expect(configs.sim_lance).toMatchObject({ metric: "cosine", uri: lanceDir });
    expect(configs.sim_milvus).toMatchObject({ metric: "cosine", uri: milvus.uri });
    expect(JSON.stringify(configs)).not.toContain("secret-pw");
    expect(JSON.stringify(configs)).not.toContain("postgresql://");
  });

  it("a server that is down fails the build clearly and registers nothing", async () => {
    process.env.FIFTYONE_BRAIN_SIMILARITY_PGVECTOR_CONNECTION_STRING = "postgresql://u:hunter2@127.0.0.1:1/db";
    try {
      const err = await run("compute_similarity", { brain_key: "sim_down", embeddings: "emb", backend: "pgvector" }).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(err?.message).toMatch(/Cannot connect to the pgvector server/);
      expect(err?.message).not.toContain("hunter2");
    } finally {
      process.env.FIFTYONE_BRAIN_SIMILARITY_PGVECTOR_CONNECTION_STRING = pg.connectionString;
    }
    const runs = await runPython<string[]>(`
import json, fiftyone as fo
print(json.dumps(fo.load_dataset(${JSON.stringify(DATASET)}).list_brain_runs()))
`);
    expect(runs).not.toContain("sim_down");
  });

  it("add_to_index and remove_from_index change the external index", async () => {
    const removed = await run<{ removed: number; size: number }>("remove_from_index", { brain_key: "sim_pg", ids: [ids[0], ids[1], "0123456789abcdef01234567"] });
    expect(removed).toMatchObject({ removed: 2, size: 118 });
    const added = await run<{ added: number; replaced: number; size: number }>("add_to_index", { brain_key: "sim_pg" });
    expect(added).toMatchObject({ added: 2, replaced: 118, size: 120 });
  });

  it("deleting a run drops its table or collection", async () => {
    const configs = await runPython<Record<string, Record<string, unknown>>>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
print(json.dumps({k: ds.get_brain_info(k).config.serialize() for k in ${JSON.stringify(BACKENDS.map((b) => b.key))}}))
`);
    for (const b of BACKENDS) await run("delete_brain_run", { brain_key: b.key });
    const sql = new Client({ connectionString: pg.connectionString });
    await sql.connect();
    const { rows } = await sql.query<{ t: string | null }>("SELECT to_regclass($1) AS t", [`"${String(configs.sim_pg.table_name)}"`]);
    await sql.end();
    expect(rows[0].t).toBeNull();
    expect(existsSync(join(lanceDir, `${String(configs.sim_lance.table_name)}.lance`))).toBe(false);
    await expect(MilvusIndex.open({ uri: milvus.uri, collectionName: String(configs.sim_milvus.collection_name) })).rejects.toThrow(/does not exist/);
  });
});
