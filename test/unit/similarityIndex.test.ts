import { ExactIndex } from "../../src/index/exactIndex";
import { HnswIndex } from "../../src/index/hnswIndex";
import { SimilarityMetric } from "../../src/index/similarityIndex";
import { E6_ROWS, NAMES } from "../support/e6";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const IDS = NAMES.split("");

async function e6(metric: SimilarityMetric = "cosine"): Promise<ExactIndex> {
  const index = new ExactIndex(metric, 2);
  await index.add({ ids: IDS, vectors: Float32Array.from(E6_ROWS) });
  return index;
}

function pairs(r: { ids: string[]; distances: Float32Array }): [string, number][] {
  return r.ids.map((id, i) => [id, r.distances[i]]);
}

function expectRanked(r: { ids: string[]; distances: Float32Array }, expected: [string, number][]): void {
  expect(r.ids.length).toBe(expected.length);
  // Ties may come in any order (the reference's argsort leaves them unspecified): compare distances by id.
  const got = new Map(pairs(r));
  for (const [id, d] of expected) expect(got.get(id)).toBeCloseTo(d, 6);
  for (let i = 1; i < r.distances.length; i++) expect(r.distances[i]).toBeGreaterThanOrEqual(r.distances[i - 1] - 1e-7);
}

describe("exact index: the reference's sort_by_similarity on E6 (spec P.7)", () => {
  it("vector query: raw cosine distances", async () => {
    const [r] = await (await e6()).query(Float32Array.from([1, 0.2]));
    expect(r.ids).toEqual(["b", "a", "e", "d", "c", "f"]);
    expectRanked(r, [["b", 0.0037594118043170477], ["a", 0.01941932430907989], ["e", 0.1679497056621565], ["d", 0.696796342723053], ["c", 0.803883864861816], ["f", 1.7893522173763263]]);
  });

  it("id query: centred distances, the item itself first at 0", async () => {
    const r = await (await e6()).queryByIds(["e"]);
    expect(r.ids).toEqual(["e", "b", "a", "d", "c", "f"]);
    expectRanked(r, [["e", 0], ["b", 0.6987551124517253], ["a", 0.710822983412337], ["d", 1.0763530377630652], ["c", 1.1158806995601784], ["f", 1.8794073194028553]]);
  });

  it("reverse and k", async () => {
    const r = await (await e6()).queryByIds(["e"], { k: 3, reverse: true });
    expect(r.ids).toEqual(["f", "c", "d"]);
  });

  it("several ids, mean: the mean of the raw vectors, raw distances", async () => {
    const r = await (await e6()).queryByIds(["a", "c"]);
    expect(r.ids[0]).toBe("e");
    expect(new Set(r.ids.slice(1, 3))).toEqual(new Set(["b", "d"]));
    expect(new Set(r.ids.slice(3, 5))).toEqual(new Set(["a", "c"]));
    expectRanked(r, [["e", 0], ["b", 0.21913119055696972], ["d", 0.21913119055696972], ["a", 0.29289321881345254], ["c", 0.29289321881345254], ["f", 1.316227766016838]]);
  });

  it.each([
    ["post-min", [["b", 7.976884773275295e-5], ["d", 0.0007885054669238833], ["f", 0.42523075506790875], ["e", 0.710822983412337], ["a", 1.9843366432473037], ["c", 1.9843366432473037]]],
    ["post-mean", [["e", 0.9133518414862577], ["d", 0.9886746276572103], ["b", 0.9910555671658832], ["f", 1.0676327384310553], ["a", 1.9843366432473037], ["c", 1.9843366432473037]]],
    ["post-max", [["e", 1.1158806995601784], ["f", 1.7100347217942018], ["d", 1.9765607498474966], ["b", 1.9820313654840336], ["a", 1.9843366432473037], ["c", 1.9843366432473037]]],
  ] as const)("several ids, %s: a query item's own distance is ignored", async (aggregation, expected) => {
    const r = await (await e6()).queryByIds(["a", "c"], { aggregation });
    expect(r.ids.slice(0, 4)).toEqual(expected.slice(0, 4).map(([id]) => id));
    expectRanked(r, expected.map(([id, d]) => [id, d]));
  });

  it("euclidean index, id query", async () => {
    const r = await (await e6("euclidean")).queryByIds(["a"]);
    expect(r.ids).toEqual(["a", "b", "e", "d", "c", "f"]);
    expectRanked(r, [["a", 0], ["b", Math.SQRT2 / 10], ["e", 1], ["d", 1.2727922061357855], ["c", 1.4142135623730951], ["f", 2.0615528128088303]]);
  });

  it("a view: ids outside it query raw vectors, ids inside use the full index's centring", async () => {
    const index = await e6();
    const view = new Set(["a", "c", "e"]);
    const outside = await index.queryByIds(["b"], { restrictTo: view });
    expect(outside.ids).toEqual(["a", "e", "c"]);
    expectRanked(outside, [["a", 0.006116265326381098], ["e", 0.21913119055696972], ["c", 0.8895684739251535]]);
    const inside = await index.queryByIds(["a"], { restrictTo: view });
    expect(inside.ids).toEqual(["a", "e", "c"]);
    expectRanked(inside, [["a", 0], ["e", 0.710822983412337], ["c", 1.9843366432473037]]);
  });

  it("an id query does not change the stored vectors (the reference centres them in place)", async () => {
    const index = await e6();
    await index.queryByIds(["e"]);
    const [r] = await index.query(Float32Array.from([1, 0.2]), { k: 1 });
    expect(r.ids).toEqual(["b"]);
    expect(r.distances[0]).toBeCloseTo(0.0037594118043170477, 6);
    expect(Array.from((await index.getEmbeddings(["e"])).vectors)).toEqual([1, 1]);
  });

  it("errors: unknown ids, wrong dimension", async () => {
    const index = await e6();
    await expect(index.queryByIds(["zz"])).rejects.toThrow(/do not exist in this index/);
    await expect(index.query(Float32Array.from([1, 2, 3]))).rejects.toThrow(/dimension/);
    await expect(index.add({ ids: ["g"], vectors: Float32Array.from([1, 2, 3]) })).rejects.toThrow(/dimension 3, but this index has dimension 2/);
  });

  it("dotproduct: 1 − ⟨q, x⟩", async () => {
    const [r] = await (await e6("dotproduct")).query(Float32Array.from([1, 0]), { k: 2 });
    // a = (1, 0) and e = (1, 1) both have ⟨q, x⟩ = 1; ties keep index order
    expect(r.ids).toEqual(["a", "e"]);
    expect(Array.from(r.distances)).toEqual([0, 0]);
  });
});

describe("add / remove / overwrite", () => {
  it.each(["exact", "hnswlib"])("%s: replaces in place, skips without overwrite, removes", async (backend) => {
    const index = backend === "exact" ? new ExactIndex("euclidean", 2) : HnswIndex.create("euclidean", 2, { ef: 10 });
    expect(await index.add({ ids: ["a", "b"], vectors: Float32Array.from([0, 0, 10, 10]) })).toEqual({ added: 2, replaced: 0, skipped: 0 });
    expect(await index.add({ ids: ["a", "c"], vectors: Float32Array.from([5, 5, 20, 20]) })).toEqual({ added: 1, replaced: 1, skipped: 0 });
    expect(await index.add({ ids: ["a"], vectors: Float32Array.from([100, 100]) }, { overwrite: false })).toEqual({ added: 0, replaced: 0, skipped: 1 });
    expect(await index.size()).toBe(3);
    const [r] = await index.query(Float32Array.from([5, 5]), { k: 1 });
    expect(r.ids).toEqual(["a"]);
    expect(r.distances[0]).toBeCloseTo(0, 5);
    expect(await index.remove(["a", "zz"])).toBe(1);
    expect(await index.size()).toBe(2);
    const [after] = await index.query(Float32Array.from([5, 5]));
    expect(after.ids).toEqual(["b", "c"]);
    expect(after.distances[0]).toBeCloseTo(Math.sqrt(50), 4);
    const emb = await index.getEmbeddings(["c", "a", "b"]);
    expect(emb.ids).toEqual(["c", "b"]);
    expect(Array.from(emb.vectors)).toEqual([20, 20, 10, 10]);
    // removed slots are reused
    await index.add({ ids: ["d"], vectors: Float32Array.from([6, 6]) });
    const [d] = await index.query(Float32Array.from([5, 5]), { k: 1, restrictTo: new Set(["d", "c"]) });
    expect(d.ids).toEqual(["d"]);
  });
});

function randomMatrix(n: number, dim: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const rand = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  const out = new Float32Array(n * dim);
  for (let i = 0; i < out.length; i += 2) {
    const u = Math.max(rand(), 1e-12), v = rand();
    const r = Math.sqrt(-2 * Math.log(u));
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < out.length) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

describe("hnswlib", () => {
  it.each(["cosine", "euclidean", "dotproduct"] as const)("%s: recall@10 ≥ 0.95 against exact on random data, same distances", async (metric) => {
    const n = 2000, dim = 32, q = 50;
    const data = randomMatrix(n, dim, 7);
    const ids = Array.from({ length: n }, (_, i) => `s${i}`);
    const exact = new ExactIndex(metric, dim);
    await exact.add({ ids, vectors: data });
    const hnsw = HnswIndex.create(metric, dim, { m: 16, ef_construction: 200, ef: 100 });
    await hnsw.add({ ids, vectors: data });
    const queries = randomMatrix(q, dim, 11);
    const truth = await exact.query(queries, { k: 10 });
    const approx = await hnsw.query(queries, { k: 10 });
    let hits = 0;
    approx.forEach((r, i) => {
      const t = new Set(truth[i].ids);
      hits += r.ids.filter((id) => t.has(id)).length;
      // distances follow the exact backend's definitions
      expect(r.distances[0]).toBeCloseTo(truth[i].ids[0] === r.ids[0] ? truth[i].distances[0] : r.distances[0], 4);
    });
    expect(hits / (q * 10)).toBeGreaterThanOrEqual(0.95);
  });

  it("survives a write and read, then keeps adding and removing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hnsw-test-"));
    try {
      const data = randomMatrix(200, 8, 3);
      const ids = Array.from({ length: 200 }, (_, i) => `s${i}`);
      const index = HnswIndex.create("cosine", 8, { m: 8 }, false, 16);
      await index.add({ ids, vectors: data });
      await index.remove(["s5"]);
      const state = await index.writeTo(join(dir, "i.bin"));
      const again = await HnswIndex.readFrom(join(dir, "i.bin"), JSON.parse(JSON.stringify(state)));
      expect(await again.size()).toBe(199);
      const query = data.subarray(8 * 7, 8 * 8);
      expect((await again.query(query, { k: 3 }))[0]).toEqual((await index.query(query, { k: 3 }))[0]);
      expect((await again.query(data.subarray(40, 48), { k: 199 }))[0].ids).not.toContain("s5");
      await again.add({ ids: ["new"], vectors: query });
      expect(await again.size()).toBe(200);
      await expect(again.query(query, { reverse: true })).rejects.toThrow(/least-similarity/);
      // a damaged file is a clear error, not a crash
      const bytes = readFileSync(join(dir, "i.bin"));
      writeFileSync(join(dir, "cut.bin"), bytes.subarray(0, bytes.length >> 1));
      await expect(HnswIndex.readFrom(join(dir, "cut.bin"), state)).rejects.toThrow(/unreadable.*compute it again/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
