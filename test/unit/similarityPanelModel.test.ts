import { describeQuery, distFieldError, imageUnavailable, latestIndex, QueryInput, resultView, SimilarityIndexInfo, sortParams, textUnavailable } from "../../panels/similarity/model";

const fieldIndex: SimilarityIndexInfo = { key: "sim", backend: "exact", metric: "cosine", size: 10, supportsPrompts: false, embeddingsField: "emb", timestamp: "2026-01-02T00:00:00" };
const clipIndex: SimilarityIndexInfo = { key: "clip", backend: "hnswlib", metric: "cosine", supportsPrompts: true, model: "clip-vit", timestamp: "2026-01-01T00:00:00" };
const input = (over: Partial<QueryInput>): QueryInput => ({ mode: "selection", selectedIds: [], text: "", imageBase64: null, k: 25, reverse: false, ...over });

describe("Similarity panel model", () => {
  it("picks the newest index by timestamp, whatever the listing order", () => {
    expect(latestIndex([fieldIndex, clipIndex])?.key).toBe("sim");
    expect(latestIndex([clipIndex, fieldIndex])?.key).toBe("sim");
    expect(latestIndex([{ ...clipIndex, timestamp: null }, { ...fieldIndex, timestamp: null }])?.key).toBe("sim");
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

  it("queries by an uploaded image only when the index has a model to embed it", () => {
    expect(imageUnavailable(fieldIndex)).toMatch(/without a model/);
    expect(sortParams(clipIndex, input({ mode: "image" }))).toEqual({ error: "Choose an image file to search by." });
    expect(sortParams(clipIndex, input({ mode: "image", imageBase64: "iVBOR" }))).toEqual({ brain_key: "clip", image: { base64: "iVBOR" }, k: 25, reverse: false });
  });

  it("refuses k that is not a whole number ≥ 1", () => {
    for (const k of [0, -3, 2.5, NaN]) expect(sortParams(fieldIndex, input({ selectedIds: ["a"], k }))).toEqual({ error: "k must be a whole number ≥ 1" });
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
