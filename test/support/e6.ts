/**
 * The spec's parity matrix E6 (rows a..f): its centered cosine distances (spec P.1),
 * shared by the near-duplicate and leaky-split tests.
 */
export const PAIRS: Record<string, number> = {
  ab: 7.976884773275295e-5, ac: 1.9843366432473037, ad: 1.9765607498474966, ae: 0.710822983412337,
  af: 1.7100347217942018, bc: 1.9820313654840336, bd: 1.97376422177537, be: 0.6987551124517253,
  bf: 1.7188721104564286, cd: 0.0007885054669238833, ce: 1.1158806995601784, cf: 0.42523075506790875,
  de: 1.0763530377630652, df: 0.458174173914105, ef: 1.8794073194028553,
};
export const NAMES = "abcdef";
export const E6_ROWS = [1, 0, 0.9, 0.1, 0, 1, 0.1, 0.9, 1, 1, -1, 0.5];

/** The 6×6 distance matrix, row-major. */
export const E6_DISTANCES = new Float64Array(36);
for (const [pair, d] of Object.entries(PAIRS)) {
  const [i, j] = [NAMES.indexOf(pair[0]), NAMES.indexOf(pair[1])];
  E6_DISTANCES[i * 6 + j] = E6_DISTANCES[j * 6 + i] = d;
}

/** Item indices as a string of row names. */
export const names = (indices: number[]) => indices.map((i) => NAMES[i]).join("");
