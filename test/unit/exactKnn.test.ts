import { knnSearch, knnSelf } from "../../src/index/exactKnn";
import type { SimilarityMetric } from "../../src/index/similarityIndex";

/** Deterministic pseudo-random matrix. */
function matrix(n: number, dim: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n * dim);
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

function distance(a: Float32Array, i: number, b: Float32Array, j: number, dim: number, metric: SimilarityMetric): number {
  let dot = 0, na = 0, nb = 0, sq = 0;
  for (let t = 0; t < dim; t++) {
    const x = a[i * dim + t], y = b[j * dim + t];
    dot += x * y; na += x * x; nb += y * y; sq += (x - y) ** 2;
  }
  if (metric === "cosine") return 1 - (na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0);
  if (metric === "euclidean") return Math.sqrt(sq);
  return -dot;
}

/** Brute force in float64: sorted (distance, row) pairs per query. */
function reference(base: Float32Array, queries: Float32Array, dim: number, metric: SimilarityMetric, rows: number[], self?: number[]) {
  const q = queries.length / dim;
  return Array.from({ length: q }, (_, i) =>
    rows
      .filter((r) => !self || r !== self[i])
      .map((r) => ({ r, d: distance(queries, i, base, r, dim, metric) }))
      .sort((x, y) => x.d - y.d),
  );
}

describe("knnSearch", () => {
  const dim = 24;
  const base = matrix(300, dim, 7);
  const queries = matrix(17, dim, 11);
  const all = Array.from({ length: 300 }, (_, i) => i);

  it.each(["cosine", "euclidean", "dotproduct"] as SimilarityMetric[])("finds the exact %s neighbours", async (metric) => {
    const k = 9;
    const res = await knnSearch(base, queries, dim, k, metric, { blockElements: 1000 });
    const ref = reference(base, queries, dim, metric, all);
    for (let i = 0; i < 17; i++) {
      for (let j = 0; j < k; j++) {
        expect(res.distances[i * k + j]).toBeCloseTo(ref[i][j].d, 5);
        // Same row, unless two reference distances tie within float32 rounding.
        if (Math.abs(ref[i][j].d - (ref[i][j + 1]?.d ?? Infinity)) > 1e-5 && Math.abs(ref[i][j].d - (ref[i][j - 1]?.d ?? -Infinity)) > 1e-5) {
          expect(res.indices[i * k + j]).toBe(ref[i][j].r);
        }
      }
    }
  });

  it("leaves each query's own row out of full-index queries, within a restricted set and radius", async () => {
    const restrict = Int32Array.from(all.filter((r) => r % 3 !== 0));
    const self = Int32Array.from(restrict);
    const rowsOnly = gatherRows(base, dim, restrict);
    const k = 5;
    const res = await knnSearch(base, rowsOnly, dim, k, "euclidean", { selfIndex: self, restrict, radius: 1.2 });
    const ref = reference(base, rowsOnly, dim, "euclidean", [...restrict], [...self]);
    for (let i = 0; i < restrict.length; i++) {
      const expected = ref[i].filter((x) => x.d <= 1.2).slice(0, k);
      const got = [...res.indices.subarray(i * k, i * k + k)].filter((x) => x >= 0);
      expect(got).toEqual(expected.map((x) => x.r));
      expect(got).not.toContain(self[i]);
    }
  });

  it("pads queries that have fewer than k candidates and refuses bad input", async () => {
    const res = await knnSearch(base.subarray(0, 3 * dim), queries.subarray(0, dim), dim, 5, "cosine");
    expect([...res.indices.subarray(3)]).toEqual([-1, -1]);
    expect(res.distances[4]).toBe(Infinity);
    await expect(knnSearch(base, queries, dim, 0, "cosine")).rejects.toThrow(/k must be a positive integer/);
    await expect(knnSearch(base, queries.subarray(1), dim, 3, "cosine")).rejects.toThrow(/dimension 24/);
  });
});

describe("knnSelf", () => {
  const dim = 16;
  const n = 203; // blocks of 45 rows: 5 blocks, the last one short
  const rows = matrix(n, dim, 3);
  rows.set(rows.subarray(5 * dim, 6 * dim), 150 * dim); // an exact duplicate across blocks
  const all = Array.from({ length: n }, (_, i) => i);

  it.each(["cosine", "euclidean", "dotproduct"] as SimilarityMetric[])("equals the full-matrix search for %s, across blocks", async (metric) => {
    const k = 7;
    const self = Int32Array.from(all);
    const full = await knnSearch(rows, rows, dim, k, metric, { selfIndex: self });
    const sym = await knnSelf(rows, dim, k, metric, { blockElements: 45 * 45, symmetricMinDim: 1 });
    const ref = reference(rows, rows, dim, metric, all, all);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < k; j++) {
        // euclidean from ‖a‖² + ‖b‖² − 2a·b in float32: near 0 the square root magnifies rounding
        expect(sym.distances[i * k + j]).toBeCloseTo(ref[i][j].d, metric === "euclidean" ? 3 : 5);
        if (Math.abs(ref[i][j].d - (ref[i][j + 1]?.d ?? Infinity)) > 1e-5 && Math.abs(ref[i][j].d - (ref[i][j - 1]?.d ?? -Infinity)) > 1e-5) {
          expect(sym.indices[i * k + j]).toBe(full.indices[i * k + j]);
        }
      }
      expect([...sym.indices.subarray(i * k, i * k + k)]).not.toContain(i);
    }
    if (metric !== "dotproduct") {
      expect(sym.indices[5 * k]).toBe(150);
      expect(sym.indices[150 * k]).toBe(5);
    }
  });

  it("keeps only neighbours within the radius and pads the rest", async () => {
    const k = 5;
    const sym = await knnSelf(rows, dim, k, "euclidean", { radius: 0.9, blockElements: 45 * 45, symmetricMinDim: 1 });
    const ref = reference(rows, rows, dim, "euclidean", all, all);
    for (let i = 0; i < n; i++) {
      const expected = ref[i].filter((x) => x.d <= 0.9).slice(0, k).map((x) => x.r);
      expect([...sym.indices.subarray(i * k, i * k + k)].filter((x) => x >= 0).sort()).toEqual(expected.sort());
    }
    const tiny = await knnSelf(rows.subarray(0, 2 * dim), dim, 3, "cosine");
    expect([...tiny.indices]).toEqual([1, -1, -1, 0, -1, -1]);
  });
});

function gatherRows(v: Float32Array, dim: number, rows: Int32Array): Float32Array {
  const out = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => out.set(v.subarray(r * dim, r * dim + dim), i * dim));
  return out;
}
