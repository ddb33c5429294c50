import { BrainError } from "../errors";

/**
 * What the runtime needs to know to feed an ONNX embedding model and read its output.
 * Stored as JSON next to the model file (`<name>.json`).
 *
 * Preprocessing, per pixel and channel c (after decoding to `channels` order and
 * resizing to `height`×`width` with `resize`):
 *   value = (pixel * scale - mean[c]) / std[c]
 */
export const INTERPOLATIONS = ["nearest", "linear", "cubic", "mitchell", "lanczos2", "lanczos3"] as const;
export type Interpolation = (typeof INTERPOLATIONS)[number];

export interface ModelManifest {
  name: string;
  /**
   * Model file: a path relative to the manifest's folder (or URL), an absolute path, or
   * an http(s) URL (downloaded into the model cache, see modelCache.ts).
   */
  file: string;
  /** sha256 of the model file, hex; required when the file is downloaded. */
  sha256?: string;
  input: {
    name: string;
    layout: "NCHW" | "NHWC";
    channels: "RGB" | "BGR";
    height: number;
    width: number;
    /** "fill" stretches the whole image to height×width (no crop), as nsfwjs does. */
    resize: "fill" | "cover" | "contain";
    /**
     * Resampling kernel (sharp's names; default lanczos3). "linear" matches PIL's
     * BILINEAR resize (antialiased), the usual Python preprocessing.
     */
    interpolation?: Interpolation;
    scale: number;
    mean: [number, number, number];
    std: [number, number, number];
  };
  output: {
    name: string;
    dim: number;
  };
  /** For image+text (CLIP-style) models: the text tower and its tokenizer. */
  text?: TextTowerSpec;
  /** Where the weights came from and how the file was made (informational). */
  source?: Record<string, unknown>;
}

/**
 * A text tower: token ids (int64 or int32, [N, contextLength]) → [N, output.dim] of the
 * image tower, so texts and images share one space. Files resolve like `file` above.
 */
export interface TextTowerSpec {
  file: string;
  sha256?: string;
  input: { name: string; dtype: "int64" | "int32" };
  /** Optional second input fed 1 for real tokens and 0 for padding. */
  attentionMask?: string;
  output: { name: string };
  tokenizer: {
    /** JSON object token → id (CLIP's vocab.json). */
    vocab: string;
    vocabSha256?: string;
    /** BPE merges, one "a b" pair a line, best first; a leading "#version" line is skipped. */
    merges: string;
    mergesSha256?: string;
    /** Tokens per text including start and end (CLIP: 77). */
    contextLength?: number;
    /** Id written after the end token (CLIP's reference tokenizer: 0). */
    padId?: number;
  };
}

function fail(where: string, message: string): never {
  throw new BrainError("MODEL_INVALID", `Invalid model manifest ${where}: ${message}`);
}

/** Checks a parsed manifest's shape and returns it typed; throws BrainError MODEL_INVALID. */
export function validateManifest(value: unknown, where = "(manifest)"): ModelManifest {
  if (typeof value !== "object" || value === null) fail(where, "not a JSON object");
  const m = value as Record<string, any>;
  for (const k of ["name", "file"]) {
    if (typeof m[k] !== "string" || m[k].length === 0) fail(where, `'${k}' must be a non-empty string`);
  }
  checkSha(m.sha256, where, "sha256");
  const i = m.input;
  if (typeof i !== "object" || i === null) fail(where, "'input' is missing");
  if (typeof i.name !== "string" || !i.name) fail(where, "'input.name' must be a string");
  if (i.layout !== "NCHW" && i.layout !== "NHWC") fail(where, "'input.layout' must be NCHW or NHWC");
  if (i.channels !== "RGB" && i.channels !== "BGR") fail(where, "'input.channels' must be RGB or BGR");
  for (const k of ["height", "width"]) {
    if (!Number.isInteger(i[k]) || i[k] <= 0) fail(where, `'input.${k}' must be a positive integer`);
  }
  if (!["fill", "cover", "contain"].includes(i.resize)) fail(where, "'input.resize' must be fill, cover or contain");
  if (i.interpolation !== undefined && !INTERPOLATIONS.includes(i.interpolation)) {
    fail(where, `'input.interpolation' must be one of ${INTERPOLATIONS.join(", ")}`);
  }
  if (typeof i.scale !== "number" || !(i.scale > 0)) fail(where, "'input.scale' must be a positive number");
  for (const k of ["mean", "std"]) {
    const a = i[k];
    if (!Array.isArray(a) || a.length !== 3 || a.some((x: unknown) => typeof x !== "number" || !Number.isFinite(x))) {
      fail(where, `'input.${k}' must be 3 numbers`);
    }
  }
  if (i.std.some((x: number) => x === 0)) fail(where, "'input.std' must not contain 0");
  const o = m.output;
  if (typeof o !== "object" || o === null) fail(where, "'output' is missing");
  if (typeof o.name !== "string" || !o.name) fail(where, "'output.name' must be a string");
  if (!Number.isInteger(o.dim) || o.dim <= 0) fail(where, "'output.dim' must be a positive integer");
  if (m.text !== undefined) validateText(m.text, where);
  return m as ModelManifest;
}

function checkSha(value: unknown, where: string, key: string): void {
  if (value !== undefined && (typeof value !== "string" || !/^[0-9a-f]{64}$/.test(value))) {
    fail(where, `'${key}' must be 64 lowercase hex digits`);
  }
}

function validateText(t: any, where: string): void {
  if (typeof t !== "object" || t === null) fail(where, "'text' must be an object");
  if (typeof t.file !== "string" || !t.file) fail(where, "'text.file' must be a non-empty string");
  checkSha(t.sha256, where, "text.sha256");
  if (typeof t.input !== "object" || t.input === null || typeof t.input.name !== "string" || !t.input.name) {
    fail(where, "'text.input.name' must be a string");
  }
  if (t.input.dtype !== "int64" && t.input.dtype !== "int32") fail(where, "'text.input.dtype' must be int64 or int32");
  if (t.attentionMask !== undefined && (typeof t.attentionMask !== "string" || !t.attentionMask)) {
    fail(where, "'text.attentionMask' must be an input name");
  }
  if (typeof t.output !== "object" || t.output === null || typeof t.output.name !== "string" || !t.output.name) {
    fail(where, "'text.output.name' must be a string");
  }
  const k = t.tokenizer;
  if (typeof k !== "object" || k === null) fail(where, "'text.tokenizer' is missing");
  for (const f of ["vocab", "merges"]) {
    if (typeof k[f] !== "string" || !k[f]) fail(where, `'text.tokenizer.${f}' must be a file name or URL`);
  }
  checkSha(k.vocabSha256, where, "text.tokenizer.vocabSha256");
  checkSha(k.mergesSha256, where, "text.tokenizer.mergesSha256");
  if (k.contextLength !== undefined && (!Number.isInteger(k.contextLength) || k.contextLength < 3)) {
    fail(where, "'text.tokenizer.contextLength' must be an integer ≥ 3");
  }
  if (k.padId !== undefined && (!Number.isInteger(k.padId) || k.padId < 0)) fail(where, "'text.tokenizer.padId' must be an integer ≥ 0");
}
