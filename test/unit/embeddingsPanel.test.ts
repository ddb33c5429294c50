import { colorValues, MISSING_CODE, OTHER_CATEGORY } from "../../src/methods/colorValues";
import { decodeObjectIds, decodePlot, indicesOfGridSelection, selectionStage, visibleIndices } from "../../panels/embeddings/model";
import type { VisualizationPayload } from "../../src/runtime/jobs/visualizationQuery";

const b64 = (a: Float32Array | Uint16Array | Buffer) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");
const ID = (k: number) => k.toString(16).padStart(24, "0");

function payload(patches: boolean): VisualizationPayload {
  const ids = [ID(1), ID(2), ID(3)];
  const samples = [ID(10), ID(10), ID(11)];
  const bytes = (list: string[]) => b64(Buffer.concat(list.map((id) => Buffer.from(id, "hex"))));
  return {
    brainKey: "viz",
    method: "manual",
    patchesField: patches ? "gt" : null,
    numDims: 2,
    count: 3,
    totalCount: 4,
    missingCount: 0,
    points: b64(new Float32Array([0, 0, 10, 0, 0, 5])),
    ids: bytes(patches ? ids : samples.slice(0, 2).concat([ID(12)])),
    sampleIds: patches ? bytes(samples) : null,
    colorBy: "label",
    color: { kind: "categorical", categories: ["a", "b"], counts: [1, 1], missingCode: MISSING_CODE, codes: b64(new Uint16Array([0, 1, MISSING_CODE])) },
    colorChoices: ["label"],
  };
}

describe("colour values", () => {
  it("makes categories of strings and few integers, ranges of floats", () => {
    const c = colorValues(["b", "a", null, "b"]);
    expect(c.kind === "categorical" && [c.categories, [...c.codes], c.counts]).toEqual([["a", "b"], [1, 0, MISSING_CODE, 1], [1, 2]]);
    const ints = colorValues([3, 1, 2]);
    expect(ints.kind === "categorical" && ints.categories).toEqual(["1", "2", "3"]);
    const floats = colorValues([1, 2, null], { float: true });
    expect(floats.kind === "continuous" && [floats.min, floats.max, Number.isNaN(floats.values[2])]).toEqual([1, 2, true]);
    expect(colorValues([0.5, 1]).kind).toBe("continuous");
  });

  it("folds the rarest categories into one beyond the limit", () => {
    const c = colorValues(["a", "a", "b", "c", "d"], { maxCategories: 3 });
    expect(c.kind === "categorical" && c.categories).toEqual(["a", expect.any(String), OTHER_CATEGORY]);
    expect(c.kind === "categorical" && c.counts.reduce((x, y) => x + y)).toBe(5);
  });
});

describe("the panel's model", () => {
  it("decodes ids and scales points into [-1, 1] keeping their aspect", () => {
    expect(decodeObjectIds(b64(Buffer.from(ID(255) + ID(1), "hex")))).toEqual([ID(255), ID(1)]);
    const plot = decodePlot(payload(false));
    expect([...plot.x].map((v) => +v.toFixed(3))).toEqual([-0.95, 0.95, -0.95]);
    expect([...plot.y].map((v) => +v.toFixed(3))).toEqual([-0.475, -0.475, 0.475]);
  });

  it("builds the grid stage FiftyOne's own panel builds for each plot and view kind", () => {
    const samples = { patchesField: null };
    const patches = { patchesField: "gt" };
    expect(selectionStage(samples, false, ["x"])).toBeNull();
    expect(selectionStage(patches, true, ["x"])).toBeNull();
    expect(selectionStage(patches, false, ["x"])).toEqual({
      "fiftyone.core.stages.MatchLabels": { labels: null, ids: ["x"], instance_ids: null, tags: null, filter: null, fields: ["gt"], bool: true },
    });
    expect(selectionStage(samples, true, ["x"])).toEqual({ "fiftyone.core.stages.SelectBy": { field: "sample_id", values: ["x"], ordered: false } });
  });

  it("maps the grid's selection to points and hides classes", () => {
    const plot = decodePlot(payload(true));
    expect(indicesOfGridSelection(plot, new Set([ID(10)]), false)).toEqual([0, 1]); // a sample's patches
    expect(indicesOfGridSelection(plot, new Set([ID(2)]), true)).toEqual([1]); // a patch
    expect(visibleIndices(plot, new Set([0]))).toEqual([1, 2]);
    expect(visibleIndices(plot, new Set([2]))).toEqual([0, 1]); // the points without a value
    expect(visibleIndices(plot, new Set())).toBeNull();
  });
});
