/** Row-major matrices of n vectors of `dim` values. */
export type Vectors = ArrayLike<number>;

/**
 * Centered (and for cosine, L2-normalised) float64 copy of the rows, with squared norms.
 * Centered by the rows' own mean, or by `center` (e.g. a whole index's mean when the rows
 * are a view of it, as the reference centers views of an index).
 */
export function centeredRows(
  vectors: Vectors,
  n: number,
  dim: number,
  normalise: boolean,
  center?: ArrayLike<number>,
): { rows: Float64Array; sq: Float64Array } {
  const rows = new Float64Array(n * dim);
  const mean = center ? Float64Array.from(center) : columnMean(vectors, n, dim);
  const sq = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < dim; k++) {
      const v = vectors[i * dim + k] - mean[k];
      rows[i * dim + k] = v;
      s += v * v;
    }
    if (normalise) {
      // sklearn.preprocessing.normalize: zero rows are left as they are
      const norm = Math.sqrt(s);
      if (norm > 0) for (let k = 0; k < dim; k++) rows[i * dim + k] /= norm;
      s = 0;
      for (let k = 0; k < dim; k++) s += rows[i * dim + k] * rows[i * dim + k];
    }
    sq[i] = s;
  }
  return { rows, sq };
}


/** Column means of n rows (float64). */
export function columnMean(vectors: Vectors, n: number, dim: number): Float64Array {
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let k = 0; k < dim; k++) mean[k] += vectors[i * dim + k];
  for (let k = 0; k < dim; k++) mean[k] /= n;
  return mean;
}
