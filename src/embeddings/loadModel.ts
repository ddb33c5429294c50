import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, extname, isAbsolute, join, resolve } from "node:path";
import { BrainError } from "../errors";
import type { EmbeddingModel, ImageEmbeddings } from "./embeddingModel";
import { type DownloadProgress, downloadModelFile, fetchText, isUrl } from "./modelCache";
import { type ModelManifest, validateManifest } from "./modelManifest";
import { defaultZooModelName, entryBaseDir, findZooEntry, listZoo, zooPaths } from "./modelZoo";
import { type LoadOptions, OnnxEmbeddingModel } from "./onnxModel";
import { OnnxTextEncoder } from "./textEncoder";

/**
 * A model reference as jobs accept it: a zoo name, a local path or an http(s) URL, of
 * an ONNX file or of its manifest JSON. For an ONNX file, the manifest is `manifest`
 * when given (its `file` defaults to the reference), else `<same name>.json` next to it.
 */
export type ModelRef = string | { model: string; manifest?: Record<string, unknown> };

export interface LoadModelOptions extends LoadOptions {
  /** Download cache folder (default: modelCache.modelsCacheDir()). */
  cacheDir?: string;
  /** Zoo files to search names in (default: models/zoo.json + FIFTYONE_BRAIN_MODEL_ZOO). */
  zooPaths?: string[];
  progress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
}

/** A manifest with every file resolved to a local path. */
export interface ResolvedModel {
  manifest: ModelManifest;
  modelPath: string;
  text?: { model: string; vocab: string; merges: string };
}

/** Where a manifest's relative files live: a folder, or a URL (files then resolve to URLs). */
type Base = { dir: string } | { url: string };

/** The default model's zoo name. */
export function defaultModelRef(): string {
  return defaultZooModelName();
}

function refString(ref: ModelRef): string {
  return typeof ref === "string" ? ref : ref.model;
}

function stemJson(ref: string): string {
  const ext = extname(ref);
  return (ext ? ref.slice(0, -ext.length) : ref) + ".json";
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new BrainError("MODEL_INVALID", `Model manifest ${where} is not valid JSON: ${(err as Error).message}`);
  }
}

/** Finds the manifest a reference names, and the base its relative files resolve against. */
async function locateManifest(ref: ModelRef, options: LoadModelOptions): Promise<{ manifest: ModelManifest; base: Base }> {
  const target = refString(ref);
  const inline = typeof ref === "string" ? undefined : ref.manifest;
  if (typeof target !== "string" || !target) throw new BrainError("INVALID_PARAMS", "A model (zoo name, path or URL) is required");

  if (!isUrl(target)) {
    const entry = findZooEntry(target, options.zooPaths ?? zooPaths());
    if (entry && !inline) {
      if (entry.manifest) return { manifest: entry.manifest, base: { dir: entryBaseDir(entry) } };
      const path = join(entryBaseDir(entry), entry.generated as string);
      if (!existsSync(path)) {
        throw new BrainError("MODEL_NOT_FOUND", `The model '${entry.name}' has not been built (${path} is missing): run \`npm run build\``);
      }
      return { manifest: validateManifest(parseJson(readFileSync(path, "utf8"), path), path), base: { dir: dirname(path) } };
    }
  }

  const fillIn = (raw: Record<string, unknown>, where: string) =>
    validateManifest({ name: basename(target, extname(target)), ...raw, file: raw.file ?? target }, where);

  if (isUrl(target)) {
    if (inline) return { manifest: fillIn(inline, `given for ${target}`), base: { url: target } };
    const manifestUrl = target.toLowerCase().endsWith(".json") ? target : stemJson(target);
    const text = await fetchText(manifestUrl, options.signal);
    return { manifest: validateManifest(parseJson(text, manifestUrl), manifestUrl), base: { url: manifestUrl } };
  }

  const path = resolve(target);
  if (!existsSync(path) || !statSync(path).isFile()) {
    const names = listZoo(options.zooPaths ?? zooPaths()).map((e) => e.name);
    throw new BrainError("MODEL_NOT_FOUND", `Model '${target}' is not a zoo model (${names.join(", ")}), an existing file or an http(s) URL`);
  }
  if (inline) return { manifest: fillIn(inline, `given for ${path}`), base: { dir: dirname(path) } };
  const manifestPath = path.toLowerCase().endsWith(".json") ? path : stemJson(path);
  if (!existsSync(manifestPath)) {
    throw new BrainError(
      "MODEL_NOT_FOUND",
      `Model ${path} has no manifest: write ${manifestPath} (input size, layout, mean/std, output name and dim) or pass the manifest with the model`,
    );
  }
  return { manifest: validateManifest(parseJson(readFileSync(manifestPath, "utf8"), manifestPath), manifestPath), base: { dir: dirname(manifestPath) } };
}

/** A file of a manifest → a local path (downloading URLs into the cache, sha256-checked). */
async function localFile(file: string, sha256: string | undefined, base: Base, options: LoadModelOptions): Promise<string> {
  const url = isUrl(file) ? file : "url" in base ? new URL(file, base.url).href : null;
  if (url) {
    if (!sha256) throw new BrainError("MODEL_INVALID", `The manifest must give the sha256 of ${url} to download it`);
    return downloadModelFile(url, { sha256, cacheDir: options.cacheDir, progress: options.progress, signal: options.signal });
  }
  const dir = "dir" in base ? base.dir : process.cwd();
  return isAbsolute(file) ? file : join(dir, file);
}

/** Resolves a reference to its manifest and local files, downloading what is remote. */
export async function resolveModel(ref: ModelRef, options: LoadModelOptions = {}): Promise<ResolvedModel> {
  const { manifest, base } = await locateManifest(ref, options);
  const modelPath = await localFile(manifest.file, manifest.sha256, base, options);
  if (!manifest.text) return { manifest, modelPath };
  const t = manifest.text;
  return {
    manifest,
    modelPath,
    text: {
      model: await localFile(t.file, t.sha256, base, options),
      vocab: await localFile(t.tokenizer.vocab, t.tokenizer.vocabSha256, base, options),
      merges: await localFile(t.tokenizer.merges, t.tokenizer.mergesSha256, base, options),
    },
  };
}

/** An image+text model: both towers embed into one space, so text prompts can query images. */
export class ImageTextModel implements EmbeddingModel {
  readonly supportsPrompts = true;
  constructor(
    readonly image: OnnxEmbeddingModel,
    readonly text: OnnxTextEncoder,
  ) {}
  get name(): string {
    return this.image.name;
  }
  get dim(): number {
    return this.image.dim;
  }
  get manifest(): ModelManifest {
    return this.image.manifest;
  }
  embed(batch: Float32Array, count: number): Promise<Float32Array> {
    return this.image.embed(batch, count);
  }
  embedImages(images: ReadonlyArray<string | Buffer>, options?: { skipFailures?: boolean }): Promise<ImageEmbeddings> {
    return this.image.embedImages(images, options);
  }
  embedTexts(texts: readonly string[]): Promise<Float32Array> {
    return this.text.embedTexts(texts);
  }
  async close(): Promise<void> {
    await Promise.all([this.image.close(), this.text.close()]);
  }
}

/**
 * Loads a model by zoo name, path or URL (see ModelRef): image models give an
 * OnnxEmbeddingModel, image+text models an ImageTextModel (`supportsPrompts`).
 */
export async function loadEmbeddingModel(ref: ModelRef = defaultModelRef(), options: LoadModelOptions = {}): Promise<EmbeddingModel> {
  const resolved = await resolveModel(ref, options);
  const image = await OnnxEmbeddingModel.load(resolved.modelPath, { ...resolved.manifest, file: resolved.modelPath }, options);
  if (!resolved.text || !resolved.manifest.text) return image;
  try {
    const text = await OnnxTextEncoder.load(resolved.text, resolved.manifest.text, image.dim, image.name);
    return new ImageTextModel(image, text);
  } catch (err) {
    await image.close();
    throw err;
  }
}

const shared = new Map<string, Promise<EmbeddingModel>>();

/**
 * A model loaded once per process and reference (a warm runtime reuses its sessions).
 * Inline manifests are part of the key, so two manifests for one file are two models.
 */
export function sharedEmbeddingModel(ref: ModelRef = defaultModelRef(), options: Omit<LoadModelOptions, "signal"> = {}): Promise<EmbeddingModel> {
  const key = JSON.stringify([typeof ref === "string" ? ref : [ref.model, ref.manifest ?? null], options.cacheDir ?? null, options.zooPaths ?? null]);
  let loading = shared.get(key);
  if (!loading) {
    loading = loadEmbeddingModel(ref, options).catch((err) => {
      shared.delete(key);
      throw err;
    });
    shared.set(key, loading);
  }
  return loading;
}
