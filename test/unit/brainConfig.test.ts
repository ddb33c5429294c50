import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadBrainConfig, parseEnvValue } from "../../src/config/brainConfig";

describe("brain config env values (spec P.11)", () => {
  it.each([
    ["5", 5],
    ["5.5", 5.5],
    ["1e3", 1000],
    ["inf", Infinity],
    ["-Infinity", -Infinity],
    ["true", true],
    ["True", true],
    ["False", false],
    ["None", null],
    ["", null],
    ["a,b", ["a", "b"]],
    ["1,x", [1, "x"]],
    ["abc", "abc"],
    ["1_000", 1000],
  ])("parses %p", (raw, expected) => expect(parseEnvValue(raw)).toEqual(expected));

  it("parses nan", () => expect(parseEnvValue("nan")).toBeNaN());
});

describe("loadBrainConfig", () => {
  const dir = mkdtempSync(join(tmpdir(), "brain-ts-config-"));
  const path = join(dir, "brain_config.json");

  it("exposes every builtin with its config class by default", () => {
    const config = loadBrainConfig({ FIFTYONE_BRAIN_CONFIG_PATH: join(dir, "missing.json") });
    expect(config.default_similarity_backend).toBe("sklearn");
    expect(Object.keys(config.similarity_backends)).toHaveLength(10);
    expect(config.similarity_backends.sklearn.config_cls).toBe("fiftyone.brain.internal.core.sklearn.SklearnSimilarityConfig");
    expect(config.default_visualization_method).toBe("umap");
  });

  it("lets env vars beat the JSON file, and falls back to an available default", () => {
    writeFileSync(path, JSON.stringify({ default_similarity_backend: "qdrant", similarity_backends: { sklearn: { metric: "dotproduct" } } }));
    const config = loadBrainConfig({
      FIFTYONE_BRAIN_CONFIG_PATH: path,
      FIFTYONE_BRAIN_SIMILARITY_BACKENDS: "sklearn,custom",
      FIFTYONE_BRAIN_SIMILARITY_SKLEARN_METRIC: "euclidean",
    });
    expect(Object.keys(config.similarity_backends)).toEqual(["sklearn", "custom"]);
    expect(config.similarity_backends.sklearn.metric).toBe("euclidean");
    expect(config.similarity_backends.custom).toEqual({});
    expect(config.default_similarity_backend).toBe("custom"); // qdrant is not exposed: first in sorted order
  });
});
