import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { BrainError } from "../errors";

/**
 * The Brain's configuration, read exactly as fiftyone-brain reads it, so one config
 * (env vars, ~/.fiftyone/brain_config.json or FIFTYONE_BRAIN_CONFIG_PATH) drives both:
 * scalars come from a non-empty env var, else the JSON key, else the default;
 * backend/method dictionaries merge JSON, FIFTYONE_BRAIN_<KIND>_<NAME>_<PARAM> env vars
 * and the builtins' config classes.
 */
export type ConfigValue = string | number | boolean | null | ConfigValue[];
export type Params = Record<string, unknown>;

export interface BrainConfig {
  default_similarity_backend: string | null;
  similarity_backends: Record<string, Params>;
  default_visualization_method: string | null;
  visualization_methods: Record<string, Params>;
}

const SIMILARITY_BACKENDS: Record<string, string> = {
  sklearn: "fiftyone.brain.internal.core.sklearn.SklearnSimilarityConfig",
  pinecone: "fiftyone.brain.internal.core.pinecone.PineconeSimilarityConfig",
  qdrant: "fiftyone.brain.internal.core.qdrant.QdrantSimilarityConfig",
  milvus: "fiftyone.brain.internal.core.milvus.MilvusSimilarityConfig",
  lancedb: "fiftyone.brain.internal.core.lancedb.LanceDBSimilarityConfig",
  redis: "fiftyone.brain.internal.core.redis.RedisSimilarityConfig",
  mongodb: "fiftyone.brain.internal.core.mongodb.MongoDBSimilarityConfig",
  elasticsearch: "fiftyone.brain.internal.core.elasticsearch.ElasticsearchSimilarityConfig",
  pgvector: "fiftyone.brain.internal.core.pgvector.PgVectorSimilarityConfig",
  mosaic: "fiftyone.brain.internal.core.mosaic.MosaicSimilarityConfig",
};

const VISUALIZATION_METHODS: Record<string, string> = {
  umap: "fiftyone.brain.visualization.UMAPVisualizationConfig",
  tsne: "fiftyone.brain.visualization.TSNEVisualizationConfig",
  pca: "fiftyone.brain.visualization.PCAVisualizationConfig",
  manual: "fiftyone.brain.visualization.ManualVisualizationConfig",
};

const INT = /^\s*[+-]?\d+(_\d+)*\s*$/;
const FLOAT = /^\s*[+-]?((\d+(_\d+)*)?\.?\d+(_\d+)*([eE][+-]?\d+(_\d+)*)?|\d+(_\d+)*\.|inf|infinity|nan)\s*$/i;

/** Python's int() then float() then the reference's keywords, lists on commas, else the string. */
export function parseEnvValue(value: string): ConfigValue {
  if (INT.test(value)) return Number(value.replace(/_/g, ""));
  if (FLOAT.test(value)) {
    const v = value.trim().toLowerCase().replace(/_/g, "");
    if (v.endsWith("inf") || v.endsWith("infinity")) return v.startsWith("-") ? -Infinity : Infinity;
    if (v.endsWith("nan")) return NaN;
    return Number(v);
  }
  if (value === "True" || value === "true") return true;
  if (value === "False" || value === "false") return false;
  if (value === "None" || value === "") return null;
  if (value.includes(",")) return value.split(",").map(parseEnvValue);
  return value;
}

export function brainConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.FIFTYONE_BRAIN_CONFIG_PATH ?? join(homedir(), ".fiftyone", "brain_config.json");
}

function readJson(path: string): Params {
  if (!existsSync(path)) return {};
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Params;
  } catch (err) {
    throw new BrainError("INVALID_PARAMS", `Cannot read the brain config ${path}: ${(err as Error).message}`);
  }
}

function parseString(json: Params, key: string, envValue: string | undefined, fallback: string): string | null {
  if (envValue) return envValue;
  const value = json[key];
  if (typeof value === "string") return value;
  if (value !== undefined && value !== null) {
    throw new BrainError("INVALID_PARAMS", `Brain config key '${key}' must be a string`);
  }
  return fallback;
}

function parseEntries(
  json: Params,
  key: string,
  kind: "SIMILARITY" | "VISUALIZATION",
  listVar: string,
  builtins: Record<string, string>,
  env: NodeJS.ProcessEnv,
): Record<string, Params> {
  const fromJson = (json[key] ?? {}) as Record<string, Params>;
  let entries: Record<string, Params>;
  const listed = env[listVar];
  if (listed !== undefined) {
    let names = listed.split(",");
    if (names.includes("*")) names = [...new Set([...names.filter((n) => n !== "*"), ...Object.keys(builtins)])];
    entries = Object.fromEntries(names.map((n) => [n, { ...(fromJson[n] ?? {}) }]));
  } else {
    entries = Object.fromEntries(Object.entries(fromJson).map(([n, p]) => [n, { ...p }]));
    for (const name of Object.keys(builtins)) entries[name] ??= {};
  }
  for (const [name, params] of Object.entries(entries)) {
    const prefix = `FIFTYONE_BRAIN_${kind}_${name.toUpperCase()}_`;
    for (const [envName, envValue] of Object.entries(env)) {
      if (envName.startsWith(prefix) && envValue !== undefined) {
        params[envName.slice(prefix.length).toLowerCase()] = parseEnvValue(envValue);
      }
    }
    if (name in builtins && !("config_cls" in params)) params.config_cls = builtins[name];
  }
  return entries;
}

function firstAvailable(preferred: string | null, available: Record<string, unknown>): string | null {
  if (preferred !== null && preferred in available) return preferred;
  return Object.keys(available).sort()[0] ?? null;
}

export function loadBrainConfig(env: NodeJS.ProcessEnv = process.env): BrainConfig {
  const json = readJson(brainConfigPath(env));
  const similarity_backends = parseEntries(json, "similarity_backends", "SIMILARITY", "FIFTYONE_BRAIN_SIMILARITY_BACKENDS", SIMILARITY_BACKENDS, env);
  const visualization_methods = parseEntries(json, "visualization_methods", "VISUALIZATION", "FIFTYONE_BRAIN_VISUALIZATION_METHODS", VISUALIZATION_METHODS, env);
  return {
    default_similarity_backend: firstAvailable(
      parseString(json, "default_similarity_backend", env.FIFTYONE_BRAIN_DEFAULT_SIMILARITY_BACKEND, "sklearn"),
      similarity_backends,
    ),
    similarity_backends,
    default_visualization_method: firstAvailable(
      parseString(json, "default_visualization_method", env.FIFTYONE_BRAIN_DEFAULT_VISUALIZATION_METHOD, "umap"),
      visualization_methods,
    ),
    visualization_methods,
  };
}
