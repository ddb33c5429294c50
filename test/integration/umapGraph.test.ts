import { knnSelf } from "../../src/index/exactKnn";
import { knnSelfHnsw } from "../../src/index/hnswKnn";
import { seededRandom } from "../../src/methods/visualization/random";
import { curveParams, fuzzyGraph } from "../../src/methods/visualization/umap";
import { runPython } from "../support/fiftyone";

jest.setTimeout(120_000);

/** Clustered rows with a few exact duplicates (distance-0 neighbours, ρ = 0 rows). */
function rows(n: number, dim: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  const x = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const c = i % 5;
    for (let d = 0; d < dim; d++) x[i * dim + d] = c * 3 + (random() - 0.5) * 4;
  }
  for (let i = 0; i < 6; i++) x.copyWithin((n - 1 - i) * dim, i * dim, (i + 1) * dim);
  return x;
}

describe("UMAP's fuzzy graph against umap-learn", () => {
  it("equals umap-learn's fuzzy_simplicial_set on the same neighbours, and find_ab_params", async () => {
    const n = 400;
    const dim = 12;
    const k = 15;
    const x = rows(n, dim, 3);
    const nn = await knnSelf(x, dim, k - 1, "euclidean");
    const graph = fuzzyGraph(nn, n, k);
    const ours: number[][] = [];
    for (let i = 0; i < n; i++) for (let p = graph.rowStart[i]; p < graph.rowStart[i + 1]; p++) ours.push([i, graph.cols[p], graph.weights[p]]);
    // umap-learn takes each point as its own first neighbour at distance 0.
    const indices: number[][] = [];
    const distances: number[][] = [];
    for (let i = 0; i < n; i++) {
      indices.push([i, ...nn.indices.subarray(i * (k - 1), (i + 1) * (k - 1))]);
      distances.push([0, ...nn.distances.subarray(i * (k - 1), (i + 1) * (k - 1))]);
    }
    const reference = await runPython<{ graph: number[][]; ab: number[][] }>(`
import json, numpy as np
from umap.umap_ import fuzzy_simplicial_set, find_ab_params
idx = np.array(${JSON.stringify(indices)}, dtype=np.int64)
dst = np.array(${JSON.stringify(distances)}, dtype=np.float32)
g, _, _ = fuzzy_simplicial_set(np.zeros((${n}, 1)), ${k}, 0, "euclidean", knn_indices=idx, knn_dists=dst)
g = g.tocoo()
g.sum_duplicates()
print(json.dumps({"graph": [[int(r), int(c), float(v)] for r, c, v in zip(g.row, g.col, g.data)],
                  "ab": [list(map(float, find_ab_params(s, m))) for s, m in [(1, 0.1), (1, 0.5), (1, 0), (2, 0.3)]]}))
`);
    expect(ours.length).toBe(reference.graph.length);
    ours.forEach(([i, j, w], t) => {
      expect([i, j]).toEqual(reference.graph[t].slice(0, 2));
      // umap-learn computes the strengths in float32.
      expect(Math.abs(w - reference.graph[t][2])).toBeLessThan(1e-6);
    });
    [[1, 0.1], [1, 0.5], [1, 0], [2, 0.3]].forEach(([spread, minDist], t) => {
      const { a, b } = curveParams(spread, minDist);
      expect(a / reference.ab[t][0]).toBeCloseTo(1, 5);
      expect(b / reference.ab[t][1]).toBeCloseTo(1, 5);
    });
  });
});

/** Rows near a 4-dimensional subspace of R^dim, as embeddings are (low intrinsic dimension). */
function manifoldRows(n: number, dim: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  const basis = Array.from({ length: 4 }, () => Array.from({ length: dim }, () => random() - 0.5));
  const x = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const z = basis.map(() => (i % 5) + random() * 2);
    for (let d = 0; d < dim; d++) x[i * dim + d] = basis.reduce((s, b, t) => s + b[d] * z[t], 0) + (random() - 0.5) * 0.05;
  }
  return x;
}

describe("approximate neighbours (sharded HNSW)", () => {
  it("finds nearly all exact neighbours, with the exact search's distances", async () => {
    const n = 3000;
    const dim = 32;
    const x = manifoldRows(n, dim, 8);
    for (const metric of ["euclidean", "cosine"] as const) {
      const exact = await knnSelf(x, dim, 10, metric);
      const approx = await knnSelfHnsw(x, dim, 10, metric);
      let hits = 0;
      for (let i = 0; i < n; i++) {
        const truth = new Set(exact.indices.subarray(i * 10, (i + 1) * 10));
        for (let t = 0; t < 10; t++) {
          const j = approx.indices[i * 10 + t];
          expect(j).not.toBe(i);
          if (truth.has(j)) hits++;
        }
        // Each reported distance is the true distance of that pair.
        const j = approx.indices[i * 10];
        let s = 0;
        let na = 0;
        let nb = 0;
        for (let d = 0; d < dim; d++) {
          const a = x[i * dim + d];
          const b = x[j * dim + d];
          s += metric === "euclidean" ? (a - b) ** 2 : a * b;
          na += a * a;
          nb += b * b;
        }
        const truthD = metric === "euclidean" ? Math.sqrt(s) : 1 - s / Math.sqrt(na * nb);
        expect(approx.distances[i * 10]).toBeCloseTo(truthD, 3);
      }
      expect(hits / (n * 10)).toBeGreaterThan(0.95);
    }
  });
});
