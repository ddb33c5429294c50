import { findDuplicates, graphFromMatrix } from "../../src/methods/nearDuplicates";
import { assignSplits, findLeaks, leaksForItem } from "../../src/methods/leakySplits";

// Spec P.1/P.8: E6's centered cosine distances; splits a train, b test, c train, d train, e test, f val.
const D: Record<string, number> = {
  ab: 7.976884773275295e-5, ac: 1.9843366432473037, ad: 1.9765607498474966, ae: 0.710822983412337,
  af: 1.7100347217942018, bc: 1.9820313654840336, bd: 1.97376422177537, be: 0.6987551124517253,
  bf: 1.7188721104564286, cd: 0.0007885054669238833, ce: 1.1158806995601784, cf: 0.42523075506790875,
  de: 1.0763530377630652, df: 0.458174173914105, ef: 1.8794073194028553,
};
const NAMES = "abcdef";
const matrix = new Float64Array(36);
for (const [p, d] of Object.entries(D)) {
  const [i, j] = [NAMES.indexOf(p[0]), NAMES.indexOf(p[1])];
  matrix[i * 6 + j] = matrix[j * 6 + i] = d;
}
const graph = graphFromMatrix(matrix, 6);
const idx = (s: string) => [...s].map((c) => NAMES.indexOf(c));
const names = (l: number[]) => l.map((i) => NAMES[i]).join("");
const { splitOf } = assignSplits(6, [idx("acd"), idx("be"), idx("f")]); // train, test, val

describe("leaky splits (spec P.8)", () => {
  it.each([
    [0.1, "ab"],
    [0.5, "abcf"],
    [0.8, "abecf"],
  ])("at threshold %p leaks %p", (thresh, leaks) => {
    expect(names(findLeaks(findDuplicates(graph, thresh), splitOf))).toBe(leaks);
  });

  it("lists the leaks of one sample as the reference does", () => {
    const dups = findDuplicates(graph, 0.5);
    const expected: Record<string, string> = { a: "ab", b: "ba", c: "cf", d: "dfc", e: "e", f: "fdc" };
    for (const [item, leaks] of Object.entries(expected)) {
      expect(names(leaksForItem(dups, splitOf, NAMES.indexOf(item)))).toBe(leaks);
    }
  });

  it("lets later splits win and reports overlaps", () => {
    const { splitOf: s, overlaps } = assignSplits(3, [[0, 1], [1, 2]]);
    expect([...s]).toEqual([0, 1, 1]);
    expect(overlaps).toEqual([{ a: 0, b: 1, count: 1 }]);
  });
});
