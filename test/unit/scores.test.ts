import { deflateSync } from "node:zlib";
import { decodeStoredNumpy } from "../../src/fiftyone/numpy";
import { entropy, hardness, softmax } from "../../src/methods/hardness";
import {
  classificationMistakenness,
  mistakennessFromConfidence,
  mistakennessFromLogits,
} from "../../src/methods/mistakenness";
import { computeUniqueness, nearestDistances } from "../../src/methods/uniqueness";

const close = (actual: ArrayLike<number>, expected: number[], tol = 1e-9) => {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => {
    if (Number.isNaN(e)) expect(actual[i]).toBeNaN();
    else expect(Math.abs(actual[i] - e)).toBeLessThanOrEqual(tol);
  });
};
const mat = (rows: number[][]) => Float64Array.from(rows.flat());
const E6 = [[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9], [1, 1], [-1, 0.5]];
const F = [[1, 2, 3], [2, 1, 0], [0, 0, 1], [5, 5, 5], [1, 2, 2.5], [-1, 0, 2], [3, -2, 1], [0, 1, 0]];

describe("uniqueness (spec P.2, default cosine sklearn index)", () => {
  const u = (rows: number[][], opts = {}) => computeUniqueness(mat(rows), rows.length, rows[0]?.length ?? 0, opts);

  it("matches the reference on E6, its first five rows and F", () => {
    close(u(E6), [1.0, 0.9957181420562915, 0.6930472442889335, 0.6992741926905595, 0.7571384485424693, 0.8440341678192317]);
    close(u(E6.slice(0, 5)), [0.9870036634194242, 1.0, 0.9870036634194242, 1.0, 0.8094649395113062]);
    close(u(F), [0.7825759929767167, 0.8483349115257984, 0.49793093308174335, 0.9271902621195796, 0.7957870250315136, 0.7996634823760679, 1.0, 0.6051267357154159]);
  });

  it("reproduces the reference's quirks: n ≤ 3 → 1, n = 4 → NaN, duplicates stay unique, identical rows → 1", () => {
    close(u(E6.slice(0, 3)), [1, 1, 1]);
    close(u([[1, 2]]), [1]);
    expect(u([]).length).toBe(0);
    close(u(E6.slice(0, 4)), [NaN, NaN, NaN, NaN]);
    close(u([[1, 0], [1, 0], [0, 1], [0, 1], [1, 1]]), [1.0, 1.0, 1.0, 1.0, 0.8044359223146706]);
    close(u(Array.from({ length: 5 }, () => [1, 2, 3])), [1, 1, 1, 1, 1]);
  });

  it("uses Euclidean distances between centered rows with metric euclidean", () => {
    close(u(F, { metric: "euclidean" }), [0.482147948525, 0.423523274665, 0.294638123946, 1.0, 0.439653054232, 0.418487753917, 0.624899277418, 0.353393208091], 1e-11);
  });

  it("with reference: false uses the three nearest others and scores n = 4", () => {
    const s = u(E6.slice(0, 4), { reference: false });
    s.forEach((v) => expect(Number.isFinite(v)).toBe(true));
    expect(Math.max(...s)).toBe(1);
    // a duplicate now lowers uniqueness
    const d = u([[1, 0], [1, 0], [0, 1], [0.5, 0.7], [1, 1]], { reference: false });
    expect(d[0]).toBeLessThan(1);
  });

  it("is invariant to translation and positive scaling, equivariant to permutation, max exactly 1", () => {
    const base = u(F);
    close(u(F.map((r) => r.map((v) => v * 3 + 7))), Array.from(base), 1e-9);
    const perm = [3, 1, 7, 0, 2, 6, 5, 4];
    close(u(perm.map((p) => F[p])), perm.map((p) => base[p]), 1e-12);
    expect(Math.max(...base)).toBe(1);
    expect(Float32Array.from(F.flat())).toBeInstanceOf(Float32Array);
    close(computeUniqueness(Float32Array.from(F.flat()), 8, 3), Array.from(base), 1e-6);
  });

  it("gives chord distances √(2·cosdist) in the large-index path", () => {
    const cos = nearestDistances(mat(E6), 6, 2, 5, "cosine");
    const chord = nearestDistances(mat(E6), 6, 2, 5, "chord");
    close(chord, Array.from(cos, (d) => Math.sqrt(2 * d)), 1e-7);
    // row a's other distances, ascending (spec P.1)
    close(cos.subarray(0, 5), [7.976884773275295e-5, 0.710822983412337, 1.7100347217942018, 1.9765607498474966, 1.9843366432473037]);
  });
});

describe("hardness (spec P.4)", () => {
  it("is the entropy of softmax(logits)", () => {
    expect(hardness([1, 2, 3])).toBeCloseTo(0.8323955818399389, 14);
    expect(hardness([0, 0])).toBeCloseTo(Math.LN2, 15);
    expect(hardness([0, 0, 0, 0])).toBeCloseTo(1.3862943611198906, 15);
    expect(hardness([10, 0, 0])).toBeCloseTo(0.0009987118940573882, 15);
    expect(hardness([5.0])).toBe(0);
    expect(hardness([1000, 0])).toBe(0);
    expect(Array.from(softmax([1, 1]))).toEqual([0.5, 0.5]);
    expect(entropy([1, 1, 0])).toBeCloseTo(Math.LN2, 15);
    expect(hardness([NaN, 1])).toBeNaN();
  });
});

describe("classification mistakenness (spec P.4)", () => {
  const label = (l: string, confidence?: number, logits?: number[]) => ({ labels: [l], confidence, logits });
  it("follows the reference's formulas and cases", () => {
    expect(mistakennessFromLogits([1, 2, 3], true)).toBeCloseTo(0.28249702761305034, 14);
    expect(mistakennessFromLogits([1, 2, 3], false)).toBeCloseTo(0.7175029723869497, 14);
    expect(mistakennessFromConfidence(0.9, true)).toBe(0.04999999999999999);
    expect(mistakennessFromConfidence(0.9, false)).toBe(0.95);
    expect(classificationMistakenness(null, label("a"), false)).toBe(1.0);
    expect(classificationMistakenness(label("a", 0.9), null, false)).toBe(0.04999999999999999); // GT missing = agreement
    expect(classificationMistakenness(null, null, true)).toBeNull();
    expect(classificationMistakenness(label("a", 0.9), label("b"), false)).toBe(0.95);
    expect(classificationMistakenness(label("a", 0.9, [1, 2, 3]), label("a"), true)).toBeCloseTo(0.28249702761305034, 14);
    expect(() => classificationMistakenness(label("a", 0.9), label("a"), true)).toThrow(/no logits/);
    expect(() => classificationMistakenness(label("a"), label("a"), false)).toThrow(/no confidence/);
  });
  it("compares multi-label predictions as sets", () => {
    const pred = { labels: ["x", "y"], logits: [0, 0] };
    expect(classificationMistakenness(pred, { labels: ["y", "x"] }, true)).toBeCloseTo(0.25, 15);
    expect(classificationMistakenness(pred, { labels: ["x"] }, true)).toBeCloseTo(0.75, 15);
  });
});

describe("decodeStoredNumpy", () => {
  const npy = (descr: string, shape: string, body: Buffer, fortran = "False") => {
    let header = `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;
    header += " ".repeat(63 - ((10 + header.length) % 64)) + "\n";
    const pre = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0, 0]);
    pre.writeUInt16LE(header.length, 8);
    return Buffer.concat([pre, Buffer.from(header, "latin1"), body]);
  };
  it("decodes zlib-compressed .npy of several dtypes, shapes and byte orders", () => {
    const f8 = Buffer.from(new Float64Array([1.5, -2, 3.25]).buffer);
    const a = decodeStoredNumpy(deflateSync(npy("<f8", "(3,)", f8)));
    expect(a).toMatchObject({ dtype: "<f8", shape: [3] });
    expect(Array.from(a.data)).toEqual([1.5, -2, 3.25]);
    const f4 = Buffer.from(new Float32Array([0.1, 2]).buffer);
    expect(Array.from(decodeStoredNumpy(deflateSync(npy("<f4", "(2,)", f4))).data)).toEqual([Math.fround(0.1), 2]);
    const be = Buffer.alloc(8);
    be.writeDoubleBE(7.5);
    expect(Array.from(decodeStoredNumpy(npy(">f8", "(1,)", be)).data)).toEqual([7.5]);
    const i8 = Buffer.from(new BigInt64Array([5n, -3n]).buffer);
    expect(Array.from(decodeStoredNumpy(deflateSync(npy("<i8", "(2,)", i8))).data)).toEqual([5, -3]);
    const fort = Buffer.from(new Float64Array([1, 3, 2, 4]).buffer); // [[1,2],[3,4]] in Fortran order
    const m = decodeStoredNumpy(deflateSync(npy("<f8", "(2, 2)", fort, "True")));
    expect(m.shape).toEqual([2, 2]);
    expect(Array.from(m.data)).toEqual([1, 2, 3, 4]);
  });
  it("rejects what is not a numpy array", () => {
    expect(() => decodeStoredNumpy(Buffer.from("hello"))).toThrow(/not a serialized numpy array/);
    expect(() => decodeStoredNumpy(deflateSync(npy("<c16", "(1,)", Buffer.alloc(16))))).toThrow(/unsupported dtype/);
  });
});
