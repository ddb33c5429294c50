import { computeSimilarityParams, offeredBackends, resultStages, similarityRuns, sortFormError, sortParams, uploadedBase64 } from "../../operators/similarityParams";
import { BACKENDS } from "../../src/index/backends";

describe("similarity forms", () => {
  it("offer exactly the backends the runtime registers, the configured default first", () => {
    expect(offeredBackends().map((b) => b.name).sort()).toEqual(Object.keys(BACKENDS).sort());
    expect(offeredBackends("sklearn")[0].name).toBe("exact");
    expect(offeredBackends("hnswlib")[0].name).toBe("hnswlib");
  });

  it("send only the chosen backend's parameters", () => {
    const form = { brain_key: "s", embeddings: "emb", backend: "hnswlib", hnswlib_metric: "euclidean", hnswlib_m: 32, hnswlib_ef: "", exact_metric: "dotproduct" };
    expect(computeSimilarityParams(form)).toEqual({ brain_key: "s", embeddings: "emb", backend: "hnswlib", metric: "euclidean", m: 32 });
    expect(computeSimilarityParams({ brain_key: "s", embeddings: "emb" })).toEqual({ brain_key: "s", embeddings: "emb", backend: "exact", metric: "cosine" });
  });

  it("build the job's query from each tab and check it first", () => {
    expect(sortFormError("SELECTED", {}, 0)).toMatch(/Select samples/);
    expect(sortFormError("TEXT", { query: "  " }, 0)).toMatch(/text query/);
    expect(sortFormError("IMAGE", {}, 0)).toMatch(/Upload an image/);
    expect(sortFormError("SELECTED", { k: 0 }, 2)).toMatch(/k must/);
    expect(sortFormError("SELECTED", { k: 5 }, 2)).toBeNull();
    expect(sortParams("SELECTED", { brain_key: "s", k: 5, reverse: true, dist_field: "d" }, ["a", "b"])).toEqual({ brain_key: "s", query_ids: ["a", "b"], k: 5, reverse: true, dist_field: "d" });
    expect(sortParams("IMAGE", { brain_key: "s", query_image: { file: { content: "QUJD" } } }, [])).toEqual({ brain_key: "s", image: { base64: "QUJD" } });
    expect(sortParams("IMAGE", { brain_key: "s", image_path: "/x.png" }, [])).toEqual({ brain_key: "s", image: { path: "/x.png" } });
    expect(sortParams("TEXT", { brain_key: "s", query: " a dog " }, [])).toEqual({ brain_key: "s", text: "a dog" });
    expect(uploadedBase64({ content: "" })).toBeNull();
  });

  it("list only similarity runs and show results as an ordered selection after the current view", () => {
    const runs = [
      { key: "a", cls: "x", type: "similarity", method: "sklearn" },
      { key: "b", cls: "x", type: "uniqueness", method: null },
      // what the App reports: no type for sklearn runs, "similarity" for other generic runs
      { key: "c", cls: "x", type: null, method: "sklearn" },
      { key: "d", cls: "x", type: "similarity", method: "hnswlib" },
      { key: "e", cls: "x", type: "similarity", method: "near_duplicates" },
    ];
    expect(similarityRuns(runs).map((r) => r.key)).toEqual(["a", "c", "d"]);
    const view = [{ _cls: "fiftyone.core.stages.MatchTags", kwargs: [] }];
    const stages = resultStages(view, { ids: ["l1", "l2", "l3"], sample_ids: ["s2", "s1", "s2"], distances: [0, 1, 2], patches_field: "gt" });
    expect(stages).toEqual([view[0], { _cls: "fiftyone.core.stages.Select", kwargs: [["sample_ids", ["s2", "s1"]], ["ordered", true]] }]);
  });
});
