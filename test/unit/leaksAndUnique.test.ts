import { assignSplits, findLeaks, leakGroups } from "../../src/methods/leakySplits";
import { findDuplicates, findUnique, graphFromMatrix } from "../../src/methods/nearDuplicates";
import { radiusGraph, vectorScan } from "../../src/methods/neighborGraph";
import { splitFieldTypeError } from "../../src/fiftyone/splitFieldTypes";
import { leakIds, leaksAt, noLeaksStages, sliderRange } from "../../panels/leaks/model";
import { sortGroups } from "../../panels/duplicates/model";
import type { LeakRunView } from "../../src/runtime/jobs/leakRuns";
import { splitFieldError, splitFields, splitNames, splitNamesError, thresholdWarning, uniqueTargetError } from "../../operators/validation";
import { E6_DISTANCES, E6_ROWS, names, NAMES } from "../support/e6";

const idx = (s: string) => [...s].map((c) => NAMES.indexOf(c));

describe("find_unique from the vectors (spec P.6)", () => {
  const scan = { n: 6, scan: vectorScan(E6_ROWS, 6, 2, "cosine") };
  it.each([
    [1, "a", 2],
    [2, "ac", 1],
    [3, "ace", 0.5],
    [4, "acef", 0.25],
    [5, "acdef", 0.00048828125],
  ])("keeps %p samples: %p at threshold %p", (count, kept, thresh) => {
    const r = findUnique(scan, count);
    expect(names(r.unique)).toBe(kept);
    expect(r.thresh).toBe(thresh);
  });

  it("scans exactly as the graph does at every threshold", () => {
    const graph = radiusGraph(E6_ROWS, 6, 2, "cosine", 2);
    for (const t of [0.0001, 0.001, 0.1, 0.43, 0.5, 0.8, 1.2, 2]) {
      const kept = findDuplicates(graph, t).unique;
      expect([...scan.scan(t)].flatMap((k, i) => (k ? [i] : []))).toEqual(kept);
    }
  });

  it("handles the Euclidean metric and the edge counts", () => {
    const eu = { n: 6, scan: vectorScan(E6_ROWS, 6, 2, "euclidean") };
    const graph = radiusGraph(E6_ROWS, 6, 2, "euclidean", 10);
    const r = findUnique(eu, 3);
    expect(r.unique).toEqual(findDuplicates(graph, r.thresh!).unique);
    expect(findUnique(eu, 0)).toMatchObject({ thresh: null, unique: [] });
    expect(findUnique(eu, 9)).toMatchObject({ thresh: null, duplicates: [] });
  });
});

describe("leak groups (spec P.8)", () => {
  const graph = graphFromMatrix(E6_DISTANCES, 6);
  const { splitOf } = assignSplits(6, [idx("acd"), idx("be"), idx("f")]);
  it("pair each kept sample with its duplicates from other splits, in findLeaks' order", () => {
    const dups = findDuplicates(graph, 0.5);
    const groups = leakGroups(dups, splitOf);
    expect(groups.map((g) => [NAMES[g.kept], names(g.leaks.map((l) => l.index))])).toEqual([["a", "b"], ["c", "f"]]);
    expect(groups.flatMap((g) => [g.kept, ...g.leaks.map((l) => l.index)])).toEqual(findLeaks(dups, splitOf));
  });
});

describe("the Leaks panel's model", () => {
  // E6 as a stored run: splits train (a, c, d), test (b, e), val (f); graph up to 1.0.
  const g = radiusGraph(E6_ROWS, 6, 2, "cosine", 1.0);
  const ids = [...NAMES];
  const run: LeakRunView = {
    brainKey: "leaks", metric: "cosine", thresh: 0.5, leak_ids: [], splits: ["train", "test", "val"],
    split_stages: [[{ _cls: "fiftyone.core.stages.MatchTags", kwargs: [["tags", ["train"]], ["bool", true], ["all", false]] }], [], []],
    graph: { ids, offsets: [...g.offsets], indices: [...g.indices], distances: [...g.distances], radius: g.radius },
    split_of: [0, 1, 0, 0, 1, 2],
    filepaths: Object.fromEntries(ids.map((i) => [i, `/img/${i}.png`])),
    missing: 0,
  };
  it("regroups at any threshold of the slider as the reference would (P.8)", () => {
    expect(leakIds(leaksAt(run, 0.1)).join("")).toBe("ab");
    expect(new Set(leakIds(leaksAt(run, 0.5)))).toEqual(new Set("abcf"));
    expect(new Set(leakIds(leaksAt(run, 0.8)))).toEqual(new Set("abecf"));
    const pairs = leaksAt(run, 0.5);
    expect(pairs[0]).toMatchObject({ kept: { id: "a", split: "train", filepath: "/img/a.png" }, leaks: [{ id: "b", split: "test" }] });
    expect(pairs[0].leaks[0].distance).toBeCloseTo(7.976884773275295e-5, 12);
  });
  it("leaves out deleted samples and clamps the slider to the stored radius", () => {
    const partial = { ...run, filepaths: { ...run.filepaths } };
    delete partial.filepaths.b;
    expect(leakIds(leaksAt(partial, 0.5)).join("")).toBe("cf");
    expect(sliderRange(run)).toMatchObject({ max: 1.0, initial: 0.5 });
    expect(leakIds(leaksAt(run, 5)).length).toBeGreaterThan(0);
  });
  it("builds a split's no-leaks view from its stages", () => {
    expect(noLeaksStages(run, 0, ["a", "c"])).toEqual([
      run.split_stages[0][0],
      { _cls: "fiftyone.core.stages.Exclude", kwargs: [["sample_ids", ["a", "c"]]] },
    ]);
    expect(noLeaksStages(run, 1, [])).toEqual([]);
  });
});

describe("the Duplicates panel's sort", () => {
  const e = (id: string, distance?: number) => ({ id, filepath: "", ...(distance === undefined ? {} : { distance }) });
  const groups = [
    { representative: e("a"), duplicates: [e("b", 0.3)] },
    { representative: e("c"), duplicates: [e("d", 0.2), e("f", 0.25)] },
    { representative: e("x"), duplicates: [e("y", 0.01)] },
  ];
  it("sorts by size or by the closest duplicate", () => {
    expect(sortGroups(groups, "size").map((g) => g.representative.id)).toEqual(["c", "a", "x"]);
    expect(sortGroups(groups, "distance").map((g) => g.representative.id)).toEqual(["x", "c", "a"]);
  });
});

describe("form checks for leaks and find_unique", () => {
  const F = "fiftyone.core.fields.";
  const fields = [
    { name: "split", ftype: `${F}StringField` },
    { name: "fold", ftype: `${F}IntField` },
    { name: "score", ftype: `${F}FloatField` },
    { name: "groups", ftype: `${F}ListField`, subfield: `${F}StringField` },
    { name: "boxes", ftype: `${F}ListField`, subfield: `${F}EmbeddedDocumentField` },
    { name: "gt", ftype: `${F}EmbeddedDocumentField`, embeddedDocType: "fiftyone.core.labels.Classification" },
    { name: "tags", ftype: `${F}ListField`, subfield: `${F}StringField` },
  ];
  it("offers only fields whose values can define splits", () => {
    expect(splitFields(fields)).toEqual(["fold", "groups", "split"]);
    expect(splitFieldError(fields, "split")).toBeNull();
    expect(splitFieldError(fields, "score")).toMatch(/'score' is a FloatField; splits need a string, integer or boolean/);
    expect(splitFieldError(fields, "gt")).toMatch(/is a EmbeddedDocumentField/);
    expect(splitFieldError(fields, "boxes")).toMatch(/a ListField of EmbeddedDocumentField/);
    expect(splitFieldError(fields, "nope")).toMatch(/no field 'nope'/);
    expect(splitFieldError(fields, undefined)).toMatch(/Choose the field/);
    expect(splitFieldTypeError("x", "StringField", null)).toBeNull();
  });
  it("needs at least two different, known split names", () => {
    expect(splitNames(" train, test ,,")).toEqual(["train", "test"]);
    expect(splitNamesError(["train"], "tags")).toMatch(/at least two different tags/);
    expect(splitNamesError(["train", "train"], "tags")).toMatch(/'train' is given more than once/);
    expect(splitNamesError(["train", "test"], "tags")).toBeNull();
    expect(splitNamesError(["train", "tst"], "tags", ["train", "test"])).toMatch(/No sample is tagged 'tst': that split would be empty/);
    expect(splitNamesError(["a", "b"], "saved views", ["a"])).toMatch(/no saved view 'b'/);
  });
  it("warns about thresholds that are valid but absurd", () => {
    expect(thresholdWarning(0.2, "cosine")).toBeNull();
    expect(thresholdWarning(1.5, "cosine")).toMatch(/most samples will be duplicates/);
    expect(thresholdWarning(3, "cosine")).toBeNull(); // an error, not a warning
    expect(thresholdWarning(5, "euclidean")).toBeNull();
  });
  it("checks the count or fraction of find_unique", () => {
    expect(uniqueTargetError("count", 10)).toBeNull();
    expect(uniqueTargetError("count", 0)).toMatch(/whole number ≥ 1/);
    expect(uniqueTargetError("count", 2.5)).toMatch(/whole number/);
    expect(uniqueTargetError("count", 50, 50)).toMatch(/keeps every sample/);
    expect(uniqueTargetError("fraction", 0.3)).toBeNull();
    expect(uniqueTargetError("fraction", 1)).toMatch(/\[0, 1\)/);
    expect(uniqueTargetError("fraction", -0.1)).toMatch(/\[0, 1\)/);
  });
});
