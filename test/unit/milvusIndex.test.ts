import { BrainError } from "../../src/errors";
import { MilvusIndex, milvusOptionsFromParams, type MilvusOptions } from "../../src/index/milvusIndex";
import type { SimilarityMetric } from "../../src/index/similarityIndex";
import { bruteForce, expectSameRanking, randomVectors } from "../support/bruteForce";
import { startMilvusLite, type MilvusLiteServer } from "../support/milvusLiteServer";

// A real Milvus gRPC server (Milvus Lite from PyPI, in .venv-milvus), started once for the file.
jest.setTimeout(120000);

const N = 300;
const DIM = 16;
const ids = Array.from({ length: N }, (_, i) => `id${String(i).padStart(3, "0")}`);
const vectors = randomVectors(N, DIM, 13);
const queries = randomVectors(3, DIM, 17);
const row = (v: Float32Array, i: number) => v.subarray(i * DIM, (i + 1) * DIM);

let server: MilvusLiteServer;
let counter = 0;
const opened: MilvusIndex[] = [];

async function open(options: Partial<MilvusOptions> = {}): Promise<MilvusIndex> {
  const index = await MilvusIndex.open({ uri: server.uri, collectionName: `t_${++counter}`, dim: DIM, ef: 300, ...options });
  opened.push(index);
  return index;
}

async function expectBrainError(p: Promise<unknown>, code: string, message: RegExp): Promise<BrainError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BrainError);
  expect((err as BrainError).code).toBe(code);
  expect((err as BrainError).message).toMatch(message);
  return err as BrainError;
}

const topK = (metric: SimilarityMetric, q: Float32Array, k: number, view?: ReadonlySet<string>) => {
  const ref = bruteForce(metric, ids, vectors, DIM, q, k + 1, view);
  return { ref: { ids: ref.ids.slice(0, k), distances: ref.distances.slice(0, k) }, next: ref.distances[k] };
};

beforeAll(async () => {
  server = await startMilvusLite();
});

afterAll(async () => {
  for (const index of opened) await index.close().catch(() => undefined);
  await server?.stop();
});

describe("Milvus index on Milvus Lite's gRPC server", () => {
  it.each<SimilarityMetric>(["cosine", "euclidean", "dotproduct"])("ranks like brute force with %s, distances in metric units", async (metric) => {
    const index = await open({ metric });
    expect(await index.add({ ids, vectors })).toEqual({ added: N, replaced: 0, skipped: 0 });
    expect(await index.size()).toBe(N);
    const results = await index.query(queries, { k: 10 });
    expect(results).toHaveLength(3);
    results.forEach((got, q) => {
      const { ref, next } = topK(metric, row(queries, q), 10);
      expectSameRanking(got, ref, next, 1e-4);
    });
  });

  it("restricts queries to the view: small (pk filter) and large (over-fetch and drop)", async () => {
    const index = await open({ metric: "cosine" });
    await index.add({ ids, vectors });
    const small = new Set(ids.filter((_, i) => i % 7 === 0));
    const large = new Set(ids.filter((_, i) => i % 10 !== 3));
    for (const view of [small, large]) {
      const [got] = await index.query(row(queries, 0), { k: 25, restrictTo: view });
      expect(got.ids.every((id) => view.has(id))).toBe(true);
      const { ref, next } = topK("cosine", row(queries, 0), 25, view);
      expectSameRanking(got, ref, next, 1e-4);
    }
    const [all] = await index.query(row(queries, 1), { restrictTo: new Set([...small, "not-indexed", 'quote"d']) });
    expect(new Set(all.ids)).toEqual(small);
  });

  it("adds with explicit overwrite semantics, gets, removes, reopens", async () => {
    const index = await open({ metric: "euclidean" });
    expect(await index.add({ ids: ids.slice(0, 10), vectors: vectors.slice(0, 10 * DIM) })).toEqual({ added: 10, replaced: 0, skipped: 0 });
    const next = ids.slice(5, 15);
    const newVectors = vectors.slice(100 * DIM, 110 * DIM);
    expect(await index.add({ ids: next, vectors: newVectors }, { overwrite: false })).toEqual({ added: 5, replaced: 0, skipped: 5 });
    expect((await index.getEmbeddings(["id005"])).vectors).toEqual(row(vectors, 5));
    expect(await index.add({ ids: next, vectors: newVectors })).toEqual({ added: 0, replaced: 10, skipped: 0 });
    expect((await index.getEmbeddings(["id005"])).vectors).toEqual(row(vectors, 100));
    expect(await index.size()).toBe(15);
    const got = await index.getEmbeddings(["id012", "missing", "id001"]);
    expect(got.ids).toEqual(["id012", "id001"]);
    expect(got.sampleIds).toBeUndefined();
    expect(got.vectors).toEqual(Float32Array.from([...row(vectors, 107), ...row(vectors, 1)]));
    expect((await index.getEmbeddings()).ids).toEqual(ids.slice(0, 15));
    expect(await index.remove(["id000", "id001", "unknown"])).toBe(2);
    expect(await index.size()).toBe(13);
    await index.close();

    const again = await MilvusIndex.open({ uri: server.uri, collectionName: `t_${counter}`, metric: "euclidean" });
    opened.push(again);
    expect(again.dim).toBe(DIM);
    expect(await again.size()).toBe(13);
    const [q] = await again.query(row(vectors, 3), { k: 1 });
    expect(q.ids).toEqual(["id003"]);
    expect(q.distances[0]).toBeCloseTo(0, 5);
    await expectBrainError(MilvusIndex.open({ uri: server.uri, collectionName: `t_${counter}`, dim: 8 }), "INVALID_DATA", /holds 16-dimensional vectors, not 8/);
  });

  it("keeps patch items' sample ids", async () => {
    const index = await open();
    await index.add({ ids: ["l1", "l2", "l3"], sampleIds: ["s1", "s1", "s2"], vectors: vectors.slice(0, 3 * DIM) });
    expect((await index.getEmbeddings(["l3", "l1"])).sampleIds).toEqual(["s2", "s1"]);
  });

  it("refuses bad input and writes nothing; k is capped at Milvus's 16384", async () => {
    const index = await open();
    await index.add({ ids: ids.slice(0, 5), vectors: vectors.slice(0, 5 * DIM) });
    await expectBrainError(index.add({ ids: ["a", "b"], vectors: new Float32Array(DIM) }), "INVALID_DATA", /16-dimensional/);
    const nan = vectors.slice(0, 2 * DIM);
    nan[DIM] = NaN;
    await expectBrainError(index.add({ ids: ["a", "b"], vectors: nan }), "INVALID_DATA", /'b' contains NaN/);
    await expectBrainError(index.query(new Float32Array(3)), "INVALID_DATA", /not a whole number/);
    await expectBrainError(index.query(row(queries, 0), { reverse: true }), "INVALID_PARAMS", /least similar/);
    await expectBrainError(index.query(row(queries, 0), { k: 16385 }), "INVALID_PARAMS", /at most 16384/);
    await expectBrainError(MilvusIndex.open({ uri: server.uri, collectionName: "fresh" }), "INVALID_PARAMS", /dimension is needed/);
    await expectBrainError(MilvusIndex.open({ uri: server.uri, collectionName: "bad-name", dim: 4 }), "INVALID_PARAMS", /Invalid Milvus collection name/);
    expect(await index.size()).toBe(5);
  });

  it("cleanup drops the collection", async () => {
    const index = await open();
    await index.add({ ids: ids.slice(0, 3), vectors: vectors.slice(0, 3 * DIM) });
    await index.cleanup();
    // Reopening without a dimension fails: the collection is gone.
    await expectBrainError(MilvusIndex.open({ uri: server.uri, collectionName: `t_${counter}` }), "INVALID_PARAMS", /does not exist/);
  });

  it("reads its address and credentials from the brain config and never reports the password", async () => {
    const saved = { ...process.env };
    try {
      process.env.FIFTYONE_BRAIN_CONFIG_PATH = "/nonexistent/brain_config.json";
      process.env.FIFTYONE_BRAIN_SIMILARITY_MILVUS_URI = "127.0.0.1:1";
      process.env.FIFTYONE_BRAIN_SIMILARITY_MILVUS_PASSWORD = "hunter2-secret";
      process.env.FIFTYONE_BRAIN_SIMILARITY_MILVUS_USER = "someone";
      const err = await expectBrainError(MilvusIndex.open({ collectionName: "x", dim: 4 }), "BACKEND_UNAVAILABLE", /Cannot reach the Milvus server at 127\.0\.0\.1:1/);
      expect(err.message).not.toContain("hunter2-secret");
    } finally {
      process.env = saved;
    }
    expect(milvusOptionsFromParams({ uri: "http://h:19530", collection_name: "c", metric: "cosine" })).toMatchObject({ uri: "http://h:19530", collectionName: "c", metric: "cosine" });
    expect(() => milvusOptionsFromParams({ metric: "l1" })).toThrow(/Unsupported milvus metric 'l1'/);
  });
});
