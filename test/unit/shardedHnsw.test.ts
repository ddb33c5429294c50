import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HierarchicalNSW } from "hnswlib-node";
import { clusteredVectors } from "../../bench/clusteredVectors";
import { BrainError } from "../../src/errors";
import { knnSearch } from "../../src/index/exactKnn";
import { ShardedHnsw } from "../../src/index/shardedHnsw";

const PARAMS = { m: 16, ef_construction: 100, ef: 50, random_seed: 7 };

function singleIndex(v: Float32Array, n: number, dim: number, ef: number): HierarchicalNSW {
  const h = new HierarchicalNSW("cosine", dim);
  h.initIndex({ maxElements: n, m: PARAMS.m, efConstruction: PARAMS.ef_construction, randomSeed: PARAMS.random_seed });
  for (let i = 0; i < n; i++) h.addPoint(Array.from(v.subarray(i * dim, (i + 1) * dim)), i);
  h.setEf(ef);
  return h;
}

describe("sharded HNSW (one hnswlib index per worker thread)", () => {
  it("with one shard, returns exactly what one hnswlib index built the same way returns", async () => {
    const n = 600;
    const dim = 24;
    const { vectors } = clusteredVectors(n, dim, { seed: 3 });
    const single = singleIndex(vectors, n, dim, PARAMS.ef);
    const sharded = await ShardedHnsw.build(vectors, n, dim, { space: "cosine", params: PARAMS, shards: 1 });
    try {
      const got = await sharded.searchRows(0, n, 10);
      for (let i = 0; i < n; i++) {
        const want = single.searchKnn(Array.from(vectors.subarray(i * dim, (i + 1) * dim)), 10);
        expect(Array.from(got.labels.subarray(i * 10, i * 10 + 10))).toEqual(want.neighbors);
      }
    } finally {
      await sharded.close();
    }
  });

  it("with three shards and a search breadth covering every shard, equals one index searched exhaustively", async () => {
    const n = 500;
    const dim = 16;
    const { vectors } = clusteredVectors(n, dim, { seed: 5 });
    const single = singleIndex(vectors, n, dim, n);
    const sharded = await ShardedHnsw.build(vectors, n, dim, { space: "cosine", params: { ...PARAMS, ef: n }, shards: 3 });
    try {
      expect(sharded.shardCount).toBe(3);
      const queries = clusteredVectors(40, dim, { seed: 9 }).vectors;
      const got = await sharded.search(queries, 8);
      for (let q = 0; q < 40; q++) {
        const want = single.searchKnn(Array.from(queries.subarray(q * dim, (q + 1) * dim)), 8);
        expect(Array.from(got.labels.subarray(q * 8, q * 8 + 8))).toEqual(want.neighbors);
        want.distances.forEach((d, j) => expect(got.distances[q * 8 + j]).toBeCloseTo(d, 5));
      }
    } finally {
      await sharded.close();
    }
  });

  it("finds ≥ 95% of the exact 10 nearest neighbours on clustered data", async () => {
    const n = 6000;
    const dim = 64;
    const { vectors } = clusteredVectors(n, dim, { seed: 11 });
    const sharded = await ShardedHnsw.build(vectors, n, dim, { space: "cosine", params: PARAMS, shards: 2 });
    try {
      const got = await sharded.searchRows(0, 500, 10);
      const exact = await knnSearch(vectors, vectors.slice(0, 500 * dim), dim, 10, "cosine");
      let hits = 0;
      for (let q = 0; q < 500; q++) {
        const truth = new Set(exact.indices.subarray(q * 10, q * 10 + 10));
        for (const l of got.labels.subarray(q * 10, q * 10 + 10)) if (truth.has(l)) hits++;
      }
      expect(hits / 5000).toBeGreaterThanOrEqual(0.95);
    } finally {
      await sharded.close();
    }
  });

  it("saves its shards and loads them back with the same answers; a corrupted shard is a clear error", async () => {
    const n = 800;
    const dim = 32;
    const { vectors } = clusteredVectors(n, dim, { seed: 13 });
    const dir = await mkdtemp(join(tmpdir(), "sharded-hnsw-"));
    const built = await ShardedHnsw.build(vectors, n, dim, { space: "cosine", params: PARAMS, shards: 2 });
    try {
      const before = await built.searchRows(0, n, 5);
      const meta = await built.save(dir);
      await built.close();
      const loaded = await ShardedHnsw.load(dir, JSON.parse(JSON.stringify(meta)), vectors);
      try {
        const after = await loaded.searchRows(0, n, 5);
        expect(Array.from(after.labels)).toEqual(Array.from(before.labels));
        const queries = vectors.slice(0, 10 * dim);
        expect(Array.from((await loaded.search(queries, 5)).labels)).toEqual(Array.from(before.labels.subarray(0, 50)));
      } finally {
        await loaded.close();
      }
      // Without its vectors, a loaded index still answers vector queries.
      const bare = await ShardedHnsw.load(dir, meta);
      try {
        expect(Array.from((await bare.search(vectors.slice(0, 10 * dim), 5)).labels)).toEqual(Array.from(before.labels.subarray(0, 50)));
        await expect(bare.searchRows(0, 1, 5)).rejects.toThrow(/loaded without its vectors/);
      } finally {
        await bare.close();
      }
      await writeFile(join(dir, "shard-1.bin"), Buffer.from("not an index"));
      const err = await ShardedHnsw.load(dir, meta).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BrainError);
      expect((err as BrainError).code).toBe("INVALID_DATA");
      expect((err as BrainError).message).toMatch(/stored hnswlib shards are unreadable.*compute the index again/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("reports a crashed worker as a clear error and stops the other shards", async () => {
    const n = 400;
    const dim = 16;
    const { vectors } = clusteredVectors(n, dim, { seed: 17 });
    const sharded = await ShardedHnsw.build(vectors, n, dim, { space: "l2", params: PARAMS, shards: 2 });
    try {
      sharded.crashShardForTest(1);
      const err = await sharded.searchRows(0, n, 5).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BrainError);
      expect((err as BrainError).code).toBe("INTERNAL");
      expect((err as BrainError).message).toMatch(/hnswlib shard 1 stopped: shard worker crashed on request; the index is unusable, build it again/);
      // Every later request fails instead of hanging.
      await expect(sharded.search(vectors.slice(0, dim), 3)).rejects.toThrow(BrainError);
    } finally {
      await sharded.close();
    }
  });

  it("cancels a build when its signal aborts, and refuses bad input", async () => {
    const { vectors } = clusteredVectors(4000, 64, { seed: 19 });
    const controller = new AbortController();
    const building = ShardedHnsw.build(vectors, 4000, 64, { space: "cosine", params: PARAMS, shards: 2, signal: controller.signal, progress: (f) => f > 0.1 && controller.abort() });
    await expect(building).rejects.toMatchObject({ code: "CANCELLED" });
    await expect(ShardedHnsw.build(vectors, 4001, 64, { space: "cosine" })).rejects.toMatchObject({ code: "INVALID_DATA" });
    await expect(ShardedHnsw.build(vectors, 4000, 64, { space: "cosine", params: { m: 1 } })).rejects.toMatchObject({ code: "INVALID_PARAMS" });
  });
});
