import sharp from "sharp";
import { BrainError } from "../errors";
import type { ModelManifest } from "./modelManifest";
import { patchPixels } from "./patches";

/**
 * Image → model input, as a manifest's `input` section says: sharp decodes (JPEG, PNG,
 * WebP, TIFF, GIF first frame, ...), applies the EXIF orientation, turns grayscale into
 * RGB and drops alpha (as PIL's convert("RGB") does), resizes, and the pixels are scaled
 * and normalised into a float32 tensor in the model's layout.
 *
 * Known difference from PIL: sharp resizes images with alpha premultiplied and drops the
 * alpha after, so translucent pixels can differ by rounding, and fully transparent ones
 * do not keep their stored colour.
 */
export type InputSpec = ModelManifest["input"];

/** sharp's message, made actionable where it says nothing (libvips reports truncated JPEGs as "Unknown error"). */
function decodeMessage(err: unknown): string {
  const message = (err as Error).message;
  return message === "Unknown error" ? "the file is truncated or corrupt" : message;
}

/** Decodes and resizes one image to raw interleaved RGB (height × width × 3 bytes). */
export async function decodeRgb(image: string | Buffer, spec: Pick<InputSpec, "width" | "height" | "resize" | "interpolation">): Promise<Buffer> {
  const label = typeof image === "string" ? image : "(image buffer)";
  let result: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    result = await sharp(image, { pages: 1, failOn: "error" })
      .rotate() // EXIF orientation
      .removeAlpha()
      .toColourspace("srgb")
      .resize(spec.width, spec.height, {
        fit: spec.resize,
        position: "centre",
        background: { r: 0, g: 0, b: 0 },
        kernel: spec.interpolation ?? "lanczos3",
      })
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new BrainError("MEDIA_UNREADABLE", `Cannot decode image ${label}: ${decodeMessage(err)}`);
  }
  const { data, info } = result;
  if (info.channels !== 3 || info.width !== spec.width || info.height !== spec.height) {
    throw new BrainError("MEDIA_UNREADABLE", `Image ${label} decoded to ${info.width}×${info.height}×${info.channels}, expected ${spec.width}×${spec.height}×3`);
  }
  return data;
}

/**
 * Writes one decoded RGB image (height × width × 3 bytes) into `out` at image slot `index`,
 * as (pixel * scale - mean[c]) / std[c] in the spec's channel order and layout.
 */
export function writeTensor(rgb: Uint8Array, spec: InputSpec, out: Float32Array, index = 0): void {
  const { width: w, height: h, scale, mean, std } = spec;
  const plane = w * h;
  if (rgb.length !== plane * 3) throw new Error(`expected ${plane * 3} bytes of RGB, got ${rgb.length}`);
  const base = index * plane * 3;
  if (base + plane * 3 > out.length) throw new Error(`image slot ${index} is outside the batch buffer`);
  const order = spec.channels === "RGB" ? [0, 1, 2] : [2, 1, 0];
  const a = order.map((c) => scale / std[c]);
  const b = order.map((c) => -mean[c] / std[c]);
  if (spec.layout === "NCHW") {
    for (let k = 0; k < 3; k++) {
      const src = order[k];
      const dst = base + k * plane;
      const ak = a[k];
      const bk = b[k];
      for (let p = 0; p < plane; p++) out[dst + p] = rgb[p * 3 + src] * ak + bk;
    }
  } else {
    for (let p = 0; p < plane; p++) {
      for (let k = 0; k < 3; k++) out[base + p * 3 + k] = rgb[p * 3 + order[k]] * a[k] + b[k];
    }
  }
}

/** Decodes and preprocesses one image into a fresh float32 tensor of 3 × height × width. */
export async function preprocessImage(image: string | Buffer, spec: InputSpec): Promise<Float32Array> {
  const out = new Float32Array(3 * spec.width * spec.height);
  writeTensor(await decodeRgb(image, spec), spec, out, 0);
  return out;
}

export interface PreparedBatch {
  /** count × 3 × height × width floats, only for the images that decoded. */
  data: Float32Array;
  /** Positions (in `images`) of the images in `data`, in order. */
  indices: number[];
  /** Images that could not be decoded, with the reason. */
  failures: Array<{ index: number; error: string }>;
}

/**
 * Preprocesses a batch; images that fail to decode are skipped and reported, unless
 * `skipFailures` is false, in which case the first failure is thrown.
 */
export async function preprocessBatch(images: Array<string | Buffer>, spec: InputSpec, skipFailures = true): Promise<PreparedBatch> {
  const size = 3 * spec.width * spec.height;
  const decoded = await Promise.allSettled(images.map((img) => decodeRgb(img, spec)));
  const indices: number[] = [];
  const failures: PreparedBatch["failures"] = [];
  decoded.forEach((r, i) => {
    if (r.status === "fulfilled") indices.push(i);
    else if (!skipFailures) throw r.reason;
    else failures.push({ index: i, error: (r.reason as Error).message });
  });
  const data = new Float32Array(indices.length * size);
  indices.forEach((i, slot) => writeTensor((decoded[i] as PromiseFulfilledResult<Buffer>).value, spec, data, slot));
  return { data, indices, failures };
}

/** One image to prepare: the whole image, or one crop per label box (relative [x, y, w, h]; null = no box). */
export interface ImageJob {
  image: string | Buffer;
  patches?: ReadonlyArray<readonly number[] | null>;
  alpha?: number;
  forceSquare?: boolean;
}

/** The tensors of one ImageJob: rows for the outputs that could be prepared, failures for the rest. */
export interface PreparedImage {
  /** rows × 3 × height × width floats. */
  data: Float32Array;
  /** Output slot (0 for a whole image, else the patch index) of each row, in order. */
  slots: number[];
  failures: Array<{ slot: number; error: string }>;
}

/** Decodes a whole image to raw RGB at its own size, EXIF-oriented. */
async function decodeFull(image: string | Buffer): Promise<{ data: Buffer; width: number; height: number }> {
  const label = typeof image === "string" ? image : "(image buffer)";
  try {
    const { data, info } = await sharp(image, { pages: 1, failOn: "error" })
      .rotate()
      .removeAlpha()
      .toColourspace("srgb")
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return { data, width: info.width, height: info.height };
  } catch (err) {
    throw new BrainError("MEDIA_UNREADABLE", `Cannot decode image ${label}: ${decodeMessage(err)}`);
  }
}

/**
 * Prepares one ImageJob. A whole image: decode + resize as the manifest says. Patches:
 * the image is decoded once at full size, and each label's box (FiftyOne's rules, see
 * patches.ts) is cropped and resized. An image that cannot be decoded fails every slot.
 */
export async function prepareImage(job: ImageJob, spec: InputSpec): Promise<PreparedImage> {
  const size = 3 * spec.width * spec.height;
  if (!job.patches) {
    try {
      const data = new Float32Array(size);
      writeTensor(await decodeRgb(job.image, spec), spec, data, 0);
      return { data, slots: [0], failures: [] };
    } catch (err) {
      return { data: new Float32Array(0), slots: [], failures: [{ slot: 0, error: (err as Error).message }] };
    }
  }
  const slots: number[] = [];
  const failures: PreparedImage["failures"] = [];
  let full: Awaited<ReturnType<typeof decodeFull>>;
  try {
    full = await decodeFull(job.image);
  } catch (err) {
    return { data: new Float32Array(0), slots, failures: job.patches.map((_, slot) => ({ slot, error: (err as Error).message })) };
  }
  const boxes = job.patches.map((box) => (box ? patchPixels(box, full.width, full.height, { alpha: job.alpha, forceSquare: job.forceSquare }) : null));
  const data = new Float32Array(boxes.filter((b) => b !== null).length * size);
  const raw = { raw: { width: full.width, height: full.height, channels: 3 as const } };
  for (let slot = 0; slot < boxes.length; slot++) {
    const box = boxes[slot];
    if (!box) {
      failures.push({ slot, error: job.patches[slot] ? "the label's box is empty in this image" : "the label has no bounding box or points" });
      continue;
    }
    const rgb = await sharp(full.data, raw)
      .extract(box)
      .resize(spec.width, spec.height, { fit: spec.resize, position: "centre", background: { r: 0, g: 0, b: 0 }, kernel: spec.interpolation ?? "lanczos3" })
      .raw()
      .toBuffer();
    writeTensor(rgb, spec, data, slots.length);
    slots.push(slot);
  }
  return { data, slots, failures };
}
