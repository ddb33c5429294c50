import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { BrainError } from "../errors";
import { type LoadOptions, OnnxEmbeddingModel } from "./onnxModel";

/**
 * The default image embedding model: nsfwjs's MobileNetV2 up to flatten_1 (1280-d),
 * converted to ONNX by `npm run build` (scripts/convertMobilenet.ts) into .cache/models.
 */
export const DEFAULT_MODEL_NAME = "mobilenet_v2_nsfwjs";

function pluginDir(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, "fiftyone.yml"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("Cannot find the plugin folder (fiftyone.yml)");
    dir = parent;
  }
  return dir;
}

/** Where `npm run build` writes the default model's manifest. */
export function defaultModelManifestPath(modelsDir = join(pluginDir(), ".cache", "models")): string {
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
