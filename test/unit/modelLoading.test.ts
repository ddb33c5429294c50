import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { BrainError } from "../../src/errors";
import { ImageTextModel, loadEmbeddingModel } from "../../src/embeddings/loadModel";
import { cachedPath, downloadModelFile, type DownloadProgress } from "../../src/embeddings/modelCache";
import { defaultZooModelName, listZoo } from "../../src/embeddings/modelZoo";
import { OnnxEmbeddingModel } from "../../src/embeddings/onnxModel";
import { sha256, TOY_COLOURS, toyImageTower, writeToyClip } from "../support/toyClip";

async function brainError(p: Promise<unknown>): Promise<BrainError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BrainError);
  return err as BrainError;
}

function solid(rgb: [number, number, number], width = 32, height = 24): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } }).png().toBuffer();
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

const dir = mkdtempSync(join(tmpdir(), "brain-ts-models-"));
const toy = writeToyClip(join(dir, "toy"));

/** A real HTTP server over `toy`'s folder, counting requests; `/slow/*` stalls after the headers. */
let server: Server;
let base = "";
const requests: string[] = [];
beforeAll(async () => {
  server = createServer((req, res) => {
    const url = req.url ?? "/";
    requests.push(url);
    if (url.startsWith("/slow/")) {
      res.writeHead(200, { "content-length": "1000" });
      res.write(Buffer.alloc(10));
      return; // never ends
    }
    const path = join(toy.dir, url.replace(/^\/files\//, ""));
    if (!url.startsWith("/files/") || !existsSync(path)) {
      res.writeHead(404).end("not found");
      return;
    }
    const body = readFileSync(path);
    res.writeHead(200, { "content-length": String(body.length) });
    // Two chunks, so progress sees a partial count.
    res.write(body.subarray(0, body.length >> 1));
    setTimeout(() => res.end(body.subarray(body.length >> 1)), 5);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe("models by path", () => {
  it("loads an ONNX file with the manifest next to it, or with one given inline", async () => {
    const image = join(dir, "toy_clip_image.onnx");
    copyFileSync(join(toy.dir, "toy_clip_image.onnx"), image);
    const { text: _t, ...imageOnly } = toy.manifest;
    writeFileSync(join(dir, "toy_clip_image.json"), JSON.stringify({ ...imageOnly, file: "toy_clip_image.onnx" }));
    const model = await loadEmbeddingModel(image);
    expect(model).toBeInstanceOf(OnnxEmbeddingModel);
    expect(model.supportsPrompts).toBe(false);
    expect(model.embedTexts).toBeUndefined();
    const red = await model.embedImages([await solid([255, 0, 0])]);
    expect(Array.from(red.vectors)).toEqual([1, 0, 0]);
    await model.close();

    const inline = await loadEmbeddingModel({ model: join(toy.dir, "toy_clip_image.onnx"), manifest: { input: toy.manifest.input, output: toy.manifest.output } });
    expect(inline.name).toBe("toy_clip_image");
    expect(inline.dim).toBe(3);
    await inline.close();
  });

  it("says what is missing: unknown name, no manifest, a manifest that does not match the model", async () => {
    let err = await brainError(loadEmbeddingModel("no_such_model"));
    expect(err.code).toBe("MODEL_NOT_FOUND");
    expect(err.message).toContain(defaultZooModelName());
    const bare = join(dir, "bare.onnx");
    writeFileSync(bare, toyImageTower());
    err = await brainError(loadEmbeddingModel(bare));
    expect(err.message).toMatch(/has no manifest: write .*bare\.json/);
    err = await brainError(loadEmbeddingModel({ model: bare, manifest: { ...toy.manifest, text: undefined, file: undefined, output: { name: "image_embeds", dim: 4 } } }));
    expect(err).toMatchObject({ code: "MODEL_INVALID", message: expect.stringContaining("dim 4") });
    err = await brainError(loadEmbeddingModel({ model: bare, manifest: { ...toy.manifest, text: undefined, file: undefined, input: { ...toy.manifest.input, name: "x" } } }));
    expect(err.message).toMatch(/has no input 'x'; its inputs are: pixels/);
    err = await brainError(loadEmbeddingModel({ model: bare, manifest: { ...toy.manifest, text: undefined, file: undefined, sha256: "0".repeat(64) } }));
    expect(err.message).toMatch(/has sha256 [0-9a-f]{64}, but .* expects 0{64}/);
  });
});

describe("the model zoo", () => {
  it("lists the default model first, and finds entries of extra zoo files by name", async () => {
    const zoo = listZoo();
    expect(zoo[0].name).toBe("mobilenet_v2_nsfwjs");
    expect(defaultZooModelName()).toBe("mobilenet_v2_nsfwjs");
    const extra = join(dir, "zoo.json");
    writeFileSync(extra, JSON.stringify({ models: [{ ...toy.manifest, name: "toy-clip", description: "generated in the test", file: "toy/toy_clip_image.onnx", text: { ...toy.manifest.text, file: "toy/toy_clip_text.onnx", tokenizer: { ...toy.manifest.text!.tokenizer, vocab: "toy/vocab.json", merges: "toy/merges.txt" } } }] }));
    const paths = [zoo[0].zooFile, extra];
    expect(listZoo(paths).map((e) => e.name)).toEqual(["mobilenet_v2_nsfwjs", "toy-clip"]);
    const model = await loadEmbeddingModel("toy-clip", { zooPaths: paths });
    expect(model.supportsPrompts).toBe(true);
    await model.close();
    writeFileSync(join(dir, "dup.json"), JSON.stringify({ models: [{ name: "mobilenet_v2_nsfwjs", generated: "x.json" }] }));
    expect(() => listZoo([zoo[0].zooFile, join(dir, "dup.json")])).toThrow(/defines 'mobilenet_v2_nsfwjs' again/);
  });

  it("loads the default model by its zoo name", async () => {
    const model = await loadEmbeddingModel("mobilenet_v2_nsfwjs");
    expect(model.dim).toBe(1280);
    await model.close();
  });
});

describe("text prompts on a generated image+text model", () => {
  it("tokenises, encodes and ranks the image of the named colour first", async () => {
    const model = await loadEmbeddingModel(toy.manifestPath);
    expect(model).toBeInstanceOf(ImageTextModel);
    expect(model.supportsPrompts).toBe(true);
    const colours: Array<[string, [number, number, number]]> = [
      ["red", [230, 40, 30]],
      ["green", [20, 210, 60]],
      ["blue", [40, 30, 220]],
    ];
    const images = await model.embedImages(await Promise.all(colours.map(([, c]) => solid(c))));
    expect(images.indices).toEqual([0, 1, 2]);
    const prompts = ["a photo of RED", "Green!", "a   photo of  blue"];
    const texts = await model.embedTexts!(prompts);
    expect(texts.length).toBe(9);
    // "a photo of red" → mean over 77 positions of the red row: [1/77, 0, 0] by the weights' design
    expect(Array.from(texts.subarray(0, 3)).map((v) => Math.round(v * 77 * 1e5) / 1e5)).toEqual(TOY_COLOURS.red);
    prompts.forEach((_, t) => {
      const q = texts.subarray(t * 3, t * 3 + 3);
      const sims = colours.map((_, i) => cosine(q, images.vectors.subarray(i * 3, i * 3 + 3)));
      expect(sims.indexOf(Math.max(...sims))).toBe(t);
    });
    await model.close();
  });

  it("refuses a text tower whose output does not match the image tower", async () => {
    const bad = { ...toy.manifest, output: { name: "image_embeds", dim: 3 }, text: { ...toy.manifest.text!, output: { name: "nope" } } };
    const path = join(toy.dir, "bad_text.json");
    writeFileSync(path, JSON.stringify(bad));
    const err = await brainError(loadEmbeddingModel(path));
    expect(err.message).toMatch(/has no output 'nope'; its outputs are: text_embeds/);
  });
});

describe("models by URL", () => {
  it("downloads the files next to a manifest URL with progress, checks sha256, caches and reuses them", async () => {
    const cacheDir = join(dir, "cache");
    const progress: DownloadProgress[] = [];
    const model = await loadEmbeddingModel(`${base}/files/toy_clip.json`, { cacheDir, progress: (p) => progress.push(p) });
    expect(model.supportsPrompts).toBe(true);
    const files = readdirSync(cacheDir).sort();
    expect(files).toEqual([
      `${toy.manifest.text!.tokenizer.mergesSha256!.slice(0, 12)}-merges.txt`,
      `${toy.manifest.sha256!.slice(0, 12)}-toy_clip_image.onnx`,
      `${toy.manifest.text!.sha256!.slice(0, 12)}-toy_clip_text.onnx`,
      `${toy.manifest.text!.tokenizer.vocabSha256!.slice(0, 12)}-vocab.json`,
    ].sort());
    const image = progress.filter((p) => p.url.endsWith("toy_clip_image.onnx"));
    const size = readFileSync(join(toy.dir, "toy_clip_image.onnx")).length;
    expect(image[0]).toMatchObject({ bytes: 0, totalBytes: size });
    expect(image[image.length - 1]).toMatchObject({ bytes: size, totalBytes: size });
    await model.close();
    // Second load: only the manifest is fetched again, the files come from the cache.
    requests.length = 0;
    // An ONNX URL without a manifest next to it on the server:
    const err = await brainError(loadEmbeddingModel(`${base}/files/toy_clip_image.onnx`, { cacheDir }));
    expect(err).toMatchObject({ code: "MODEL_NOT_FOUND", message: expect.stringContaining("toy_clip_image.json: the server answered 404") });
    const model2 = await loadEmbeddingModel(`${base}/files/toy_clip.json`, { cacheDir });
    expect(requests).toEqual(["/files/toy_clip_image.json", "/files/toy_clip.json"]);
    await model2.close();
  });

  it("accepts an ONNX URL with an inline manifest", async () => {
    const cacheDir = join(dir, "cache2");
    const { text: _t, file: _f, ...rest } = toy.manifest;
    const model = await loadEmbeddingModel({ model: `${base}/files/toy_clip_image.onnx`, manifest: rest }, { cacheDir });
    expect(model.dim).toBe(3);
    await model.close();
    const { sha256: _s, ...noSha } = rest;
    const err = await brainError(loadEmbeddingModel({ model: `${base}/files/toy_clip_image.onnx`, manifest: noSha }, { cacheDir }));
    expect(err.message).toMatch(/sha256/);
  });

  it("keeps nothing when the sha256 is wrong, and reports HTTP errors, unreachable hosts and stalls clearly", async () => {
    const cacheDir = join(dir, "cache3");
    const url = `${base}/files/toy_clip_image.onnx`;
    let err = await brainError(downloadModelFile(url, { sha256: "1".repeat(64), cacheDir }));
    expect(err.code).toBe("MODEL_INVALID");
    expect(err.message).toContain(`has sha256 ${toy.manifest.sha256}, but the manifest expects ${"1".repeat(64)}; the file was not kept`);
    expect(readdirSync(cacheDir)).toEqual([]);

    err = await brainError(downloadModelFile(`${base}/files/missing.onnx`, { sha256: "1".repeat(64), cacheDir }));
    expect(err).toMatchObject({ code: "MODEL_DOWNLOAD_FAILED", message: expect.stringContaining("404") });

    // A port nobody listens on: connection refused, as when offline.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    err = await brainError(downloadModelFile(`http://127.0.0.1:${port}/m.onnx`, { sha256: "1".repeat(64), cacheDir }));
    expect(err.code).toBe("MODEL_DOWNLOAD_FAILED");
    expect(err.message).toMatch(/ECONNREFUSED.*offline or the host unreachable.*local path/);
    err = await brainError(loadEmbeddingModel(`http://127.0.0.1:${port}/m.onnx`, { cacheDir }));
    expect(err.code).toBe("MODEL_DOWNLOAD_FAILED");

    err = await brainError(downloadModelFile(`${base}/slow/m.onnx`, { sha256: "1".repeat(64), cacheDir, idleTimeoutMs: 300 }));
    expect(err).toMatchObject({ code: "MODEL_DOWNLOAD_FAILED", message: expect.stringContaining("after 10 bytes") });
    expect(readdirSync(cacheDir)).toEqual([]);

    // A corrupted cache entry is replaced by a fresh download.
    const sha = toy.manifest.sha256!;
    writeFileSync(cachedPath(url, sha, cacheDir), "garbage");
    const path = await downloadModelFile(url, { sha256: sha, cacheDir });
    expect(sha256(readFileSync(path))).toBe(sha);
  });
});
