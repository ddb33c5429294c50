import { duplicateFieldsError, duplicateIndexes } from "../../operators/validation";

describe("near-duplicate form: similarity indexes and the duplicates view's fields", () => {
  it("offers similarity indexes of whole samples with a backend shipped here", () => {
    const run = (key: string, method: string | null, extra: Record<string, unknown> = {}) => ({ key, cls: "", type: "similarity", method, ...extra });
    const runs = [
      run("sk", "sklearn", { type: null }),
      run("hn", "hnswlib"),
      run("patches", "sklearn", { patchesField: "gt" }),
      // The App reports sklearn runs with no type and every generic run as a similarity run: the method tells them apart.
      run("dups", "near_duplicates"),
      run("qd", "qdrant"),
      { key: "viz", cls: "", type: "visualization", method: "umap" },
    ];
    expect(duplicateIndexes(runs).map((r) => r.key)).toEqual(["sk", "hn"]);
  });

  it("checks the optional field names: valid, new, each its own", () => {
    const fields = ["filepath", "emb"];
    expect(duplicateFieldsError({}, fields)).toBeNull();
    expect(duplicateFieldsError({ type_field: "dup_type", id_field: "dup_id", dist_field: "dup_dist" }, fields)).toBeNull();
    expect(duplicateFieldsError({ id_field: "emb" }, fields)).toEqual({ param: "id_field", error: "Field 'emb' already exists" });
    expect(duplicateFieldsError({ dist_field: "bad name" }, fields)).toEqual({ param: "dist_field", error: expect.stringMatching(/Invalid field name/) });
    expect(duplicateFieldsError({ type_field: "x", dist_field: "x" }, fields)).toEqual({ param: "dist_field", error: "'x' is already the type field" });
  });
});
