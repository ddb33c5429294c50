import {
  chosenBrainKey,
  chosenTarget,
  defaultTarget,
  freeKey,
  hasSelection,
  newBrainKeyError,
  newFieldError,
  thresholdError,
} from "../../operators/validation";

describe("operator form validation", () => {
  it("rejects brain keys that exist or are not identifiers, before Execute", () => {
    expect(newBrainKeyError("dups", ["other"])).toBeNull();
    expect(newBrainKeyError("dups", ["dups"])).toBe("A brain run with key 'dups' already exists");
    expect(newBrainKeyError("my-key", [])).toMatch(/valid Python identifiers/);
    expect(newBrainKeyError("", [])).toMatch(/required/);
  });

  it("treats the output field as optional but checks a given name", () => {
    expect(newFieldError(undefined, ["a"])).toBeNull();
    expect(newFieldError("", ["a"])).toBeNull();
    expect(newFieldError("group", ["a"])).toBeNull();
    expect(newFieldError("a", ["a"])).toBe("Field 'a' already exists");
    expect(newFieldError("has space", [])).toMatch(/Invalid field name/);
  });

  it("offers a free default key", () => {
    expect(freeKey("exact_duplicates", [])).toBe("exact_duplicates");
    expect(freeKey("exact_duplicates", ["exact_duplicates", "exact_duplicates_2"])).toBe("exact_duplicates_3");
  });

  it("defaults the target to the selection, then the view, then the dataset", () => {
    expect(defaultTarget(true, true)).toBe("SELECTED_SAMPLES");
    expect(defaultTarget(false, true)).toBe("CURRENT_VIEW");
    expect(defaultTarget(false, false)).toBe("DATASET");
    expect(chosenTarget({ target: "DATASET" }, true, true)).toBe("DATASET");
    expect(chosenTarget({ target: "bogus" }, false, true)).toBe("CURRENT_VIEW");
    expect(hasSelection({ selectedSamples: new Map([["id", "default"]]) })).toBe(true);
    expect(hasSelection({ selectedSamples: new Set() })).toBe(false);
  });

  it("picks the chosen run, or the form's default one", () => {
    const runs = [{ key: "a", cls: "", type: null, method: null }, { key: "b", cls: "", type: null, method: null }];
    expect(chosenBrainKey({ brain_key: "b" }, "brain_key", runs)).toBe("b");
    expect(chosenBrainKey({}, "brain_key", runs)).toBe("a");
    expect(() => chosenBrainKey({}, "brain_key", [])).toThrow(/no brain runs/);
  });

  it("accepts only thresholds that are distances of the metric", () => {
    expect(thresholdError(0.2, "cosine")).toBeNull();
    expect(thresholdError(0, "cosine")).toMatch(/positive/);
    expect(thresholdError("abc", "cosine")).toMatch(/positive/);
    expect(thresholdError(2.5, "cosine")).toMatch(/at most 2/);
    expect(thresholdError(2.5, "euclidean")).toBeNull();
  });
});
