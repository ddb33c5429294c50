import { findDuplicates, graphFromMatrix } from "../../src/methods/nearDuplicates";
import { assignSplits, findLeaks, leaksForItem } from "../../src/methods/leakySplits";
import { E6_DISTANCES, names, NAMES } from "../support/e6";

// Spec P.8: splits a train, b test, c train, d train, e test, f val.
const graph = graphFromMatrix(E6_DISTANCES, 6);
const idx = (s: string) => [...s].map((c) => NAMES.indexOf(c));
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
