import { knnRadiusGraph } from "../../src/index/radiusGraph";
import { radiusGraph } from "../../src/methods/neighborGraph";

// A deterministic generator, so failures reproduce.
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
}

/** Clusters of near copies (some larger than the cap) among random vectors. */
function data(n: number, dim: number, seed: number): Float32Array {
  const r = random(seed);
  const v = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const src = i % 7 === 0 && i > 40 ? i % 40 : i; // copies of the first 40 rows
    const cluster = i >= n - 12; // 12 rows around one point: saturate a cap of 8
    for (let k = 0; k < dim; k++) {
      v[i * dim + k] = cluster ? 1 + 0.01 * r() : src === i ? r() : v[src * dim + k] + 0.05 * r();
    }
  }
  return v;
}

describe("the k-NN kernel's radius graph equals the plain radius graph", () => {
  it.each([
    ["cosine", 0.2, 32],
    ["cosine", 0.4, 8],
    ["euclidean", 0.8, 32],
    ["euclidean", 1.5, 8],
  ] as const)("%s, radius %p, cap %p", async (metric, radius, cap) => {
    const n = 300;
    const dim = 16;
    const v = data(n, dim, 42);
    const plain = radiusGraph(v, n, dim, metric, radius, cap);
    const fast = await knnRadiusGraph(v, n, dim, metric, radius, cap);
    expect(fast.radius).toBe(plain.radius);
    expect([...fast.offsets]).toEqual([...plain.offsets]);
    expect([...fast.indices]).toEqual([...plain.indices]);
    expect([...fast.distances]).toEqual([...plain.distances]);
    expect(plain.indices.length).toBeGreaterThan(40); // the copies are found
    if (cap === 8) expect(plain.radius).toBeLessThan(radius); // the cluster saturates the cap
  });

  it("handles tiny inputs", async () => {
    expect((await knnRadiusGraph([1, 2], 1, 2, "cosine", 0.2, 32)).indices.length).toBe(0);
    const g = await knnRadiusGraph([1, 0, 1, 0.01, -1, 0], 3, 2, "euclidean", 0.5, 32);
    expect([...g.indices]).toEqual([...radiusGraph([1, 0, 1, 0.01, -1, 0], 3, 2, "euclidean", 0.5, 32).indices]);
  });
});
