import { addedMessage, addedView, addSearch, addSimilarFormError, addSimilarParams, usableIndexes } from "../../operators/addSimilarParams";
import { queryRecordFieldError, queryRecordFields } from "../../src/fiftyone/queryRecordFields";
import type { SimilaritySource } from "../../src/runtime/jobs/similarSamples";

const SOURCES: SimilaritySource[] = [
  {
    dataset: "src",
    media_type: "image",
    indexes: [
      { brain_key: "clip", model: "/m/clip.json", supports_prompts: true, patches_field: null },
      { brain_key: "plain", model: null, supports_prompts: false, patches_field: null },
      { brain_key: "boxes", model: "/m/clip.json", supports_prompts: true, patches_field: "detections" },
    ],
  },
  { dataset: "empty", media_type: "image", indexes: [] },
];
const DST = {
  name: "dst",
  fields: [
    { name: "filepath", ftype: "fiftyone.core.fields.StringField" },
    { name: "prompt", ftype: "fiftyone.core.fields.StringField" },
    { name: "count", ftype: "fiftyone.core.fields.IntField" },
    { name: "when", ftype: "fiftyone.core.fields.DateTimeField" },
    { name: "created_at", ftype: "fiftyone.core.fields.DateTimeField" },
  ],
};

describe("the add-similar-samples form", () => {
  it("searches by image with a selection, by text without; offers sample indexes (text: those with prompts)", () => {
    expect(addSearch(2)).toBe("image");
    expect(addSearch(0)).toBe("text");
    expect(usableIndexes(SOURCES[0], "image").map((i) => i.brain_key)).toEqual(["clip", "plain"]);
    expect(usableIndexes(SOURCES[0], "text").map((i) => i.brain_key)).toEqual(["clip"]);
    expect(usableIndexes(undefined, "text")).toEqual([]);
  });

  it("says what is wrong before Execute", () => {
    const err = (search: "image" | "text", form: Record<string, unknown>) => addSimilarFormError(search, form, SOURCES, DST);
    expect(err("text", {})).toBe("Choose a source dataset");
    expect(err("text", { src_dataset: "dst" })).toMatch(/another dataset/);
    expect(err("text", { src_dataset: "gone" })).toBe("Dataset 'gone' not found");
    expect(err("text", { src_dataset: "empty", query: "x" })).toMatch(/no similarity index that supports text prompts/);
    expect(err("image", { src_dataset: "src", brain_key: "plain" })).toMatch(/'plain' does not record the model/);
    expect(err("image", { src_dataset: "src", brain_key: "clip" })).toBeNull();
    expect(err("text", { src_dataset: "src", brain_key: "clip", query: "  " })).toBe("Type a text prompt");
    expect(err("text", { src_dataset: "src", query: "red", k: 0 })).toMatch(/k must/);
    expect(err("text", { src_dataset: "src", query: "red", query_field: "count" })).toMatch(/'count' of dataset 'dst' has type IntField; query_field needs a StringField/);
    expect(err("text", { src_dataset: "src", query: "red", query_time_field: "prompt" })).toMatch(/query_time_field needs a DateTimeField/);
    expect(err("text", { src_dataset: "src", query: "red", query_time_field: "created_at" })).toMatch(/FiftyOne manages/);
    expect(err("text", { src_dataset: "src", query: "red", query_field: "new_one", query_time_field: "when" })).toBeNull();
    // An image search records no prompt: its query_field is not looked at.
    expect(err("image", { src_dataset: "src", query_field: "count" })).toBeNull();
  });

  it("sends the job's parameters and shows the selection then the added samples", () => {
    expect(addSimilarParams("image", { src_dataset: "src", brain_key: "clip", k: 5, query_field: "q", query_time_field: "t" }, ["a"], "clip")).toEqual({
      src_dataset: "src",
      brain_key: "clip",
      k: 5,
      query_ids: ["a"],
      query_time_field: "t",
    });
    expect(addSimilarParams("text", { src_dataset: "src", query: " red ", query_field: "q" }, [], "clip")).toEqual({
      src_dataset: "src",
      brain_key: "clip",
      k: 25,
      query: "red",
      query_field: "q",
    });
    expect(addedView(["a"], ["b", "c"])).toEqual([{ _cls: "fiftyone.core.stages.Select", kwargs: [["sample_ids", ["a", "b", "c"]], ["ordered", true]] }]);
    expect(addedMessage({ num_added: 1, num_skipped: 0, src_dataset: "src" })).toBe("Added 1 sample from 'src'");
    expect(addedMessage({ num_added: 3, num_skipped: 2, src_dataset: "src" })).toMatch(/Added 3 samples .*; 2 skipped/);
  });

  it("offers existing fields of the right type, never FiftyOne's own", () => {
    expect(queryRecordFields(DST.fields, "StringField")).toEqual(["prompt"]);
    expect(queryRecordFields(DST.fields, "DateTimeField")).toEqual(["when"]);
    expect(queryRecordFieldError(DST.fields, "dst", "filepath", "StringField", "query_field")).toMatch(/FiftyOne manages/);
    expect(queryRecordFieldError(DST.fields, "dst", "1x", "StringField", "query_field")).toMatch(/Invalid query_field/);
  });
});
