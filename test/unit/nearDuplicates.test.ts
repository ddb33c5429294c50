import { countForFraction, findDuplicates, findUnique, graphFromMatrix } from "../../src/methods/nearDuplicates";
import { radiusGraph } from "../../src/methods/neighborGraph";
import { regroup } from "../../panels/duplicates/model";
import { E6_DISTANCES, E6_ROWS, names, NAMES, PAIRS } from "../support/e6";

const n = 6;
const matrix = E6_DISTANCES;
const graph = graphFromMatrix(matrix, n);
const map = (m: Map<number, { index: number; dist: number }[]>) =>
  Object.fromEntries([...m].map(([k, v]) => [NAMES[k], names(v.map((e) => e.index))]));

describe("near duplicates (spec P.6)", () => {
  it.each([
    [0.1, "acef", "bd", { a: "b", c: "d" }],
    [0.5, "ace", "bdf", { a: "b", c: "df" }],
    [0.8, "ac", "bdef", { a: "be", c: "df" }],
  ])("at threshold %p", (thresh, unique, duplicates, groups) => {
    const r = findDuplicates(graph, thresh);
    expect(names(r.unique)).toBe(unique);
    expect(names(r.duplicates)).toBe(duplicates);
    expect(map(r.neighborsMap)).toEqual(groups);
  });

  it("reports the metric (intended) distance to the nearest kept item", () => {
    const r = findDuplicates(graph, 0.5);
    expect(r.neighborsMap.get(0)).toEqual([{ index: 1, dist: PAIRS.ab }]);
    expect(r.neighborsMap.get(2)!.map((e) => e.dist)).toEqual([PAIRS.cd, PAIRS.cf]);
  });

  it("is greedy, not transitive: 0, 0.15, 0.30 at 0.2 keeps both ends", () => {
    const pts = [0, 0.15, 0.3];
    const m = pts.flatMap((a) => pts.map((b) => Math.abs(a - b)));
    expect(names(findDuplicates(graphFromMatrix(m, 3), 0.2).unique)).toBe("ac");
  });

  it.each([
    [1, "a", 2],
    [2, "ac", 1],
    [3, "ace", 0.5],
    [4, "acef", 0.25],
    [5, "acdef", 0.00048828125],
  ])("find_unique(%p) → %p at threshold %p", (count, unique, thresh) => {
    const r = findUnique(graph, count);
    expect(names(r.unique)).toBe(unique);
    expect(r.thresh).toBe(thresh);
  });

  it("handles the edge counts and fractions like the reference", () => {
    expect(findUnique(graph, 0)).toMatchObject({ thresh: null, unique: [] });
    expect(findUnique(graph, 6)).toMatchObject({ thresh: null, duplicates: [] });
    expect(countForFraction(6, 0.5)).toBe(3);
    expect(countForFraction(5, 0.5)).toBe(2); // round half to even
    expect(countForFraction(5, 1.5)).toBe(0);
  });

  it("rejects thresholds it cannot answer exactly", () => {
    expect(() => findDuplicates(graph, 0)).toThrow(/positive/);
    expect(() => findDuplicates(graphFromMatrix(matrix, n, 0.3), 0.5)).toThrow(/exceeds the radius 0.3/);
  });
});

describe("radiusGraph (spec P.1)", () => {
  const E6 = E6_ROWS;

  it("reproduces the reference's centered cosine distances", () => {
    const g = radiusGraph(E6, 6, 2, "cosine", 2);
    for (let i = 0; i < 6; i++) {
      for (let k = g.offsets[i]; k < g.offsets[i + 1]; k++) {
        const j = g.indices[k];
        const key = NAMES[Math.min(i, j)] + NAMES[Math.max(i, j)];
        expect(Math.abs(g.distances[k] - PAIRS[key])).toBeLessThan(1e-9);
      }
    }
    expect(names(findDuplicates(g, 0.5).unique)).toBe("ace");
  });

  it("keeps only neighbours within the radius, and counts zero rows as orthogonal", () => {
    expect(radiusGraph(E6, 6, 2, "cosine", 0.1).indices.length).toBe(4); // a–b and c–d, both ways
    // Centered by the mean [1, 1], the first row is zero: distance 1 to every other row.
    const zeros = radiusGraph([1, 1, 0, 0, 2, 2], 3, 2, "cosine", 2);
    [1, 1, 1, 2, 1, 2].forEach((d, k) => expect(zeros.distances[k]).toBeCloseTo(d, 12));
    expect(() => radiusGraph([1, 2, 3], 2, 2, "cosine", 1)).toThrow(/Expected 2×2/);
  });
});

describe("regrouping a stored graph (Duplicates panel)", () => {
  const g = graphFromMatrix(matrix, n, 0.8);
  const stored = {
    ids: [...NAMES],
    offsets: [...g.offsets],
    indices: [...g.indices],
    distances: [...g.distances],
    radius: g.radius,
  };
  const paths = Object.fromEntries([...NAMES].map((id) => [id, `/${id}.png`]));
  const shape = (t: number) => regroup(stored, paths, t).map((grp) => grp.representative.id + grp.duplicates.map((d) => d.id).join(""));

  it("gives the groups of findDuplicates at each threshold, largest first", () => {
    expect(shape(0.1)).toEqual(["ab", "cd"]);
    expect(shape(0.5)).toEqual(["cdf", "ab"]);
    expect(shape(0.8)).toEqual(["abe", "cdf"]);
  });
});
