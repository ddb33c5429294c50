import { BrainError } from "../../errors";
import { matmul64 } from "../../index/matmul64";
import { symmetricEigen } from "./eigen";
import { seededRandom } from "./random";

/**
 * Exact principal component analysis: the top eigenvectors of the sample covariance
 * (n − 1 denominator, as scikit-learn reports explained variance).
 *
 * The covariance is accumulated over blocks of rows (its size depends on the dimension,
 * not on n) as float64 matrix products on onnxruntime. Up to 64 dimensions it is diagonalised whole by Jacobi rotations; above,
 * the top components come from subspace iteration with Rayleigh–Ritz, run until every
 * wanted Ritz pair's residual ‖Cv − λv‖ is below 1e-9·λ₁, i.e. to rounding, not a
 * randomized approximation.
 *
 * Sign convention (deterministic): each component is flipped so that its coordinate of
 * largest magnitude (the first one on a tie) is positive. This is the convention of
 * scikit-learn ≥ 1.5 (`svd_flip(..., u_based_decision=False)`), so points equal the
 * reference's when it runs on such a scikit-learn; older versions may differ by a sign
 * per component.
 */
export interface PcaModel {
  dim: number;
  mean: Float64Array;
  /** numComponents × dim, row-major, unit rows. */
  components: Float64Array;
  explainedVariance: Float64Array;
  numComponents: number;
}

const DENSE_LIMIT = 64;

export async function fitPca(vectors: Float32Array, n: number, dim: number, numComponents: number, signal?: AbortSignal): Promise<PcaModel> {
  if (!Number.isInteger(numComponents) || numComponents < 1 || numComponents > dim) {
    throw new BrainError("INVALID_PARAMS", `PCA to ${numComponents} dimensions needs embeddings of at least that many dimensions (these have ${dim})`);
  }
  if (n < 2) throw new BrainError("INVALID_DATA", `PCA needs at least 2 samples with embeddings; got ${n}`);
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let c = 0; c < dim; c++) mean[c] += vectors[i * dim + c];
  for (let c = 0; c < dim; c++) mean[c] /= n;
  const cov = await covariance(vectors, n, dim, mean, signal);
  const { values, vectors: eig } =
    dim <= DENSE_LIMIT ? denseTop(cov, dim, numComponents) : await subspaceTop(cov, dim, numComponents, signal);
  const components = new Float64Array(numComponents * dim);
  for (let j = 0; j < numComponents; j++) {
    let at = 0;
    for (let c = 0; c < dim; c++) if (Math.abs(eig[j * dim + c]) > Math.abs(eig[j * dim + at])) at = c;
    const sign = eig[j * dim + at] < 0 ? -1 : 1;
    for (let c = 0; c < dim; c++) components[j * dim + c] = sign * eig[j * dim + c];
  }
  return { dim, mean, components, explainedVariance: values.slice(0, numComponents).map((v) => Math.max(0, v)), numComponents };
}

/** Coordinates of rows in the model's components: (x − mean)·component, a matrix product per block of rows. */
export async function projectPca(model: PcaModel, vectors: Float32Array, n: number): Promise<Float32Array> {
  const { dim, mean, components, numComponents: k } = model;
  const out = new Float32Array(n * k);
  const ct = new Float64Array(dim * k);
  for (let j = 0; j < k; j++) for (let c = 0; c < dim; c++) ct[c * k + j] = components[j * dim + c];
  const block = Math.max(1, Math.min(n, Math.floor((1 << 22) / dim)));
  const rows = new Float64Array(block * dim);
  for (let i0 = 0; i0 < n; i0 += block) {
    const b = Math.min(block, n - i0);
    for (let i = 0; i < b; i++) for (let c = 0; c < dim; c++) rows[i * dim + c] = vectors[(i0 + i) * dim + c] - mean[c];
    out.set(await matmul64(rows.subarray(0, b * dim), b, dim, ct, k), i0 * k);
  }
  return out;
}

/** PCA points: n × numDims, float32. */
export async function pca(vectors: Float32Array, n: number, dim: number, numDims: number, signal?: AbortSignal): Promise<Float32Array> {
  return projectPca(await fitPca(vectors, n, dim, numDims, signal), vectors, n);
}

/** Σ (x − mean)(x − mean)ᵀ / (n − 1), one Xᵀ·X product per block of centered rows. */
async function covariance(vectors: Float32Array, n: number, dim: number, mean: Float64Array, signal?: AbortSignal): Promise<Float64Array> {
  const cov = new Float64Array(dim * dim);
  const block = Math.max(1, Math.min(n, Math.floor((1 << 22) / dim)));
  const rows = new Float64Array(block * dim);
  for (let i0 = 0; i0 < n; i0 += block) {
    signal?.throwIfAborted();
    const b = Math.min(block, n - i0);
    for (let i = 0; i < b; i++) for (let c = 0; c < dim; c++) rows[i * dim + c] = vectors[(i0 + i) * dim + c] - mean[c];
    const part = await matmul64(rows.subarray(0, b * dim), dim, b, rows.subarray(0, b * dim), dim, true);
    for (let t = 0; t < cov.length; t++) cov[t] += part[t];
  }
  // exactly symmetric, as the eigen solvers expect
  for (let a = 0; a < dim; a++) {
    for (let c = a; c < dim; c++) {
      const v = cov[a * dim + c] / (n - 1);
      cov[a * dim + c] = v;
      cov[c * dim + a] = v;
    }
  }
  return cov;
}

/** Top k eigenpairs; vectors returned as k × dim rows. */
function denseTop(cov: Float64Array, dim: number, k: number): { values: Float64Array; vectors: Float64Array } {
  const { values, vectors } = symmetricEigen(cov, dim);
  const rows = new Float64Array(k * dim);
  for (let j = 0; j < k; j++) for (let c = 0; c < dim; c++) rows[j * dim + c] = vectors[c * dim + j];
  return { values: values.slice(0, k), vectors: rows };
}

async function subspaceTop(cov: Float64Array, dim: number, k: number, signal?: AbortSignal): Promise<{ values: Float64Array; vectors: Float64Array }> {
  const m = Math.min(dim, Math.max(2 * k, k + 10));
  const random = seededRandom(0);
  // Q: m orthonormal columns, stored as m rows of length dim.
  let q = new Float64Array(m * dim);
  for (let t = 0; t < q.length; t++) q[t] = random() - 0.5;
  orthonormalizeRows(q, m, dim, random);
  for (let iter = 0; ; iter++) {
    signal?.throwIfAborted();
    // z_j = C q_j for every row: Z = Q·C (C is symmetric)
    const z = await matmul64(q, m, dim, cov, dim);
    const h = new Float64Array(m * m);
    for (let i = 0; i < m; i++) for (let j = i; j < m; j++) {
      let s = 0;
      for (let c = 0; c < dim; c++) s += q[i * dim + c] * z[j * dim + c];
      h[i * m + j] = s;
      h[j * m + i] = s;
    }
    const { values, vectors: w } = symmetricEigen(h, m);
    // Ritz vectors u_j = Σ_i w[i][j] q_i and their residuals C u_j − θ_j u_j = Σ_i w[i][j] z_i − θ_j u_j.
    const ritz = new Float64Array(k * dim);
    let worst = 0;
    for (let j = 0; j < k; j++) {
      let res = 0;
      for (let c = 0; c < dim; c++) {
        let u = 0;
        let cu = 0;
        for (let i = 0; i < m; i++) {
          u += w[i * m + j] * q[i * dim + c];
          cu += w[i * m + j] * z[i * dim + c];
        }
        ritz[j * dim + c] = u;
        res += (cu - values[j] * u) ** 2;
      }
      worst = Math.max(worst, Math.sqrt(res));
    }
    if (values[0] <= 0 || worst <= 1e-9 * values[0] || iter >= 2000) return { values: values.slice(0, k), vectors: ritz };
    q = Float64Array.from(z);
    orthonormalizeRows(q, m, dim, random);
  }
}

/** Modified Gram–Schmidt, twice; a row that vanishes (rank deficiency) is replaced by a random one. */
function orthonormalizeRows(q: Float64Array, m: number, dim: number, random: () => number): void {
  for (let j = 0; j < m; j++) {
    const row = q.subarray(j * dim, (j + 1) * dim);
    for (let attempt = 0; attempt < 4; attempt++) {
      const before = Math.sqrt(row.reduce((s, v) => s + v * v, 0));
      for (let pass = 0; pass < 2; pass++) {
        for (let i = 0; i < j; i++) {
          const other = q.subarray(i * dim, (i + 1) * dim);
          let dot = 0;
          for (let c = 0; c < dim; c++) dot += row[c] * other[c];
          for (let c = 0; c < dim; c++) row[c] -= dot * other[c];
        }
      }
      const norm = Math.sqrt(row.reduce((s, v) => s + v * v, 0));
      if (norm > 1e-10 * Math.max(before, 1e-300)) {
        for (let c = 0; c < dim; c++) row[c] /= norm;
        break;
      }
      for (let c = 0; c < dim; c++) row[c] = random() - 0.5;
    }
  }
}
