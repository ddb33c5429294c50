import { kmeansKernels, paddedColumns } from "../../src/methods/kmeansKernels";

/** Deterministic pseudo-random values in [-0.5, 0.5) + offset. */
function values(length: number, seed: number, offset = 0): number[] {
  let s = seed >>> 0;
  return Array.from({ length }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5 + offset;
  });
}

/** The plain float64 products the kernels must reproduce (up to the order of additions). */
function dotsReference(x: ArrayLike<number>, n: number, dim: number, ct: Float64Array, kp: number): Float64Array {
  const out = new Float64Array(n * kp);
  for (let i = 0; i < n; i++) for (let q = 0; q < kp; q++) for (let t = 0; t < dim; t++) out[i * kp + q] += x[i * dim + t] * ct[t * kp + q];
  return out;
}

function expectClose(actual: Float64Array, expected: Float64Array, relative: number): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  expect(worst).toBeLessThanOrEqual(relative * scale);
}

describe("k-means kernels (native addon)", () => {
  const k = kmeansKernels();
  // 8 000 rows run on several threads; 37 rows leave a tail that no 8-row block covers; 12
  // clusters take one 8-wide and one 4-wide block of products, 20 two and one.
  const cases: Array<[number, number, number]> = [
    [37, 19, 12],
    [8000, 64, 4],
    [5003, 33, 20],
  ];

  test.each(cases.flatMap(([n, dim, k]) => [[n, dim, k, "float32"], [n, dim, k, "float64"]] as const))("lloyd assigns each row its first nearest center and sums every cluster (n %i, dim %i, k %i, %s rows)", (n, dim, clusters, precision) => {
    const kp = paddedColumns(clusters);
    const x = precision === "float32" ? Float32Array.from(values(n * dim, 5)) : Float64Array.from(values(n * dim, 5));
    const centers = Float64Array.from(values(clusters * dim, 9));
    // two equal centers: ties must go to the first
    centers.copyWithin(dim, 0, dim);
    const ct = new Float64Array(dim * kp);
    const csq = new Float64Array(clusters);
    for (let q = 0; q < clusters; q++)
      for (let t = 0; t < dim; t++) {
        ct[t * kp + q] = centers[q * dim + t];
        csq[q] += centers[q * dim + t] ** 2;
      }
    const labels = new Int32Array(n);
    const sums = new Float64Array(clusters * dim).fill(7); // overwritten, not added to
    const counts = new Float64Array(clusters).fill(7);
    k.lloyd(x, n, dim, ct, kp, clusters, csq, labels, sums, counts);

    const dots = dotsReference(x, n, dim, ct, kp);
    const expectedSums = new Float64Array(clusters * dim);
    const expectedCounts = new Float64Array(clusters);
    let margins = 0;
    for (let i = 0; i < n; i++) {
      const d = Array.from({ length: clusters }, (_, q) => csq[q] - 2 * dots[i * kp + q]);
      const best = d.indexOf(Math.min(...d));
      const sorted = [...new Set(d)].sort((a, b) => a - b);
      // rows whose two nearest distinct centers are within rounding may go either way
      if (sorted.length > 1 && sorted[1] - sorted[0] < 1e-9) margins++;
      else expect(labels[i]).toBe(best);
      expectedCounts[labels[i]]++;
      for (let t = 0; t < dim; t++) expectedSums[labels[i] * dim + t] += x[i * dim + t];
    }
    expect(margins).toBe(0);
    expect(labels).not.toContain(1); // center 1 repeats center 0
    expect(Array.from(counts)).toEqual(Array.from(expectedCounts));
    expectClose(sums, expectedSums, 1e-12);
  });

  test("center reproduces float32 arithmetic exactly: float32 column sums in row order, rounded differences", () => {
    const n = 3001;
    const dim = 24;
    const v = Float32Array.from(values(n * dim, 11, 100)); // an offset makes float32 rounding visible
    const sums = new Float32Array(dim);
    for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) sums[j] += v[i * dim + j];
    const mean = Array.from(sums, (s) => Math.fround(s / n));
    const x = new Float32Array(n * dim);
    const sq = new Float64Array(n);
    const got = new Float64Array(dim);
    const meanVariance = k.center(v, n, dim, x, sq, got);
    expect(Array.from(got)).toEqual(mean);
    let sqSum = 0;
    let differing = 0;
    const colSum = new Float64Array(dim);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < dim; j++) {
        const c = Math.fround(v[i * dim + j] - mean[j]);
        if (x[i * dim + j] !== c) differing++;
        s += c * c;
        colSum[j] += c;
      }
      if (sq[i] !== s) differing++;
      sqSum += s;
    }
    expect(differing).toBe(0);
    let variance = sqSum / n;
    for (let j = 0; j < dim; j++) variance -= (colSum[j] / n) ** 2;
    expect(meanVariance).toBe(variance / dim);
    // numpy's float64 mean of float32 data would differ: the float32 path is the one taken
    const sums64 = new Float64Array(dim);
    for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) sums64[j] += v[i * dim + j];
    const mean64 = Array.from(sums64, (s) => Math.fround(s / n));
    expect(mean64).not.toEqual(mean);
  });

  test("float64 rows are centered in float64", () => {
    const n = 101;
    const dim = 5;
    const v = Float64Array.from(values(n * dim, 13, 3));
    const x = new Float64Array(n * dim);
    const mean = new Float64Array(dim);
    k.center(v, n, dim, x, new Float64Array(n), mean);
    for (let j = 0; j < dim; j++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += v[i * dim + j];
      expect(mean[j]).toBe(s / n);
      expect(x[dim + j]).toBe(v[dim + j] - s / n);
    }
  });

  test.each([true, false])("seedStep is one k-means++ step: distances, minimum, potentials and running sum (float32 %s)", (float32) => {
    const n = 2003;
    const dim = 17;
    const round = float32 ? Math.fround : (v: number) => v;
    const x = float32 ? Float32Array.from(values(n * dim, 21)) : Float64Array.from(values(n * dim, 21));
    const sq = new Float64Array(n);
    for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) sq[i] += x[i * dim + j] ** 2;
    const distances = (r: number) =>
      Float64Array.from({ length: n }, (_, i) => {
        let dot = 0;
        for (let j = 0; j < dim; j++) dot += x[r * dim + j] * x[i * dim + j];
        const d = round(-2 * dot + sq[r] + sq[i]);
        return d > 0 ? d : 0;
      });
    const closest = new Float64Array(n).fill(Infinity);
    const cum = new Float64Array(n);
    const result = new Float64Array(2);
    k.seedStep(x, n, dim, sq, float32, Int32Array.of(5), closest, cum, result);
    let expected = distances(5);
    const total = (d: Float64Array) => round(d.reduce((a, b) => a + b, 0));
    expect(result[0]).toBe(0);
    expect(Math.abs(result[1] - total(expected))).toBeLessThan(1e-4);

    const ids = Int32Array.of(100, 7, 1500, 7);
    expect(new Set(Array.from(ids, (r) => r)).size).toBe(3);
    k.seedStep(x, n, dim, sq, float32, ids, closest, cum, result);
    const pots = Array.from(ids, (r) => {
      const d = distances(r).map((v, i) => Math.min(v, expected[i]));
      return { d, pot: total(d) };
    });
    const best = pots.findIndex((p) => p.pot === Math.min(...pots.map((q) => q.pot)));
    expect(result[0]).toBe(best); // the repeated candidate (index 3) never wins over index 1
    expect(Math.abs(result[1] - pots[best].pot)).toBeLessThan(1e-4);
    expected = pots[best].d;
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(closest[i] - expected[i]));
    expect(worst).toBeLessThan(1e-6);
    let acc = 0;
    let differing = 0;
    for (let i = 0; i < n; i++) if (cum[i] !== (acc = round(acc + closest[i]))) differing++;
    expect(differing).toBe(0);
  });

  test("centerDistances is each row's float64 distance to its center", () => {
    const n = 301;
    const dim = 9;
    const v = Float32Array.from(values(n * dim, 31));
    const centers = Float64Array.from(values(3 * dim, 37));
    const labels = Int32Array.from({ length: n }, (_, i) => (i * 7) % 3);
    const out = new Float64Array(n);
    k.centerDistances(v, n, dim, centers, labels, out);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += (v[i * dim + j] - centers[labels[i] * dim + j]) ** 2;
      expect(out[i]).toBe(Math.sqrt(s));
    }
    labels[4] = 3;
    expect(() => k.centerDistances(v, n, dim, centers, labels, out)).toThrow("labels must index the centers");
  });

  test("shapes and types that do not fit are refused with a message", () => {
    const x = new Float32Array(40);
    const lloyd = (rows: Float32Array, n: number, ct: Float64Array, kp: number, labels = new Int32Array(n)) =>
      k.lloyd(rows, n, 4, ct, kp, 2, new Float64Array(2), labels, new Float64Array(8), new Float64Array(2));
    expect(() => lloyd(x, 10, new Float64Array(16), 4, new Int32Array(9))).toThrow("labels must be an Int32Array of n");
    expect(() => lloyd(x, 11, new Float64Array(16), 4)).toThrow("x or ct is shorter than its shape");
    expect(() => lloyd(x, 10, new Float64Array(24), 6)).toThrow("kp must be a positive multiple of 4");
    expect(() => lloyd(Array.from(x) as unknown as Float32Array, 10, new Float64Array(16), 4)).toThrow("x must be a Float32Array or Float64Array");
    expect(() => k.center(x, 10, 4, new Float64Array(40) as unknown as Float32Array, new Float64Array(10), new Float64Array(4))).toThrow("both Float32Array or both Float64Array");
  });
});
