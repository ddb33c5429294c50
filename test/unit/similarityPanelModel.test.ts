import {
  describeQuery,
  distFieldError,
  latestIndex,
  QueryInput,
  resultSamples,
  resultView,
  reverseUnavailable,
  SimilarityIndexInfo,
  sortParams,
  textUnavailable,
} from "../../panels/similarity/model";

const info = (over: Partial<SimilarityIndexInfo>): SimilarityIndexInfo => ({
  brain_key: "sim",
  backend: "exact",
  metric: "cosine",
  size: 10,
  dim: 16,
  embeddings_field: "emb",
  patches_field: null,
  model: null,
  supports_prompts: false,
  max_k: null,
  supports_least_similarity: true,
  timestamp: "2026-01-02T00:00:00.000Z",
  ...over,
});
const fieldIndex = info({});
const clipIndex = info({ brain_key: "clip", backend: "hnswlib", model: "clip-vit", supports_prompts: true, timestamp: "2026-01-01T00:00:00.000Z" });
const input = (over: Partial<QueryInput>): QueryInput => ({ mode: "selection", selectedIds: [], text: "", imageBase64: null, k: 25, reverse: false, ...over });

describe("Similarity panel model", () => {
  it("picks the newest index by timestamp, whatever the listing order", () => {
    expect(latestIndex([fieldIndex, clipIndex])?.brain_key).toBe("sim");
    expect(latestIndex([clipIndex, fieldIndex])?.brain_key).toBe("sim");
    expect(latestIndex([])).toBeNull();
  });

  it("builds a selection query from the selected ids, and refuses an empty selection", () => {
    expect(sortParams(fieldIndex, input({ selectedIds: ["a", "b"], k: 5, reverse: true }))).toEqual({ brain_key: "sim", query_ids: ["a", "b"], k: 5, reverse: true });
    expect(sortParams(fieldIndex, input({}))).toEqual({ error: expect.stringMatching(/Select one or more samples/) });
  });

  it("offers text only on indexes whose model supports prompts, and says why not", () => {
    expect(textUnavailable(fieldIndex)).toMatch(/embeddings field 'emb' \(no model\), which cannot embed text/);
    expect(sortParams(fieldIndex, input({ mode: "text", text: "a dog" }))).toEqual({ error: textUnavailable(fieldIndex) });
    expect(textUnavailable(clipIndex)).toBeNull();
    expect(sortParams(clipIndex, input({ mode: "text", text: "  a dog " }))).toEqual({ brain_key: "clip", text: "a dog", k: 25, reverse: false });
    expect(sortParams(clipIndex, input({ mode: "text", text: "  " }))).toEqual({ error: "Type what to search for." });
  });

  it("queries by an uploaded image as base64", () => {
    expect(sortParams(fieldIndex, input({ mode: "image" }))).toEqual({ error: "Choose an image file to search by." });
    expect(sortParams(fieldIndex, input({ mode: "image", imageBase64: "iVBOR" }))).toEqual({ brain_key: "sim", image: { base64: "iVBOR" }, k: 25, reverse: false });
  });

  it("refuses k that is not a whole number ≥ 1, or above the backend's limit, and reverse where the backend cannot", () => {
    for (const k of [0, -3, 2.5, NaN]) expect(sortParams(fieldIndex, input({ selectedIds: ["a"], k }))).toEqual({ error: "k must be a whole number ≥ 1" });
    expect(sortParams(info({ backend: "pgvector", max_k: 100 }), input({ selectedIds: ["a"], k: 101 }))).toEqual({ error: "The pgvector backend returns at most 100 results" });
    const hnsw = info({ backend: "hnswlib", supports_least_similarity: false });
    expect(reverseUnavailable(hnsw)).toMatch(/hnswlib backend cannot return the least similar/);
    expect(sortParams(hnsw, input({ selectedIds: ["a"], reverse: true }))).toEqual({ error: reverseUnavailable(hnsw) });
  });

  it("lists a patch index's results by sample, each at its nearest label", () => {
    expect(resultSamples({ ids: ["l1", "l2", "l3"], distances: [0.1, 0.2, 0.3], sample_ids: ["s1", "s2", "s1"], patches_field: "gt" })).toEqual({
      ids: ["s1", "s2"],
      distances: [0.1, 0.2],
    });
    expect(resultSamples({ ids: ["s2", "s1"], distances: [0, 0.5], patches_field: null })).toEqual({ ids: ["s2", "s1"], distances: [0, 0.5] });
  });

  it("sends results to the grid as an ordered select after the stages searched within", () => {
    const match = { _cls: "fiftyone.core.stages.Match", kwargs: [["filter", {}]] };
    const select = { _cls: "fiftyone.core.stages.Select", kwargs: [["sample_ids", ["b", "a"]], ["ordered", true]] };
    expect(resultView(["b", "a"], null)).toEqual([select]);
    expect(resultView(["b", "a"], [match])).toEqual([match, select]);
  });

  it("checks the distance field name and describes queries", () => {
    expect(distFieldError("similarity_distance")).toBeNull();
    expect(distFieldError("")).toBeNull();
    expect(distFieldError("a.b")).toMatch(/letters, digits and _/);
    expect(distFieldError("_private")).toMatch(/start with a letter/);
    expect(describeQuery(input({ selectedIds: ["a"] }), null)).toBe("1 selected sample");
    expect(describeQuery(input({ mode: "text", text: " cat " }), null)).toBe("“cat”");
    expect(describeQuery(input({ mode: "image" }), "q.png")).toBe("image q.png");
  });
});

describe("Similarity panel model, patch indexes", () => {
  it("does not query a patch index by selected samples (its items are labels)", () => {
    const patches = info({ brain_key: "gt_sim", patches_field: "ground_truth" });
    expect(sortParams(patches, input({ selectedIds: ["a"] }))).toEqual({
      error: "Index 'gt_sim' holds the labels of 'ground_truth', not samples: query it by image or text instead.",
    });
  });
});
