import { embeddingsFields, labelFieldsOfType, labelTypeOf, newScoreFieldError } from "../../operators/validation";
import { sortByStage } from "../../operators/views";

const F = "fiftyone.core.fields.";
const fields = [
  { name: "filepath", ftype: `${F}StringField` },
  { name: "emb", ftype: `${F}VectorField` },
  { name: "emb_list", ftype: `${F}ListField` },
  { name: "gt", ftype: `${F}EmbeddedDocumentField`, embeddedDocType: "fiftyone.core.labels.Classification" },
  { name: "pred", ftype: `${F}EmbeddedDocumentField`, embeddedDocType: "fiftyone.core.labels.Classification" },
  { name: "multi", ftype: `${F}EmbeddedDocumentField`, embeddedDocType: "fiftyone.core.labels.Classifications" },
  { name: "dets", ftype: `${F}EmbeddedDocumentField`, embeddedDocType: "fiftyone.core.labels.Detections" },
  { name: "meta", ftype: `${F}EmbeddedDocumentField`, embeddedDocType: "fiftyone.core.metadata.ImageMetadata" },
];

describe("score operator forms", () => {
  it("offers only label fields of the compatible types, and vector fields for embeddings", () => {
    expect(labelFieldsOfType(fields, ["Classification", "Classifications"])).toEqual(["gt", "multi", "pred"]);
    expect(labelFieldsOfType(fields, ["Classifications"])).toEqual(["multi"]);
    expect(labelTypeOf(fields, "dets")).toBe("Detections");
    expect(labelTypeOf(fields, "meta")).toBeNull();
    expect(labelTypeOf(fields, "nope")).toBeNull();
    expect(embeddingsFields(fields)).toEqual(["emb"]); // lists are left out: the App schema does not say what they hold
  });

  it("asks for a new score field that is also a valid brain key", () => {
    expect(newScoreFieldError("uniqueness", ["gt"], ["dups"])).toBeNull();
    expect(newScoreFieldError("gt", ["gt"], [])).toBe("Field 'gt' already exists");
    expect(newScoreFieldError("dups", [], ["dups"])).toBe("A brain run with key 'dups' already exists");
    expect(newScoreFieldError("my-score", [], [])).toMatch(/Invalid field name 'my-score'/);
    expect(newScoreFieldError("class", [], [])).toMatch(/Invalid field name/);
    expect(newScoreFieldError("", [], [])).toBe("A field name is required");
  });

  it("sorts the grid by the new score, highest first", () => {
    expect(sortByStage("uniqueness", true)).toEqual({
      _cls: "fiftyone.core.stages.SortBy",
      kwargs: [["field_or_expr", "uniqueness"], ["reverse", true], ["create_index", false]],
    });
  });
});
