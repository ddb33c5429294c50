import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadBrainConfig } from "../../src/config/brainConfig";
import { runPython } from "../support/fiftyone";

jest.setTimeout(60_000);

const dir = mkdtempSync(join(tmpdir(), "brain-ts-config-parity-"));
const json = join(dir, "brain_config.json");
writeFileSync(
  json,
  JSON.stringify({
    default_similarity_backend: "lancedb",
    similarity_backends: { lancedb: { uri: "/tmp/lance", metric: "euclidean" }, qdrant: { url: "http://127.0.0.1:6333" } },
    visualization_methods: { umap: { min_dist: 0.2 } },
  }),
);

/** Scenarios from the spec's configuration section, each run through both readers. */
const SCENARIOS: Record<string, NodeJS.ProcessEnv> = {
  defaults: { FIFTYONE_BRAIN_CONFIG_PATH: join(dir, "none.json") },
  "json file": { FIFTYONE_BRAIN_CONFIG_PATH: json },
  "env beats json": {
    FIFTYONE_BRAIN_CONFIG_PATH: json,
    FIFTYONE_BRAIN_DEFAULT_SIMILARITY_BACKEND: "pgvector",
    FIFTYONE_BRAIN_SIMILARITY_LANCEDB_METRIC: "cosine",
    FIFTYONE_BRAIN_SIMILARITY_PGVECTOR_WORK_MEM: "64",
    FIFTYONE_BRAIN_VISUALIZATION_UMAP_N_NEIGHBORS: "30",
  },
  "only qdrant": { FIFTYONE_BRAIN_CONFIG_PATH: json, FIFTYONE_BRAIN_SIMILARITY_BACKENDS: "qdrant" },
  "builtins plus custom": {
    FIFTYONE_BRAIN_CONFIG_PATH: json,
    FIFTYONE_BRAIN_SIMILARITY_BACKENDS: "*,custom",
    FIFTYONE_BRAIN_SIMILARITY_CUSTOM_CONFIG_CLS: "my.pkg.CustomConfig",
    FIFTYONE_BRAIN_SIMILARITY_CUSTOM_HOSTS: "a,b,3",
    FIFTYONE_BRAIN_VISUALIZATION_METHODS: "pca",
  },
};

const clean = (env: NodeJS.ProcessEnv) =>
  Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("FIFTYONE_BRAIN_")).concat(Object.entries(env)));

describe("brain config parity with fiftyone-brain", () => {
  it.each(Object.keys(SCENARIOS))("reads '%s' as the reference does", async (name) => {
    const env = clean(SCENARIOS[name]);
    const reference = await runPython(
      `
import json
import fiftyone.brain.config as fbc
c = fbc.load_brain_config()
print(json.dumps({k: getattr(c, k) for k in ["default_similarity_backend", "similarity_backends", "default_visualization_method", "visualization_methods"]}))
`,
      env,
    );
    expect(loadBrainConfig(env)).toEqual(reference);
  });
});
