import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BrainError } from "../../src/errors";
import { defaultLanceDbUri, LanceDbIndex, lanceDbOptionsFromParams, type LanceDbOptions } from "../../src/index/lancedbIndex";
import type { SimilarityMetric } from "../../src/index/similarityIndex";
import { projectRoot } from "../../src/fiftyone/localDatabase";
import { bruteForce, expectSameRanking, randomVectors } from "../support/bruteForce";

// Embedded LanceDB on a temporary folder.
jest.setTimeout(60000);

const N = 300;
const DIM = 16;
const ids = Array.from({ length: N }, (_, i) => `id${String(i).padStart(3, "0")}`);
const vectors = randomVectors(N, DIM, 11);
const queries = randomVectors(4, DIM, 5);
const row = (v: Float32Array, i: number) => v.subarray(i * DIM, (i + 1) * DIM);

let dir: string;
let counter = 0;
const opened: LanceDbIndex[] = [];

async function open(options: Partial<LanceDbOptions> = {}): Promise<LanceDbIndex> {
  const index = await LanceDbIndex.open({ uri: dir, tableName: `t_${++counter}`, dim: DIM, ...options });
  opened.push(index);
  return index;
}

async function expectBrainError(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BrainError);
  expect((err as BrainError).code).toBe(code);
  expect((err as BrainError).message).toMatch(message);
}

const topK = (metric: SimilarityMetric, q: Float32Array, k: number, view?: ReadonlySet<string>) => {
  const ref = bruteForce(metric, ids, vectors, DIM, q, k + 1, view);
  return { ref: { ids: ref.ids.slice(0, k), distances: ref.distances.slice(0, k) }, next: ref.distances[k] };
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "brain-ts-lancedb-"));
});

afterAll(async () => {
  for (const index of opened) await index.close().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe("LanceDB index (embedded, on a folder)", () => {
  it.each<SimilarityMetric>(["cosine", "euclidean", "dotproduct"])("ranks like brute force with %s, distances in metric units", async (metric) => {
    const index = await open({ metric });
    expect(await index.add({ ids, vectors })).toEqual({ added: N, replaced: 0, skipped: 0 });
    expect(await index.size()).toBe(N);
    const results = await index.query(queries, { k: 10 });
    expect(results).toHaveLength(4);
    results.forEach((got, q) => {
      const { ref, next } = topK(metric, row(queries, q), 10);
      expectSameRanking(got, ref, next, 1e-5);
    });
  });

  it("restricts queries to the view: small (prefilter on id) and large (over-fetch and drop)", async () => {
    const index = await open();
    await index.add({ ids, vectors });
    const small = new Set(ids.filter((_, i) => i % 7 === 0));
    const large = new Set(ids.filter((_, i) => i % 10 !== 3));
    for (const view of [small, large]) {
      const [got] = await index.query(row(queries, 0), { k: 25, restrictTo: view });
      expect(got.ids.every((id) => view.has(id))).toBe(true);
      const { ref, next } = topK("cosine", row(queries, 0), 25, view);
      expectSameRanking(got, ref, next);
    }
    // k undefined = the whole view, ids outside the index are absent; a quote in an id is only data
    const view = new Set([...small, "not-indexed", "it's"]);
    const [all] = await index.query(row(queries, 1), { restrictTo: view });
    expect(new Set(all.ids)).toEqual(small);
    const largeWithMissing = new Set([...large, ...Array.from({ length: 50 }, (_, i) => `missing${i}`)]);
    const [most] = await index.query(row(queries, 2), { k: 260, restrictTo: largeWithMissing });
    const { ref, next } = topK("cosine", row(queries, 2), 260, large);
    expectSameRanking(most, ref, next);
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
    expect(await index.remove(["id000", "id001", "unknown", "o'brien"])).toBe(2);
    expect(await index.size()).toBe(13);
    await index.close();

    const again = await LanceDbIndex.open({ uri: dir, tableName: `t_${counter}`, metric: "euclidean" });
    opened.push(again);
    expect(again.dim).toBe(DIM);
    expect(await again.size()).toBe(13);
    const [q] = await again.query(row(vectors, 3), { k: 1 });
    expect(q.ids).toEqual(["id003"]);
    expect(q.distances[0]).toBeCloseTo(0, 6);
    await expectBrainError(LanceDbIndex.open({ uri: dir, tableName: `t_${counter}`, dim: 8 }), "INVALID_DATA", /holds 16-dimensional vectors, not 8/);
  });

  it("keeps patch items' sample ids", async () => {
    const index = await open();
    await index.add({ ids: ["l1", "l2", "l3"], sampleIds: ["s1", "s1", "s2"], vectors: vectors.slice(0, 3 * DIM) });
    expect((await index.getEmbeddings(["l3", "l1"])).sampleIds).toEqual(["s2", "s1"]);
  });

  it("refuses bad input and writes nothing", async () => {
    const index = await open();
    await index.add({ ids: ids.slice(0, 5), vectors: vectors.slice(0, 5 * DIM) });
    await expectBrainError(index.add({ ids: ["a", "b"], vectors: new Float32Array(DIM) }), "INVALID_DATA", /16-dimensional/);
    const nan = vectors.slice(0, 2 * DIM);
    nan[5] = Infinity;
    await expectBrainError(index.add({ ids: ["a", "b"], vectors: nan }), "INVALID_DATA", /'a' contains Infinity/);
    await expectBrainError(index.query(new Float32Array(3)), "INVALID_DATA", /not a whole number/);
    await expectBrainError(index.query(row(queries, 0), { reverse: true }), "INVALID_PARAMS", /least similar/);
    await expectBrainError(LanceDbIndex.open({ uri: dir, tableName: "new_one" }), "INVALID_PARAMS", /dimension is needed/);
    await expectBrainError(LanceDbIndex.open({ uri: dir, tableName: "bad name;" , dim: 4 }), "INVALID_PARAMS", /Invalid lancedb table name/);
    expect(await index.size()).toBe(5);
  });

  it("cleanup drops the table", async () => {
    const index = await open();
    await index.add({ ids: ids.slice(0, 3), vectors: vectors.slice(0, 3 * DIM) });
    expect(existsSync(join(dir, `t_${counter}.lance`))).toBe(true);
    await index.cleanup();
    expect(existsSync(join(dir, `t_${counter}.lance`))).toBe(false);
  });

  it("parses brain-config parameters; the default folder is under the plugin's cache", () => {
    expect(lanceDbOptionsFromParams({ uri: "/data/lance", metric: "l2", table_name: "x" })).toEqual({ uri: "/data/lance", metric: "euclidean", tableName: "x" });
    expect(() => lanceDbOptionsFromParams({ metric: "hamming" })).toThrow(/Unsupported lancedb metric 'hamming'/);
    expect(defaultLanceDbUri()).toBe(join(projectRoot(), ".cache", "lancedb"));
  });
});
