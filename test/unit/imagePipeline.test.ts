import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { BrainError } from "../../src/errors";
import { decodeRgb, type InputSpec, preprocessBatch, preprocessImage, writeTensor } from "../../src/embeddings/imagePipeline";

const spec = (over: Partial<InputSpec> = {}): InputSpec => ({
  name: "input",
  layout: "NCHW",
  channels: "RGB",
  height: 2,
  width: 2,
  resize: "fill",
  scale: 1 / 255,
  mean: [0, 0, 0],
  std: [1, 1, 1],
  ...over,
});

/** A solid w×h PNG, or with `right` a left/right split. */
function png(w: number, h: number, left: [number, number, number], right = left, channels: 1 | 3 | 4 = 3): Promise<Buffer> {
  const raw = Buffer.alloc(w * h * channels);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const c = x < w / 2 ? left : right;
      for (let k = 0; k < channels; k++) raw[(y * w + x) * channels + k] = k < 3 ? c[k] : 128;
    }
  return sharp(raw, { raw: { width: w, height: h, channels } }).png().toBuffer();
}

describe("writeTensor", () => {
  // 2×2 image: pixels p0..p3 = (10,20,30) (40,50,60) (70,80,90) (100,110,120)
  const rgb = Uint8Array.from([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120]);

  it("writes NCHW planes scaled to [0, 1]", () => {
    const out = new Float32Array(12);
    writeTensor(rgb, spec(), out);
    expect(Array.from(out, (v) => Math.round(v * 255))).toEqual([10, 40, 70, 100, 20, 50, 80, 110, 30, 60, 90, 120]);
  });

  it("applies mean/std, BGR order and NHWC layout, in the batch slot asked for", () => {
    const out = new Float32Array(24);
    writeTensor(rgb, spec({ layout: "NHWC", channels: "BGR", scale: 1, mean: [10, 20, 30], std: [1, 2, 3] }), out, 1);
    expect(Array.from(out.subarray(0, 12))).toEqual(new Array(12).fill(0));
    // per pixel: B' = (B - 30) / 3, G' = (G - 20) / 2, R' = R - 10
    expect(Array.from(out.subarray(12), (v) => Math.round(v * 1000) / 1000)).toEqual([0, 0, 0, 10, 15, 30, 20, 30, 60, 30, 45, 90]);
    expect(() => writeTensor(rgb, spec(), out, 2)).toThrow(/outside the batch/);
  });
});

describe("decodeRgb", () => {
  it("turns grayscale and RGBA into RGB, and resizes to the model's size", async () => {
    const gray = await decodeRgb(await png(8, 6, [77, 0, 0], [77, 0, 0], 1), spec({ width: 4, height: 3 }));
    expect(gray.length).toBe(4 * 3 * 3);
    expect(new Set(gray)).toEqual(new Set([77]));
    const rgba = await decodeRgb(await png(8, 6, [200, 100, 50], [200, 100, 50], 4), spec({ width: 4, height: 3 }));
    // sharp resizes with premultiplied alpha before dropping it: ±1 from rounding.
    Array.from(rgba.subarray(0, 3)).forEach((v, i) => expect(Math.abs(v - [200, 100, 50][i])).toBeLessThanOrEqual(1));
  });

  it("applies the EXIF orientation", async () => {
    // 40×20, red left half, blue right half; orientation 6 = displayed rotated 90° clockwise,
    // so the displayed image is 20×40 with red on top.
    const jpeg = await sharp(await png(40, 20, [255, 0, 0], [0, 0, 255])).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
    const rgb = await decodeRgb(jpeg, spec({ width: 20, height: 40 }));
    const at = (x: number, y: number) => Array.from(rgb.subarray((y * 20 + x) * 3, (y * 20 + x) * 3 + 3));
    expect(at(10, 2)[0]).toBeGreaterThan(200);
    expect(at(10, 2)[2]).toBeLessThan(50);
    expect(at(10, 37)[2]).toBeGreaterThan(200);
    expect(at(10, 37)[0]).toBeLessThan(50);
  });

  it("crops for 'cover' and stretches for 'fill'", async () => {
    // 30×10: thirds red / green / blue.
    const raw = Buffer.alloc(30 * 10 * 3);
    for (let y = 0; y < 10; y++) for (let x = 0; x < 30; x++) raw[(y * 30 + x) * 3 + Math.floor(x / 10)] = 255;
    const img = await sharp(raw, { raw: { width: 30, height: 10, channels: 3 } }).png().toBuffer();
    const cover = await decodeRgb(img, spec({ width: 10, height: 10, resize: "cover" }));
    expect(Array.from(cover.subarray(0, 3))).toEqual([0, 255, 0]); // only the green middle is left
    const fill = await decodeRgb(img, spec({ width: 3, height: 1, resize: "fill" }));
    expect(Array.from(fill).map((v) => (v > 200 ? 1 : 0))).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
  });

  it("reports undecodable files as MEDIA_UNREADABLE, naming them", async () => {
    const dir = mkdtempSync(join(tmpdir(), "brain-ts-img-"));
    const bad = join(dir, "bad.jpg");
    writeFileSync(bad, "this is not a jpeg");
    const err = await decodeRgb(bad, spec()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BrainError);
    expect(err).toMatchObject({ code: "MEDIA_UNREADABLE", message: expect.stringContaining(bad) });
    const truncated = join(dir, "truncated.png");
    writeFileSync(truncated, (await png(64, 64, [1, 2, 3], [200, 100, 0])).subarray(0, 60));
    await expect(decodeRgb(truncated, spec())).rejects.toMatchObject({ code: "MEDIA_UNREADABLE" });
    await expect(decodeRgb(join(dir, "missing.png"), spec())).rejects.toMatchObject({ code: "MEDIA_UNREADABLE" });
  });
});

describe("preprocessBatch", () => {
  it("packs the images that decode, in order, and reports the others", async () => {
    const dir = mkdtempSync(join(tmpdir(), "brain-ts-img-"));
    const bad = join(dir, "bad.png");
    writeFileSync(bad, "nope");
    const red = await png(4, 4, [255, 0, 0]);
    const blue = await png(4, 4, [0, 0, 255]);
    const batch = await preprocessBatch([red, bad, blue], spec());
    expect(batch.indices).toEqual([0, 2]);
    expect(batch.failures).toEqual([{ index: 1, error: expect.stringContaining(bad) }]);
    expect(batch.data.length).toBe(2 * 12);
    expect(Array.from(batch.data)).toEqual([...[1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0], ...[0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]]);
    await expect(preprocessBatch([red, bad], spec(), false)).rejects.toMatchObject({ code: "MEDIA_UNREADABLE" });
    expect(Array.from(await preprocessImage(blue, spec())).slice(8)).toEqual([1, 1, 1, 1]);
  });
});
