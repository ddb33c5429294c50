import { existsSync } from "node:fs";
import { join } from "node:path";
import { BrainError } from "../errors";
import { projectRoot } from "../fiftyone/localDatabase";
import { type LoadOptions, OnnxEmbeddingModel } from "./onnxModel";

/**
 * The default image embedding model: nsfwjs's MobileNetV2 up to flatten_1 (1280-d),
 * converted to ONNX by `npm run build` (scripts/convertMobilenet.ts) into .cache/models.
 */
export const DEFAULT_MODEL_NAME = "mobilenet_v2_nsfwjs";

/** Where `npm run build` writes the default model's manifest. */
export function defaultModelManifestPath(modelsDir = join(projectRoot(), ".cache", "models")): string {
  return join(modelsDir, `${DEFAULT_MODEL_NAME}.json`);
}

/** Loads the default model; MODEL_NOT_FOUND (saying to run `npm run build`) when it was not built. */
export async function loadDefaultModel(options: LoadOptions & { modelsDir?: string } = {}): Promise<OnnxEmbeddingModel> {
  const path = defaultModelManifestPath(options.modelsDir);
  if (!existsSync(path)) {
    throw new BrainError("MODEL_NOT_FOUND", `The default embedding model '${DEFAULT_MODEL_NAME}' has not been built (${path} is missing): run \`npm run build\``);
  }
  return OnnxEmbeddingModel.fromManifestFile(path, options);
}

let cached: Promise<OnnxEmbeddingModel> | null = null;

/** The default model, loaded once per process: a warm runtime reuses its session. */
export function sharedDefaultModel(): Promise<OnnxEmbeddingModel> {
  cached ??= loadDefaultModel().catch((err) => {
    cached = null;
    throw err;
  });
  return cached;
}
