import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { onnx } from "onnx-proto";
import { byteToUnicode, END_TOKEN, START_TOKEN } from "../../src/embeddings/clipTokenizer";
import type { ModelManifest } from "../../src/embeddings/modelManifest";

/**
 * A tiny image+text model pair written with onnx-proto, for testing the real loading,
 * tokenising and encoding code without CLIP weights:
 * - image tower: mean colour (GlobalAveragePool) of an 8×8 RGB input → MatMul(identity) → 3-d;
 * - text tower: Gather of a fixed embedding table by token id → ReduceMean over tokens → 3-d,
 *   where only "red", "green" and "blue" have non-zero rows (the R, G and B axes).
 * So by design a prompt naming a colour is closest to images of that colour.
 */
// "green" before "red": with "r e" ranked first, "green" would split as g·re·e·n.
export const TOY_WORDS = ["green", "red", "blue", "a", "photo", "of"];
export const TOY_COLOURS: Record<string, [number, number, number]> = { red: [1, 0, 0], green: [0, 1, 0], blue: [0, 0, 1] };

/** Byte characters in CLIP's vocabulary order: printable bytes first (ascending), then the others. */
export function clipByteOrder(): string[] {
  const table = byteToUnicode();
  const direct = table.filter((c, b) => c.charCodeAt(0) === b);
  return [...direct, ...table.filter((c, b) => c.charCodeAt(0) !== b)];
}

/**
 * A CLIP-shaped vocabulary (bytes, bytes+</w>, one token per merge, specials: CLIP's
 * layout) and merges that fully merge each word left to right, then `extra` merges.
 */
export function toyVocabulary(words = TOY_WORDS, extra: Array<[string, string]> = []): { vocab: Record<string, number>; merges: Array<[string, string]> } {
  const bytes = clipByteOrder();
  const tokens = [...bytes, ...bytes.map((b) => `${b}</w>`)];
  const merges: Array<[string, string]> = [];
  for (const word of words) {
    const chars = Array.from(word);
    chars[chars.length - 1] += "</w>";
    let acc = chars[0];
    for (let i = 1; i < chars.length; i++) {
      if (!merges.some(([a, b]) => a === acc && b === chars[i])) merges.push([acc, chars[i]]);
      acc += chars[i];
    }
  }
  for (const m of extra) if (!merges.some(([a, b]) => a === m[0] && b === m[1])) merges.push(m);
  for (const [a, b] of merges) tokens.push(a + b);
  tokens.push(START_TOKEN, END_TOKEN);
  return { vocab: Object.fromEntries(tokens.map((t, i) => [t, i])), merges };
}

type ValueInfo = { name: string; elemType: number; dims: Array<number | string> };

function valueInfo({ name, elemType, dims }: ValueInfo) {
  return { name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) } } } };
}

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

function encodeModel(name: string, nodes: object[], initializer: object[], input: ValueInfo[], output: ValueInfo[]): Uint8Array {
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: "", version: 17 }],
      graph: { name, node: nodes, initializer, input: input.map(valueInfo), output: output.map(valueInfo) },
    }),
  ).finish();
}

export function toyImageTower(size = 8, outName = "image_embeds"): Uint8Array {
  return encodeModel(
    "toy_image",
    [
      { opType: "GlobalAveragePool", input: ["pixels"], output: ["pooled"] },
      { opType: "Flatten", input: ["pooled"], output: ["flat"], attribute: [{ name: "axis", type: onnx.AttributeProto.AttributeType.INT, i: 1 }] },
      { opType: "MatMul", input: ["flat", "W"], output: [outName] },
    ],
    [{ name: "W", dims: [3, 3], dataType: FLOAT, floatData: [1, 0, 0, 0, 1, 0, 0, 0, 1] }],
    [{ name: "pixels", elemType: FLOAT, dims: ["N", 3, size, size] }],
    [{ name: outName, elemType: FLOAT, dims: ["N", 3] }],
  );
}

export function toyTextTower(vocab: Record<string, number>, context = 77): Uint8Array {
  const size = Math.max(...Object.values(vocab)) + 1;
  const table = new Array<number>(size * 3).fill(0);
  for (const [word, axis] of Object.entries(TOY_COLOURS)) {
    const id = vocab[`${word}</w>`];
    axis.forEach((v, k) => (table[id * 3 + k] = v));
  }
  return encodeModel(
    "toy_text",
    [
      { opType: "Gather", input: ["E", "input_ids"], output: ["tokens"], attribute: [{ name: "axis", type: onnx.AttributeProto.AttributeType.INT, i: 0 }] },
      {
        opType: "ReduceMean",
        input: ["tokens"],
        output: ["text_embeds"],
        attribute: [
          { name: "axes", type: onnx.AttributeProto.AttributeType.INTS, ints: [1] },
          { name: "keepdims", type: onnx.AttributeProto.AttributeType.INT, i: 0 },
        ],
      },
    ],
    [{ name: "E", dims: [size, 3], dataType: FLOAT, floatData: table }],
    [{ name: "input_ids", elemType: INT64, dims: ["N", context] }],
    [{ name: "text_embeds", elemType: FLOAT, dims: ["N", 3] }],
  );
}

export function sha256(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export interface ToyClip {
  dir: string;
  manifestPath: string;
  manifest: ModelManifest;
  vocab: Record<string, number>;
  merges: Array<[string, string]>;
}

/** Writes toy_clip_image.onnx, toy_clip_text.onnx, vocab.json, merges.txt and toy_clip.json (the manifest) into dir. */
export function writeToyClip(dir: string): ToyClip {
  mkdirSync(dir, { recursive: true });
  const { vocab, merges } = toyVocabulary();
  const image = toyImageTower();
  const text = toyTextTower(vocab);
  const vocabJson = JSON.stringify(vocab);
  const mergesTxt = `#version: 0.2\n${merges.map(([a, b]) => `${a} ${b}`).join("\n")}\n`;
  writeFileSync(join(dir, "toy_clip_image.onnx"), image);
  writeFileSync(join(dir, "toy_clip_text.onnx"), text);
  writeFileSync(join(dir, "vocab.json"), vocabJson);
  writeFileSync(join(dir, "merges.txt"), mergesTxt);
  const manifest: ModelManifest = {
    name: "toy_clip",
    file: "toy_clip_image.onnx",
    sha256: sha256(image),
    input: { name: "pixels", layout: "NCHW", channels: "RGB", height: 8, width: 8, resize: "fill", scale: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1] },
    output: { name: "image_embeds", dim: 3 },
    text: {
      file: "toy_clip_text.onnx",
      sha256: sha256(text),
      input: { name: "input_ids", dtype: "int64" },
      output: { name: "text_embeds" },
      tokenizer: { vocab: "vocab.json", vocabSha256: sha256(vocabJson), merges: "merges.txt", mergesSha256: sha256(mergesTxt), contextLength: 77 },
    },
  };
  const manifestPath = join(dir, "toy_clip.json");
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
  return { dir, manifestPath, manifest, vocab, merges };
}

/**
 * An image model whose output depends on every pixel: Flatten of a size×size RGB input,
 * MatMul by fixed pseudo-random weights → dim. With `nanBelow`, Sqrt(mean colour − nanBelow)
 * is appended instead, so images darker than that give NaN (for bad-output tests).
 */
export function toyProjectionModel(size = 16, dim = 8, nanBelow?: number): { bytes: Uint8Array; manifest: Omit<ModelManifest, "name" | "file"> } {
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  const n = 3 * size * size;
  const int = onnx.AttributeProto.AttributeType.INT;
  const bytes =
    nanBelow === undefined
      ? encodeModel(
          "toy_projection",
          [
            { opType: "Flatten", input: ["pixels"], output: ["flat"], attribute: [{ name: "axis", type: int, i: 1 }] },
            { opType: "MatMul", input: ["flat", "W"], output: ["embedding"] },
          ],
          [{ name: "W", dims: [n, dim], dataType: FLOAT, floatData: Array.from({ length: n * dim }, rand) }],
          [{ name: "pixels", elemType: FLOAT, dims: ["N", 3, size, size] }],
          [{ name: "embedding", elemType: FLOAT, dims: ["N", dim] }],
        )
      : encodeModel(
          "toy_nan",
          [
            { opType: "GlobalAveragePool", input: ["pixels"], output: ["pooled"] },
            { opType: "Flatten", input: ["pooled"], output: ["flat"], attribute: [{ name: "axis", type: int, i: 1 }] },
            { opType: "Sub", input: ["flat", "T"], output: ["shifted"] },
            { opType: "Sqrt", input: ["shifted"], output: ["embedding"] },
          ],
          [{ name: "T", dims: [1], dataType: FLOAT, floatData: [nanBelow] }],
          [{ name: "pixels", elemType: FLOAT, dims: ["N", 3, size, size] }],
          [{ name: "embedding", elemType: FLOAT, dims: ["N", 3] }],
        );
  return {
    bytes,
    manifest: {
      sha256: sha256(bytes),
      input: { name: "pixels", layout: "NCHW", channels: "RGB", height: size, width: size, resize: "fill", scale: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1] },
      output: { name: "embedding", dim: nanBelow === undefined ? dim : 3 },
    },
  };
}

/** Writes `<name>.onnx` and its manifest `<name>.json` into dir; returns the ONNX path. */
export function writeModel(dir: string, name: string, model: ReturnType<typeof toyProjectionModel>): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.onnx`);
  writeFileSync(path, model.bytes);
  writeFileSync(join(dir, `${name}.json`), JSON.stringify({ name, file: `${name}.onnx`, ...model.manifest }));
  return path;
}
