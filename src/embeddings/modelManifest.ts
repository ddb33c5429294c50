import { BrainError } from "../errors";

/**
 * What the runtime needs to know to feed an ONNX embedding model and read its output.
 * Stored as JSON next to the model file (`<name>.json`).
 *
 * Preprocessing, per pixel and channel c (after decoding to `channels` order and
 * resizing to `height`×`width` with `resize`):
 *   value = (pixel * scale - mean[c]) / std[c]
 */
export interface ModelManifest {
  name: string;
  /** Model file name, relative to the manifest's folder (or an absolute path). */
  file: string;
  /** sha256 of the model file, hex. */
  sha256: string;
  input: {
    name: string;
    layout: "NCHW" | "NHWC";
    channels: "RGB" | "BGR";
    height: number;
    width: number;
    /** "fill" stretches the whole image to height×width (no crop), as nsfwjs does. */
    resize: "fill" | "cover" | "contain";
    scale: number;
    mean: [number, number, number];
    std: [number, number, number];
  };
  output: {
    name: string;
    dim: number;
  };
  /** Where the weights came from and how the file was made (informational). */
  source?: Record<string, unknown>;
}

function fail(where: string, message: string): never {
  throw new BrainError("MODEL_INVALID", `Invalid model manifest ${where}: ${message}`);
}

/** Checks a parsed manifest's shape and returns it typed; throws BrainError MODEL_INVALID. */
export function validateManifest(value: unknown, where = "(manifest)"): ModelManifest {
  if (typeof value !== "object" || value === null) fail(where, "not a JSON object");
  const m = value as Record<string, any>;
  for (const k of ["name", "file", "sha256"]) {
    if (typeof m[k] !== "string" || m[k].length === 0) fail(where, `'${k}' must be a non-empty string`);
  }
  if (!/^[0-9a-f]{64}$/.test(m.sha256)) fail(where, "'sha256' must be 64 lowercase hex digits");
  const i = m.input;
  if (typeof i !== "object" || i === null) fail(where, "'input' is missing");
  if (typeof i.name !== "string" || !i.name) fail(where, "'input.name' must be a string");
  if (i.layout !== "NCHW" && i.layout !== "NHWC") fail(where, "'input.layout' must be NCHW or NHWC");
  if (i.channels !== "RGB" && i.channels !== "BGR") fail(where, "'input.channels' must be RGB or BGR");
  for (const k of ["height", "width"]) {
    if (!Number.isInteger(i[k]) || i[k] <= 0) fail(where, `'input.${k}' must be a positive integer`);
  }
  if (!["fill", "cover", "contain"].includes(i.resize)) fail(where, "'input.resize' must be fill, cover or contain");
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
  return m as ModelManifest;
}
