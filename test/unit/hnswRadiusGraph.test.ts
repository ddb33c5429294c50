import { clusteredVectors } from "../../bench/clusteredVectors";
import { BrainError } from "../../src/errors";
import { hnswNeighbourGraphs } from "../../src/index/hnswRadiusGraph";
import { findDuplicates } from "../../src/methods/nearDuplicates";
import { radiusGraph } from "../../src/methods/neighborGraph";
import { neighbourGraphs, resolveNeighbourMethod } from "../../src/runtime/jobs/nearDuplicates";

/** Clear-cut data: clusters (rows ≈ 0.5 apart in cosine distance) with 8% noisy copies (≤ 0.09 from their source). */
const N = 3000;
const DIM = 48;
const data = clusteredVectors(N, DIM, { seed: 23, dupFraction: 0.08 });

function sets(d: ReturnType<typeof findDuplicates>) {
  return { unique: d.unique, duplicates: d.duplicates, map: [...d.neighborsMap].map(([k, g]) => [k, g.map((e) => [e.index, e.dist])]) };
}

describe("near-duplicate neighbours from the sharded HNSW index", () => {
  it.each(["cosine", "euclidean"] as const)("gives the exact path's duplicate sets and distances (%s)", async (metric) => {
    const threshold = metric === "cosine" ? 0.2 : 3;
    const exact = await neighbourGraphs(data.vectors, N, DIM, metric, threshold, { method: "exact" });
    const hnsw = await neighbourGraphs(data.vectors, N, DIM, metric, threshold, { method: "hnswlib" });
    const want = findDuplicates(exact.exact, threshold);
    expect(want.duplicates.length).toBeGreaterThan(150); // the copies are there to find
    expect(sets(findDuplicates(hnsw.exact, threshold))).toEqual(sets(want));
    // Every stored pair carries the exact path's float64 distance, bit for bit.
    const plain = radiusGraph(data.vectors, N, DIM, metric, 2 * threshold);
    const dist = new Map<string, number>();
    for (let i = 0; i < N; i++) for (let k = plain.offsets[i]; k < plain.offsets[i + 1]; k++) dist.set(`${i},${plain.indices[k]}`, plain.distances[k]);
    for (let i = 0; i < N; i++) {
      for (let k = hnsw.graph.offsets[i]; k < hnsw.graph.offsets[i + 1]; k++) expect(hnsw.graph.distances[k]).toBe(dist.get(`${i},${hnsw.graph.indices[k]}`));
    }
  });

  it("searches rows with many close neighbours deeper, and says when a threshold is too loose", async () => {
    // 40 copies of one row: more than the 16 stored neighbours within the threshold.
    const n = 600;
    const dim = 32;
    const v = clusteredVectors(n, dim, { seed: 29, dupFraction: 0 }).vectors;
    for (let i = 1; i <= 40; i++) for (let k = 0; k < dim; k++) v[(n - i) * dim + k] = v[k] + 0.01 * Math.sin(7 * i + k);
    const hnsw = await hnswNeighbourGraphs(v, n, dim, "cosine", 0.2, 0.4, 16);
    expect(hnsw.graph.radius).toBeLessThan(0.2); // the stored graph is capped
    expect(hnsw.exact.radius).toBe(0.2);
    const want = findDuplicates(radiusGraph(v, n, dim, "cosine", 0.2), 0.2);
    expect(sets(findDuplicates(hnsw.exact, 0.2))).toEqual(sets(want));
    expect(want.duplicates.length).toBeGreaterThanOrEqual(40); // the copies (and a few close cluster rows)
    const err = await hnswNeighbourGraphs(v, n, dim, "cosine", 0.2, 0.4, 16, { maxNeighbors: 20 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BrainError);
    expect((err as BrainError).message).toMatch(/More than 20 samples lie within the threshold 0.2 of one sample/);
  });

  it("chooses HNSW above 200k samples or when asked, and refuses unknown backends", () => {
    expect(resolveNeighbourMethod({}, 200_000)).toBe("exact");
    expect(resolveNeighbourMethod({}, 200_001)).toBe("hnswlib");
    expect(resolveNeighbourMethod({ backend: "hnswlib" }, 10)).toBe("hnswlib");
    expect(resolveNeighbourMethod({ backend: "sklearn" }, 10 ** 6)).toBe("exact");
    expect(() => resolveNeighbourMethod({ backend: "annoy" }, 10)).toThrow(/Unknown backend 'annoy' for near duplicates/);
  });
});
