/**
 * Embedding-like test data: n float32 rows of `dim` around `clusters` random centres (unit
 * Gaussian centres plus Gaussian noise of `spread` per coordinate: with the default 1,
 * rows of one cluster are at cosine distance ≈ 0.5 of each other, unrelated rows ≈ 1), of
 * which a fraction `dupFraction` are noisy copies of an earlier row (noise uniform in
 * [dupNoise, 12·dupNoise] per coordinate: cosine distance ≈ noise² / (2(1 + spread²)),
 * 0.0006 to 0.09 by default). Written straight into shared memory, so large sets are
 * never copied. Deterministic for a seed.
 */
export interface ClusteredData {
  vectors: Float32Array;
  /** Row i is a noisy copy of row sourceOf[i]; −1 for original rows. */
  sourceOf: Int32Array;
}

export function clusteredVectors(n: number, dim: number, options: { clusters?: number; spread?: number; dupFraction?: number; dupNoise?: number; seed?: number } = {}): ClusteredData {
  const clusters = options.clusters ?? Math.max(1, Math.round(Math.sqrt(n)));
  const spread = options.spread ?? 1;
  const dupFraction = options.dupFraction ?? 0.05;
  const dupNoise = options.dupNoise ?? 0.05;
  let s = (options.seed ?? 1) >>> 0;
  const uniform = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  let spare = NaN;
  const gauss = () => {
    if (!Number.isNaN(spare)) {
      const g = spare;
      spare = NaN;
      return g;
    }
    const r = Math.sqrt(-2 * Math.log(uniform()));
    const t = 2 * Math.PI * uniform();
    spare = r * Math.sin(t);
    return r * Math.cos(t);
  };
  const centres = new Float32Array(clusters * dim);
  for (let i = 0; i < centres.length; i++) centres[i] = gauss();
  const vectors = new Float32Array(new SharedArrayBuffer(n * dim * 4));
  const sourceOf = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    const o = i * dim;
    if (i > 0 && uniform() < dupFraction) {
      const src = Math.floor(uniform() * i);
      sourceOf[i] = src;
      const noise = dupNoise * (1 + 11 * uniform());
      for (let k = 0; k < dim; k++) vectors[o + k] = vectors[src * dim + k] + noise * gauss();
    } else {
      const c = Math.floor(uniform() * clusters) * dim;
      for (let k = 0; k < dim; k++) vectors[o + k] = centres[c + k] + spread * gauss();
    }
  }
  return { vectors, sourceOf };
}
