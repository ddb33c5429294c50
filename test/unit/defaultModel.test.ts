import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { convertNsfwjsMobilenet, readNsfwjsMobilenet, type ConvertResult } from "../../scripts/convertMobilenet";
import { BrainError } from "../../src/errors";
import { preprocessBatch } from "../../src/embeddings/imagePipeline";
import type { ModelManifest } from "../../src/embeddings/modelManifest";
import { nonFiniteRows, OnnxEmbeddingModel } from "../../src/embeddings/onnxModel";
import { DEFAULT_MODEL_NAME, defaultModelManifestPath, loadDefaultModel } from "../../src/embeddings/defaultModel";
import { maxAbsDiff, nchwToNhwc, tfjsLayerOutput } from "./tfjs";

/** A 256×192 PNG of one shape on a background. */
function shapeImage(shape: "circle" | "stripes", color: string, background: string, dx = 0, size = 60): Promise<Buffer> {
  const body =
    shape === "circle"
      ? `<circle cx="${128 + dx}" cy="96" r="${size}" fill="${color}"/>`
      : Array.from({ length: 8 }, (_, i) => `<rect x="${i * 32 + dx}" y="0" width="14" height="192" fill="${color}"/>`).join("");
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="256" height="192"><rect width="256" height="192" fill="${background}"/>${body}</svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

async function expectBrainError(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BrainError);
  expect((err as BrainError).code).toBe(code);
  expect((err as BrainError).message).toMatch(message);
}

describe("the default model: nsfwjs MobileNetV2 converted to ONNX", () => {
  let built: ConvertResult;
  let model: OnnxEmbeddingModel;

  beforeAll(async () => {
    built = convertNsfwjsMobilenet(mkdtempSync(join(tmpdir(), "brain-ts-model-")));
    model = await OnnxEmbeddingModel.fromManifestFile(built.manifestPath);
  });
  afterAll(async () => {
    await model?.close();
  });

  it("writes a manifest that says how to feed it", () => {
    const m = JSON.parse(readFileSync(built.manifestPath, "utf8")) as ModelManifest;
    expect(m).toMatchObject({
      name: "mobilenet_v2_nsfwjs",
      file: "mobilenet_v2_nsfwjs.onnx",
      input: { name: "input", layout: "NCHW", channels: "RGB", height: 224, width: 224, scale: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1] },
      output: { name: "embedding", dim: 1280 },
    });
    expect(m.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(model.dim).toBe(1280);
  });

  it("gives tfjs's own flatten_1 features for the same inputs", async () => {
    // tfjs dequantizes the stored uint8 weights itself: an independent check of the conversion.
    const m = readNsfwjsMobilenet();
    const images = [await shapeImage("circle", "#d02020", "#ffffff"), await shapeImage("stripes", "#2040e0", "#101010")];
    const batch = await preprocessBatch(images, model.manifest.input);
    const n = images.length;
    const got = await model.embed(batch.data, n);
    const want = await tfjsLayerOutput(m, "flatten_1", nchwToNhwc(batch.data, n, 3, 224, 224), [n, 224, 224, 3]);
    expect(want.length).toBe(n * 1280);
    const { diff, scale } = maxAbsDiff(want, got);
    // Measured: max |diff| ≈ 1.3e-5 with features up to ≈ 2.7 (float32 rounding; BN folded into the convs).
    expect(scale).toBeGreaterThan(0.1);
    expect(diff / scale).toBeLessThan(1e-4);
    for (let i = 0; i < n; i++) {
      expect(cosine(want.subarray(i * 1280, (i + 1) * 1280), got.subarray(i * 1280, (i + 1) * 1280))).toBeGreaterThan(0.99999);
    }
  }, 60_000);

  it("embeds images of the same colour and shape closer than different ones", async () => {
    const groups = [
      [shapeImage("circle", "#d02020", "#ffffff"), shapeImage("circle", "#e03030", "#ffffff", 25, 50)],
      [shapeImage("stripes", "#20a040", "#000000"), shapeImage("stripes", "#30b050", "#000000", 9)],
    ];
    const images = await Promise.all(groups.flat());
    const batch = await preprocessBatch(images, model.manifest.input);
    const e = await model.embed(batch.data, images.length);
    const row = (i: number) => e.subarray(i * 1280, (i + 1) * 1280);
    expect(nonFiniteRows(e, 1280)).toEqual([]);
    const within = [cosine(row(0), row(1)), cosine(row(2), row(3))];
    const across = [cosine(row(0), row(2)), cosine(row(0), row(3)), cosine(row(1), row(2)), cosine(row(1), row(3))];
    expect(Math.min(...within)).toBeGreaterThan(Math.max(...across));
  });

  it("embeds a batch like it embeds its images one by one", async () => {
    const images = await Promise.all([shapeImage("circle", "#ffcc00", "#003366"), shapeImage("stripes", "#ffffff", "#000000")]);
    const batch = await preprocessBatch(images, model.manifest.input);
    const both = await model.embed(batch.data, 2);
    const size = model.inputSize;
    const second = await model.embed(batch.data.slice(size), 1);
    expect(maxAbsDiff(both.subarray(1280), second).diff).toBeLessThan(1e-4);
  });

  it("is what loadDefaultModel loads, and is reported missing until built", async () => {
    expect(DEFAULT_MODEL_NAME).toBe(built.manifest.name);
    expect(defaultModelManifestPath()).toMatch(/\.cache\/models\/mobilenet_v2_nsfwjs\.json$/);
    const again = await loadDefaultModel({ modelsDir: join(built.modelPath, "..") });
    expect(again.manifest).toEqual(built.manifest);
    await again.close();
    await expectBrainError(loadDefaultModel({ modelsDir: mkdtempSync(join(tmpdir(), "brain-ts-empty-")) }), "MODEL_NOT_FOUND", /has not been built.*npm run build/);
  });

  it("refuses a batch of the wrong size", async () => {
    await expectBrainError(model.embed(new Float32Array(10), 1), "INVALID_PARAMS", /needs 150528 floats/);
  });

  describe("a model whose inputs or outputs do not match its manifest", () => {
    const variant = (change: (m: ModelManifest) => void) => {
      const m = JSON.parse(readFileSync(built.manifestPath, "utf8")) as ModelManifest;
      change(m);
      const dir = mkdtempSync(join(tmpdir(), "brain-ts-manifest-"));
      m.file = built.modelPath;
      const path = join(dir, "model.json");
      writeFileSync(path, JSON.stringify(m));
      return path;
    };

    it.each([
      ["output name", (m: ModelManifest) => void (m.output.name = "logits"), /has no output 'logits'; its outputs are: embedding/],
      ["output dimension", (m: ModelManifest) => void (m.output.dim = 1024), /output 'embedding' has shape \[N, 1280\].*manifest says dim 1024/],
      ["input name", (m: ModelManifest) => void (m.input.name = "pixels"), /has no input 'pixels'; its inputs are: input/],
      ["input size", (m: ModelManifest) => void (m.input.height = m.input.width = 299), /input 'input' has shape \[N, 3, 224, 224\].*NCHW \[N, 3, 299, 299\]/],
      ["input layout", (m: ModelManifest) => void (m.input.layout = "NHWC"), /NHWC \[N, 224, 224, 3\]/],
      ["file hash", (m: ModelManifest) => void (m.sha256 = "0".repeat(64)), /has sha256 [0-9a-f]{64}, but its manifest .* expects 0000/],
    ])("says so when the %s differs", async (_what, change, message) => {
      await expectBrainError(OnnxEmbeddingModel.fromManifestFile(variant(change)), "MODEL_INVALID", message);
    });

    it("says so when the manifest or the model file is missing or malformed", async () => {
      const dir = mkdtempSync(join(tmpdir(), "brain-ts-manifest-"));
      await expectBrainError(OnnxEmbeddingModel.fromManifestFile(join(dir, "none.json")), "MODEL_NOT_FOUND", /manifest not found/);
      writeFileSync(join(dir, "bad.json"), "{");
      await expectBrainError(OnnxEmbeddingModel.fromManifestFile(join(dir, "bad.json")), "MODEL_INVALID", /not valid JSON/);
      writeFileSync(join(dir, "partial.json"), JSON.stringify({ name: "x", file: "x.onnx", sha256: "0".repeat(64) }));
      await expectBrainError(OnnxEmbeddingModel.fromManifestFile(join(dir, "partial.json")), "MODEL_INVALID", /'input' is missing/);
      copyFileSync(built.manifestPath, join(dir, "m.json")); // names a model file that is not in dir
      await expectBrainError(OnnxEmbeddingModel.fromManifestFile(join(dir, "m.json")), "MODEL_NOT_FOUND", /Model file not found: .*mobilenet_v2_nsfwjs\.onnx.*npm run build/);
      const m = JSON.parse(readFileSync(built.manifestPath, "utf8")) as ModelManifest;
      writeFileSync(join(dir, "garbage.onnx"), "not a model");
      m.file = "garbage.onnx";
      await expectBrainError(OnnxEmbeddingModel.load(join(dir, "garbage.onnx"), m, { verifySha256: false }), "MODEL_INVALID", /onnxruntime cannot load/);
    });
  });
});

describe("nonFiniteRows", () => {
  it("lists the rows with NaN or infinities", () => {
    expect(nonFiniteRows(Float32Array.from([1, 2, NaN, 0, 3, 4, 0, Infinity]), 2)).toEqual([1, 3]);
    expect(nonFiniteRows(new Float32Array(6), 3)).toEqual([]);
  });
});
