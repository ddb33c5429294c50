import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import * as ort from "onnxruntime-node";
import { BrainError } from "../errors";
import type { EmbeddingModel, ImageEmbeddings } from "./embeddingModel";
import { preprocessBatch } from "./imagePipeline";
import { type ModelManifest, validateManifest } from "./modelManifest";

/**
 * An ONNX image embedding model run by onnxruntime-node (CPU), described by a manifest
 * (see modelManifest.ts). Pure runtime: no database.
 */
export interface LoadOptions {
  /** Check the model file's sha256 against the manifest (default true). */
  verifySha256?: boolean;
  /** onnxruntime intra-op threads (default: onnxruntime's choice, all cores). */
  intraOpNumThreads?: number;
  /** Let idle onnxruntime threads spin (onnxruntime's default; off here, see load()). */
  spinning?: boolean;
}

export class OnnxEmbeddingModel implements EmbeddingModel {
  readonly supportsPrompts: boolean = false;

  private constructor(
    readonly manifest: ModelManifest,
    readonly modelPath: string,
    private readonly session: ort.InferenceSession,
  ) {}

  /** Loads the manifest JSON at `manifestPath` and the model file it names. */
  static async fromManifestFile(manifestPath: string, options: LoadOptions = {}): Promise<OnnxEmbeddingModel> {
    if (!existsSync(manifestPath)) {
      throw new BrainError("MODEL_NOT_FOUND", `Model manifest not found: ${manifestPath}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(manifestPath, "utf8"));
    } catch (err) {
      throw new BrainError("MODEL_INVALID", `Model manifest ${manifestPath} is not valid JSON: ${(err as Error).message}`);
    }
    const manifest = validateManifest(parsed, manifestPath);
    const modelPath = isAbsolute(manifest.file) ? manifest.file : join(dirname(manifestPath), manifest.file);
    return OnnxEmbeddingModel.load(modelPath, manifest, options);
  }

  /** Loads `modelPath` and checks that its input and output match `manifest`. */
  static async load(modelPath: string, manifest: ModelManifest, options: LoadOptions = {}): Promise<OnnxEmbeddingModel> {
    manifest = validateManifest(manifest, `for ${modelPath}`);
    if (!existsSync(modelPath)) {
      throw new BrainError("MODEL_NOT_FOUND", `Model file not found: ${modelPath} (model '${manifest.name}'; run \`npm run build\` to generate the default model)`);
    }
    const bytes = readFileSync(modelPath);
    if ((options.verifySha256 ?? true) && manifest.sha256) {
      const sha = createHash("sha256").update(bytes).digest("hex");
      if (sha !== manifest.sha256) {
        throw new BrainError("MODEL_INVALID", `Model file ${modelPath} has sha256 ${sha}, but its manifest '${manifest.name}' expects ${manifest.sha256}`);
      }
    }
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, {
        executionProviders: ["cpu"],
        graphOptimizationLevel: "all",
        // Idle onnxruntime threads sleep instead of spinning, leaving the cores to the
        // decode workers running beside inference (faster end to end on 2 shared cores).
        ...((options.spinning ?? false) ? {} : { extra: { session: { intra_op: { allow_spinning: "0" } } } }),
        ...(options.intraOpNumThreads ? { intraOpNumThreads: options.intraOpNumThreads } : {}),
      });
    } catch (err) {
      throw new BrainError("MODEL_INVALID", `onnxruntime cannot load ${modelPath}: ${(err as Error).message}`);
    }
    try {
      checkSignature(session, manifest, modelPath);
    } catch (err) {
      await session.release();
      throw err;
    }
    return new OnnxEmbeddingModel(manifest, modelPath, session);
  }

  get name(): string {
    return this.manifest.name;
  }

  get dim(): number {
    return this.manifest.output.dim;
  }

  /** Floats in one preprocessed image (3 × height × width). */
  get inputSize(): number {
    return 3 * this.manifest.input.height * this.manifest.input.width;
  }

  /**
   * Embeds `count` preprocessed images laid out as the manifest says (NCHW or NHWC float32),
   * returning count × dim floats, row-major.
   */
  async embed(batch: Float32Array, count: number): Promise<Float32Array> {
    const { input, output } = this.manifest;
    if (!Number.isInteger(count) || count <= 0) throw new BrainError("INVALID_PARAMS", `Batch size must be a positive integer, got ${count}`);
    if (batch.length !== count * this.inputSize) {
      throw new BrainError("INVALID_PARAMS", `A batch of ${count} needs ${count * this.inputSize} floats (${count}×3×${input.height}×${input.width}), got ${batch.length}`);
    }
    const dims = input.layout === "NCHW" ? [count, 3, input.height, input.width] : [count, input.height, input.width, 3];
    const tensor = new ort.Tensor("float32", batch, dims);
    const result = await this.session.run({ [input.name]: tensor }, [output.name]);
    const out = result[output.name];
    try {
      if (out.type !== "float32") throw new BrainError("MODEL_INVALID", `Model '${this.manifest.name}' output '${output.name}' is ${out.type}, not float32`);
      const expected = [count, output.dim];
      const flat = out.dims.length === 2 ? out.dims : [out.dims[0], out.dims.slice(1).reduce((a, b) => a * b, 1)];
      if (flat[0] !== expected[0] || flat[1] !== expected[1]) {
        throw new BrainError("MODEL_INVALID", `Model '${this.manifest.name}' output '${output.name}' has shape [${out.dims.join(", ")}], but the manifest says [${count}, ${output.dim}]`);
      }
      // Copy out of onnxruntime's buffer so the caller owns the result.
      return Float32Array.from(out.data as Float32Array);
    } finally {
      out.dispose();
    }
  }

  async embedImages(images: ReadonlyArray<string | Buffer>, options: { skipFailures?: boolean } = {}): Promise<ImageEmbeddings> {
    const skip = options.skipFailures ?? true;
    const prepared = await preprocessBatch([...images], this.manifest.input, skip);
    const failures = [...prepared.failures];
    if (prepared.indices.length === 0) return { vectors: new Float32Array(0), indices: [], failures };
    const out = await this.embed(prepared.data, prepared.indices.length);
    return dropNonFinite(out, this.dim, prepared.indices, failures, skip, this.name);
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

/**
 * Removes rows holding NaN/±Inf from `vectors` (rows aligned with `indices`), reporting
 * them as failures; with `skip` false the first such row is an error.
 */
export function dropNonFinite(
  vectors: Float32Array,
  dim: number,
  indices: number[],
  failures: ImageEmbeddings["failures"],
  skip: boolean,
  modelName: string,
): ImageEmbeddings {
  const bad = nonFiniteRows(vectors, dim);
  if (bad.length === 0) return { vectors, indices, failures };
  const error = `the model '${modelName}' returned NaN or infinite values`;
  if (!skip) throw new BrainError("MODEL_INVALID", `Image ${indices[bad[0]]} of the batch: ${error}`);
  const badSet = new Set(bad);
  const keep = indices.map((_, r) => r).filter((r) => !badSet.has(r));
  const out = new Float32Array(keep.length * dim);
  keep.forEach((r, k) => out.set(vectors.subarray(r * dim, (r + 1) * dim), k * dim));
  for (const r of bad) failures.push({ index: indices[r], error });
  failures.sort((a, b) => a.index - b.index);
  return { vectors: out, indices: keep.map((r) => indices[r]), failures };
}

function describe(shape: ReadonlyArray<number | string>): string {
  return `[${shape.join(", ")}]`;
}

/** Throws MODEL_INVALID when the session's input or output does not match the manifest. */
function checkSignature(session: ort.InferenceSession, manifest: ModelManifest, modelPath: string): void {
  const where = `Model ${modelPath} (manifest '${manifest.name}')`;
  const { input, output } = manifest;
  const inMeta = session.inputMetadata.find((m) => m.name === input.name);
  if (!inMeta) {
    throw new BrainError("MODEL_INVALID", `${where} has no input '${input.name}'; its inputs are: ${session.inputNames.join(", ")}`);
  }
  if (session.inputNames.length !== 1) {
    throw new BrainError("MODEL_INVALID", `${where} has ${session.inputNames.length} inputs (${session.inputNames.join(", ")}); an image embedding model needs exactly one`);
  }
  if (inMeta.isTensor) {
    if (inMeta.type !== "float32") throw new BrainError("MODEL_INVALID", `${where}: input '${input.name}' is ${inMeta.type}, not float32`);
    const want = input.layout === "NCHW" ? [3, input.height, input.width] : [input.height, input.width, 3];
    const shape = inMeta.shape;
    const fixedMismatch =
      shape.length !== 4 || want.some((d, i) => typeof shape[i + 1] === "number" && shape[i + 1] !== d);
    if (fixedMismatch) {
      throw new BrainError("MODEL_INVALID", `${where}: input '${input.name}' has shape ${describe(shape)}, but the manifest says ${input.layout} [N, ${want.join(", ")}]`);
    }
  }
  const outMeta = session.outputMetadata.find((m) => m.name === output.name);
  if (!outMeta) {
    throw new BrainError("MODEL_INVALID", `${where} has no output '${output.name}'; its outputs are: ${session.outputNames.join(", ")}`);
  }
  if (outMeta.isTensor) {
    if (outMeta.type !== "float32") throw new BrainError("MODEL_INVALID", `${where}: output '${output.name}' is ${outMeta.type}, not float32`);
    const rest = outMeta.shape.slice(1);
    if (rest.length > 0 && rest.every((d) => typeof d === "number")) {
      const dim = (rest as number[]).reduce((a, b) => a * b, 1);
      if (dim !== output.dim) {
        throw new BrainError("MODEL_INVALID", `${where}: output '${output.name}' has shape ${describe(outMeta.shape)} (${dim} values per image), but the manifest says dim ${output.dim}`);
      }
    }
  }
}

/** Indices of rows (0-based) that hold NaN or ±Infinity. */
export function nonFiniteRows(embeddings: Float32Array, dim: number): number[] {
  const bad: number[] = [];
  for (let r = 0; r * dim < embeddings.length; r++) {
    for (let i = r * dim; i < (r + 1) * dim; i++) {
      if (!Number.isFinite(embeddings[i])) {
        bad.push(r);
        break;
      }
    }
  }
  return bad;
}
