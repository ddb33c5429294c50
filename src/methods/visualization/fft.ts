import { BrainError } from "../../errors";

/**
 * Radix-2 complex fast Fourier transforms over split real/imaginary Float64Arrays, and the
 * 2-D linear convolution with an even kernel they give on a zero-padded grid (circulant
 * embedding), which t-SNE's interpolated repulsion uses. Transforms are unnormalised in
 * both directions: inverse(forward(x)) = size · x (per dimension), and the forward
 * transform's output is in bit-reversed order (see Fft).
 */

export function isPowerOfTwo(m: number): boolean {
  return Number.isInteger(m) && m >= 1 && (m & (m - 1)) === 0;
}

export function nextPowerOfTwo(v: number): number {
  let m = 1;
  while (m < v) m *= 2;
  return m;
}

/**
 * Transforms of length `size` (a power of two) along the rows or the columns of a `size` ×
 * `size` matrix, in place. The forward transform is decimation in frequency (natural
 * order in, bit-reversed order out) and the inverse decimation in time (bit-reversed in,
 * natural out), so a convolution, which only multiplies transforms entry by entry, never
 * permutes. A signal confined to the first half of each axis (the zero padding of a
 * linear convolution) skips the first forward stage's additions, and an inverse whose
 * second half is not wanted skips the last stage's subtractions.
 */
export class Fft {
  readonly size: number;
  /** Twiddles of the stage with butterfly span h at [h, 2h): e^(−2πi·k/(2h)), k < h. */
  private readonly twRe: Float64Array;
  private readonly twIm: Float64Array;

  constructor(size: number) {
    if (!isPowerOfTwo(size) || size < 2) throw new BrainError("INTERNAL", `FFT size must be a power of two of at least 2; got ${size}`);
    this.size = size;
    this.twRe = new Float64Array(size);
    this.twIm = new Float64Array(size);
    for (let h = 1; h < size; h <<= 1) {
      for (let k = 0; k < h; k++) {
        this.twRe[h + k] = Math.cos((Math.PI * k) / h);
        this.twIm[h + k] = -Math.sin((Math.PI * k) / h);
      }
    }
  }

  /** Forward transform (bit-reversed output) of rows [0, count); `halfZero`: each row's second half is zero. */
  forwardRows(re: Float64Array, im: Float64Array, count: number, halfZero: boolean): void {
    const m = this.size;
    const { twRe, twIm } = this;
    for (let row = 0; row < count; row++) {
      const o = row * m;
      let h = m >> 1;
      if (halfZero) {
        for (let k = 0; k < h; k++) {
          const a = o + k, b = a + h;
          const wr = twRe[h + k], wi = twIm[h + k];
          const ar = re[a], ai = im[a];
          re[b] = ar * wr - ai * wi;
          im[b] = ar * wi + ai * wr;
        }
        h >>= 1;
      }
      for (; h >= 2; h >>= 2) {
        const q = h >> 1;
        for (let start = o; start < o + m; start += 2 * h) {
          for (let k = 0; k < q; k++) {
            const ar = twRe[h + k], ai = twIm[h + k];
            const br = twRe[h + k + q], bi = twIm[h + k + q];
            const cr = twRe[q + k], ci = twIm[q + k];
            const i0 = start + k, i1 = i0 + q, i2 = i0 + h, i3 = i2 + q;
            const r0 = re[i0], j0 = im[i0], r1 = re[i1], j1 = im[i1];
            const r2 = re[i2], j2 = im[i2], r3 = re[i3], j3 = im[i3];
            const x0r = r0 + r2, x0i = j0 + j2;
            const d2r = r0 - r2, d2i = j0 - j2;
            const x2r = d2r * ar - d2i * ai, x2i = d2r * ai + d2i * ar;
            const x1r = r1 + r3, x1i = j1 + j3;
            const d3r = r1 - r3, d3i = j1 - j3;
            const x3r = d3r * br - d3i * bi, x3i = d3r * bi + d3i * br;
            re[i0] = x0r + x1r; im[i0] = x0i + x1i;
            const e1r = x0r - x1r, e1i = x0i - x1i;
            re[i1] = e1r * cr - e1i * ci; im[i1] = e1r * ci + e1i * cr;
            re[i2] = x2r + x3r; im[i2] = x2i + x3i;
            const e3r = x2r - x3r, e3i = x2i - x3i;
            re[i3] = e3r * cr - e3i * ci; im[i3] = e3r * ci + e3i * cr;
          }
        }
      }
      if (h === 1) {
        for (let a = o; a < o + m; a += 2) {
          const ar = re[a], ai = im[a], br = re[a + 1], bi = im[a + 1];
          re[a] = ar + br; im[a] = ai + bi;
          re[a + 1] = ar - br; im[a + 1] = ai - bi;
        }
      }
    }
  }

  /** Inverse transform (bit-reversed input, unnormalised) of rows [0, count); `firstHalf`: only each row's first half is wanted. */
  inverseRows(re: Float64Array, im: Float64Array, count: number, firstHalf: boolean): void {
    const m = this.size;
    const { twRe, twIm } = this;
    const stop = firstHalf ? m >> 1 : m;
    for (let row = 0; row < count; row++) {
      const o = row * m;
      let h = 1;
      for (; 2 * h < stop; h <<= 2) {
        for (let start = o; start < o + m; start += 4 * h) {
          for (let k = 0; k < h; k++) {
            const ar = twRe[h + k], ai = -twIm[h + k];
            const br = twRe[2 * h + k], bi = -twIm[2 * h + k];
            const cr = twRe[3 * h + k], ci = -twIm[3 * h + k];
            const i0 = start + k, i1 = i0 + h, i2 = i1 + h, i3 = i2 + h;
            const r0 = re[i0], j0 = im[i0], r1 = re[i1], j1 = im[i1];
            const r2 = re[i2], j2 = im[i2], r3 = re[i3], j3 = im[i3];
            const t1r = r1 * ar - j1 * ai, t1i = r1 * ai + j1 * ar;
            const y0r = r0 + t1r, y0i = j0 + t1i, y1r = r0 - t1r, y1i = j0 - t1i;
            const t3r = r3 * ar - j3 * ai, t3i = r3 * ai + j3 * ar;
            const y2r = r2 + t3r, y2i = j2 + t3i, y3r = r2 - t3r, y3i = j2 - t3i;
            const u2r = y2r * br - y2i * bi, u2i = y2r * bi + y2i * br;
            re[i0] = y0r + u2r; im[i0] = y0i + u2i;
            re[i2] = y0r - u2r; im[i2] = y0i - u2i;
            const u3r = y3r * cr - y3i * ci, u3i = y3r * ci + y3i * cr;
            re[i1] = y1r + u3r; im[i1] = y1i + u3i;
            re[i3] = y1r - u3r; im[i3] = y1i - u3i;
          }
        }
      }
      if (h < stop) {
        for (let start = o; start < o + m; start += 2 * h) {
          for (let k = 0; k < h; k++) {
            const a = start + k, b = a + h;
            const wr = twRe[h + k], wi = -twIm[h + k];
            const tr = re[b] * wr - im[b] * wi;
            const ti = re[b] * wi + im[b] * wr;
            re[b] = re[a] - tr; im[b] = im[a] - ti;
            re[a] += tr; im[a] += ti;
          }
        }
        h <<= 1;
      }
      if (firstHalf) {
        for (let k = 0; k < h; k++) {
          const a = o + k, b = a + h;
          const wr = twRe[h + k], wi = -twIm[h + k];
          re[a] += re[b] * wr - im[b] * wi;
          im[a] += re[b] * wi + im[b] * wr;
        }
      }
    }
  }

  /**
   * Forward transform of every column (bit-reversed output). Each butterfly combines whole
   * row segments with one twiddle, so the inner loop runs over contiguous memory; stages go
   * in fused pairs (radix 2²) to halve the passes over the matrix. `halfZero`: the second
   * half of rows is zero.
   */
  forwardColumns(re: Float64Array, im: Float64Array, halfZero: boolean): void {
    const m = this.size;
    let h = m >> 1;
    if (halfZero) {
      this.columnStage(re, im, h, false, true);
      h >>= 1;
    }
    for (; h >= 2; h >>= 2) this.forwardColumnPair(re, im, h);
    if (h === 1) this.columnStage(re, im, 1, false, false);
  }

  /** Inverse transform of every column (bit-reversed input); `firstHalf`: only the first half of rows is wanted. */
  inverseColumns(re: Float64Array, im: Float64Array, firstHalf: boolean): void {
    const m = this.size;
    const stop = firstHalf ? m >> 1 : m;
    let h = 1;
    for (; 2 * h < stop; h <<= 2) this.inverseColumnPair(re, im, h);
    if (h < stop) {
      this.columnStage(re, im, h, true, false);
      h <<= 1;
    }
    if (firstHalf) this.columnStage(re, im, h, true, true);
  }

  /** Forward stages of spans h and h/2 in one pass. */
  private forwardColumnPair(re: Float64Array, im: Float64Array, h: number): void {
    const m = this.size;
    const { twRe, twIm } = this;
    const q = h >> 1;
    for (let start = 0; start < m; start += 2 * h) {
      for (let k = 0; k < q; k++) {
        const ar = twRe[h + k], ai = twIm[h + k];
        const br = twRe[h + k + q], bi = twIm[h + k + q];
        const cr = twRe[q + k], ci = twIm[q + k];
        const o0 = (start + k) * m, o1 = o0 + q * m, o2 = o0 + h * m, o3 = o2 + q * m;
        for (let c = 0; c < m; c++) {
          const i0 = o0 + c, i1 = o1 + c, i2 = o2 + c, i3 = o3 + c;
          const r0 = re[i0], j0 = im[i0], r1 = re[i1], j1 = im[i1];
          const r2 = re[i2], j2 = im[i2], r3 = re[i3], j3 = im[i3];
          const x0r = r0 + r2, x0i = j0 + j2;
          const d2r = r0 - r2, d2i = j0 - j2;
          const x2r = d2r * ar - d2i * ai, x2i = d2r * ai + d2i * ar;
          const x1r = r1 + r3, x1i = j1 + j3;
          const d3r = r1 - r3, d3i = j1 - j3;
          const x3r = d3r * br - d3i * bi, x3i = d3r * bi + d3i * br;
          re[i0] = x0r + x1r; im[i0] = x0i + x1i;
          const e1r = x0r - x1r, e1i = x0i - x1i;
          re[i1] = e1r * cr - e1i * ci; im[i1] = e1r * ci + e1i * cr;
          re[i2] = x2r + x3r; im[i2] = x2i + x3i;
          const e3r = x2r - x3r, e3i = x2i - x3i;
          re[i3] = e3r * cr - e3i * ci; im[i3] = e3r * ci + e3i * cr;
        }
      }
    }
  }

  /** Inverse stages of spans h and 2h in one pass. */
  private inverseColumnPair(re: Float64Array, im: Float64Array, h: number): void {
    const m = this.size;
    const { twRe, twIm } = this;
    for (let start = 0; start < m; start += 4 * h) {
      for (let k = 0; k < h; k++) {
        const ar = twRe[h + k], ai = -twIm[h + k];
        const br = twRe[2 * h + k], bi = -twIm[2 * h + k];
        const cr = twRe[3 * h + k], ci = -twIm[3 * h + k];
        const o0 = (start + k) * m, o1 = o0 + h * m, o2 = o1 + h * m, o3 = o2 + h * m;
        for (let c = 0; c < m; c++) {
          const i0 = o0 + c, i1 = o1 + c, i2 = o2 + c, i3 = o3 + c;
          const r0 = re[i0], j0 = im[i0], r1 = re[i1], j1 = im[i1];
          const r2 = re[i2], j2 = im[i2], r3 = re[i3], j3 = im[i3];
          const t1r = r1 * ar - j1 * ai, t1i = r1 * ai + j1 * ar;
          const y0r = r0 + t1r, y0i = j0 + t1i, y1r = r0 - t1r, y1i = j0 - t1i;
          const t3r = r3 * ar - j3 * ai, t3i = r3 * ai + j3 * ar;
          const y2r = r2 + t3r, y2i = j2 + t3i, y3r = r2 - t3r, y3i = j2 - t3i;
          const u2r = y2r * br - y2i * bi, u2i = y2r * bi + y2i * br;
          re[i0] = y0r + u2r; im[i0] = y0i + u2i;
          re[i2] = y0r - u2r; im[i2] = y0i - u2i;
          const u3r = y3r * cr - y3i * ci, u3i = y3r * ci + y3i * cr;
          re[i1] = y1r + u3r; im[i1] = y1i + u3i;
          re[i3] = y1r - u3r; im[i3] = y1i - u3i;
        }
      }
    }
  }

  /**
   * One stage (butterfly span h rows) of every column. Forward
   * (decimation in frequency) with `special` = the second half is zero; inverse
   * (decimation in time) with `special` = only the first half is wanted.
   */
  private columnStage(re: Float64Array, im: Float64Array, h: number, inverse: boolean, special: boolean): void {
    const m = this.size;
    const { twRe, twIm } = this;
    const sign = inverse ? -1 : 1;
    for (let start = 0; start < m; start += 2 * h) {
      for (let k = 0; k < h; k++) {
        const wr = twRe[h + k], wi = sign * twIm[h + k];
        const a0 = (start + k) * m, b0 = a0 + h * m;
        if (special && !inverse) {
          for (let c = 0; c < m; c++) {
            const ar = re[a0 + c], ai = im[a0 + c];
            re[b0 + c] = ar * wr - ai * wi;
            im[b0 + c] = ar * wi + ai * wr;
          }
        } else if (special) {
          for (let c = 0; c < m; c++) {
            const a = a0 + c, b = b0 + c;
            re[a] += re[b] * wr - im[b] * wi;
            im[a] += re[b] * wi + im[b] * wr;
          }
        } else if (k === 0) {
          for (let c = 0; c < m; c++) {
            const a = a0 + c, b = b0 + c;
            const ar = re[a], ai = im[a], br = re[b], bi = im[b];
            re[a] = ar + br; im[a] = ai + bi;
            re[b] = ar - br; im[b] = ai - bi;
          }
        } else if (!inverse) {
          for (let c = 0; c < m; c++) {
            const a = a0 + c, b = b0 + c;
            const ar = re[a], ai = im[a], br = re[b], bi = im[b];
            re[a] = ar + br; im[a] = ai + bi;
            const dr = ar - br, di = ai - bi;
            re[b] = dr * wr - di * wi;
            im[b] = dr * wi + di * wr;
          }
        } else {
          for (let c = 0; c < m; c++) {
            const a = a0 + c, b = b0 + c;
            const tr = re[b] * wr - im[b] * wi;
            const ti = re[b] * wi + im[b] * wr;
            re[b] = re[a] - tr; im[b] = im[a] - ti;
            re[a] += tr; im[a] += ti;
          }
        }
      }
    }
  }

  /**
   * 2-D forward transform (bit-reversed order on both axes) of a matrix whose non-zero
   * entries lie in its top-left `used` × `used` corner. When `used` ≤ size/2, only rows
   * [0, size/2) need to be zero outside the corner, and of rows [0, used) only the first
   * halves: the rest is written before it is read.
   */
  forward2d(re: Float64Array, im: Float64Array, used = this.size): void {
    const halfZero = used <= this.size >> 1;
    this.forwardRows(re, im, used, halfZero);
    this.forwardColumns(re, im, halfZero);
  }

  /** 2-D inverse (unnormalised) of a forward2d result; only the top-left `used` × `used` corner is completed. */
  inverse2d(re: Float64Array, im: Float64Array, used = this.size): void {
    const firstHalf = used <= this.size >> 1;
    this.inverseColumns(re, im, firstHalf);
    this.inverseRows(re, im, used, firstHalf);
  }
}

/** The padded size for a linear convolution of an `nodes` × `nodes` grid: room for offsets −(nodes−1)…(nodes−1). */
export function convolutionSize(nodes: number): number {
  return nextPowerOfTwo(Math.max(2 * nodes - 1, 2));
}

/**
 * The m × m circulant embedding of an even kernel k(du, dv) (du along columns, dv along
 * rows, in node steps), times `scale`: entry (r, c) holds k at the offsets
 * (min(c, m−c), min(r, m−r)). Offsets beyond the grid's own are never read by a linear
 * convolution of a grid of at most m/2 nodes a side.
 */
export function circulantKernel(m: number, kernel: (du: number, dv: number) => number, scale: number, out = new Float64Array(m * m)): Float64Array {
  const half = m >> 1;
  for (let r = 0; r <= half; r++) {
    for (let c = 0; c <= half; c++) {
      const v = kernel(c, r) * scale;
      out[r * m + c] = v;
      if (c > 0 && c < half) out[r * m + m - c] = v;
      if (r > 0 && r < half) {
        out[(m - r) * m + c] = v;
        if (c > 0 && c < half) out[(m - r) * m + m - c] = v;
      }
    }
  }
  return out;
}

/**
 * out(u, v) = Σ signal(u', v') · k(u − u', v − v') over an n × n grid (row-major: u is the
 * column, v the row), for an even kernel, by FFT. Exact up to rounding; the building block of the
 * interpolated repulsion, exposed on its own so it can be checked against the direct sum.
 */
export function linearConvolution2d(signal: Float64Array, n: number, kernel: (du: number, dv: number) => number): Float64Array {
  const m = convolutionSize(n);
  const fft = new Fft(m);
  // An even real kernel has a real transform: transform it once with zero imaginary part.
  const kRe = circulantKernel(m, kernel, 1 / (m * m));
  const kIm = new Float64Array(m * m);
  fft.forward2d(kRe, kIm);
  const re = new Float64Array(m * m);
  const im = new Float64Array(m * m);
  for (let v = 0; v < n; v++) for (let u = 0; u < n; u++) re[v * m + u] = signal[v * n + u];
  fft.forward2d(re, im, n);
  for (let t = 0; t < m * m; t++) {
    re[t] *= kRe[t];
    im[t] *= kRe[t];
  }
  fft.inverse2d(re, im, n);
  const out = new Float64Array(n * n);
  for (let v = 0; v < n; v++) for (let u = 0; u < n; u++) out[v * n + u] = re[v * m + u];
  return out;
}
