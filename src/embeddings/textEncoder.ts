import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import * as ort from "onnxruntime-node";
import { BrainError } from "../errors";
import { ClipTokenizer } from "./clipTokenizer";
import type { TextTowerSpec } from "./modelManifest";
import { nonFiniteRows } from "./onnxModel";

/** Local files of a text tower, once downloaded. */
export interface TextTowerFiles {
  model: string;
  vocab: string;
  merges: string;
}

function readChecked(path: string, sha256: string | undefined, what: string): Buffer {
  if (!existsSync(path)) throw new BrainError("MODEL_NOT_FOUND", `${what} not found: ${path}`);
  const bytes = readFileSync(path);
  if (sha256) {
    const got = createHash("sha256").update(bytes).digest("hex");
    if (got !== sha256) throw new BrainError("MODEL_INVALID", `${what} ${path} has sha256 ${got}, but the manifest expects ${sha256}`);
  }
  return bytes;
}

/**
 * The text tower of an image+text model: texts → CLIP BPE ids → ONNX → [N, dim] in the
 * image tower's space. Pure runtime: no database.
 */
export class OnnxTextEncoder {
  private constructor(
    readonly spec: TextTowerSpec,
    readonly dim: number,
    readonly tokenizer: ClipTokenizer,
    private readonly session: ort.InferenceSession,
    private readonly where: string,
  ) {}

  static async load(files: TextTowerFiles, spec: TextTowerSpec, dim: number, modelName: string): Promise<OnnxTextEncoder> {
    const where = `Text tower ${files.model} (model '${modelName}')`;
    const tokenizer = ClipTokenizer.fromFiles(
      readChecked(files.vocab, spec.tokenizer.vocabSha256, "Tokenizer vocabulary").toString("utf8"),
      readChecked(files.merges, spec.tokenizer.mergesSha256, "Tokenizer merges").toString("utf8"),
      { contextLength: spec.tokenizer.contextLength, padId: spec.tokenizer.padId },
    );
    const bytes = readChecked(files.model, spec.sha256, "Text tower model file");
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, { executionProviders: ["cpu"], graphOptimizationLevel: "all" });
    } catch (err) {
      throw new BrainError("MODEL_INVALID", `onnxruntime cannot load ${files.model}: ${(err as Error).message}`);
    }
    try {
      checkTextSignature(session, spec, dim, tokenizer.contextLength, where);
    } catch (err) {
      await session.release();
      throw err;
    }
    return new OnnxTextEncoder(spec, dim, tokenizer, session, where);
  }

  /** Embeds texts: texts.length × dim floats, row-major. */
  async embedTexts(texts: readonly string[], batchSize = 64): Promise<Float32Array> {
    const out = new Float32Array(texts.length * this.dim);
    for (let start = 0; start < texts.length; start += batchSize) {
      const chunk = texts.slice(start, start + batchSize);
      out.set(await this.embedBatch(chunk), start * this.dim);
    }
    return out;
  }

  private async embedBatch(texts: readonly string[]): Promise<Float32Array> {
    const { ids, lengths } = this.tokenizer.tokenize(texts);
    const n = this.tokenizer.contextLength;
    const dims = [texts.length, n];
    const asTensor = (values: Int32Array) =>
      this.spec.input.dtype === "int64"
        ? new ort.Tensor("int64", BigInt64Array.from(values, (v) => BigInt(v)), dims)
        : new ort.Tensor("int32", values, dims);
    const feeds: Record<string, ort.Tensor> = { [this.spec.input.name]: asTensor(ids) };
    if (this.spec.attentionMask) {
      const mask = new Int32Array(ids.length);
      lengths.forEach((len, r) => mask.fill(1, r * n, r * n + len));
      feeds[this.spec.attentionMask] = asTensor(mask);
    }
    const result = await this.session.run(feeds, [this.spec.output.name]);
    const t = result[this.spec.output.name];
    try {
      const per = t.dims.slice(1).reduce((a, b) => a * b, 1);
      if (t.type !== "float32" || t.dims[0] !== texts.length || per !== this.dim) {
        throw new BrainError("MODEL_INVALID", `${this.where}: output '${this.spec.output.name}' is ${t.type} [${t.dims.join(", ")}], expected float32 [${texts.length}, ${this.dim}]`);
      }
      const vectors = Float32Array.from(t.data as Float32Array);
      const bad = nonFiniteRows(vectors, this.dim);
      if (bad.length) {
        throw new BrainError("MODEL_INVALID", `${this.where} returned NaN or infinite values for the text ${JSON.stringify(texts[bad[0]])}`);
      }
      return vectors;
    } finally {
      t.dispose();
    }
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

function checkTextSignature(session: ort.InferenceSession, spec: TextTowerSpec, dim: number, context: number, where: string): void {
  const wanted = [spec.input.name, ...(spec.attentionMask ? [spec.attentionMask] : [])];
  const missing = wanted.filter((name) => !session.inputNames.includes(name));
  const extra = session.inputNames.filter((name) => !wanted.includes(name));
  if (missing.length || extra.length) {
    throw new BrainError(
      "MODEL_INVALID",
      `${where} has inputs (${session.inputNames.join(", ")}), but the manifest describes (${wanted.join(", ")})`,
    );
  }
  for (const name of wanted) {
    const meta = session.inputMetadata.find((m) => m.name === name);
    if (meta?.isTensor) {
      if (meta.type !== spec.input.dtype) throw new BrainError("MODEL_INVALID", `${where}: input '${name}' is ${meta.type}, but the manifest says ${spec.input.dtype}`);
      const len = meta.shape[1];
      if (meta.shape.length !== 2 || (typeof len === "number" && len !== context)) {
        throw new BrainError("MODEL_INVALID", `${where}: input '${name}' has shape [${meta.shape.join(", ")}], but the tokenizer writes [N, ${context}]`);
      }
    }
  }
  const out = session.outputMetadata.find((m) => m.name === spec.output.name);
  if (!out) throw new BrainError("MODEL_INVALID", `${where} has no output '${spec.output.name}'; its outputs are: ${session.outputNames.join(", ")}`);
  if (out.isTensor) {
    if (out.type !== "float32") throw new BrainError("MODEL_INVALID", `${where}: output '${spec.output.name}' is ${out.type}, not float32`);
    const rest = out.shape.slice(1);
    if (rest.length > 0 && rest.every((d) => typeof d === "number")) {
      const d = (rest as number[]).reduce((a, b) => a * b, 1);
      if (d !== dim) throw new BrainError("MODEL_INVALID", `${where}: output '${spec.output.name}' has ${d} values per text, but the image tower's dim is ${dim}`);
    }
  }
}
