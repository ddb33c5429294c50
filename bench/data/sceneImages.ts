import { mkdirSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";

/**
 * Synthetic scenes rendered offline with sharp (SVG: gradient background, random
 * shapes, stripes), with near copies made by the edits people make to images: resize,
 * JPEG re-encode, crop up to 10%, brightness ±20%, small rotation. Deterministic.
 */
export const EDITS = ["resize", "jpeg", "crop", "brightness", "rotate"] as const;
export type Edit = (typeof EDITS)[number];

export interface SceneRecord {
  filepath: string;
  /** Index of the original this image shows (itself for an original). */
  origin: number;
  edit: Edit | null;
  split: "train" | "test";
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

function sceneSvg(seed: number, size: number): string {
  const r = rng(seed * 7919 + 1);
  const colour = () => `rgb(${Math.floor(r() * 256)},${Math.floor(r() * 256)},${Math.floor(r() * 256)})`;
  const parts: string[] = [
    `<defs><linearGradient id="g" x1="0" y1="0" x2="${r().toFixed(2)}" y2="1"><stop offset="0" stop-color="${colour()}"/><stop offset="1" stop-color="${colour()}"/></linearGradient></defs>`,
    `<rect width="${size}" height="${size}" fill="url(#g)"/>`,
  ];
  const stripes = Math.floor(r() * 12);
  const angle = Math.floor(r() * 180);
  for (let k = 0; k < stripes; k++) {
    parts.push(`<rect x="${-size}" y="${(k * size * 3) / 12 - size}" width="${size * 3}" height="${(size / 40) * (1 + r() * 3)}" fill="${colour()}" opacity="0.5" transform="rotate(${angle} ${size / 2} ${size / 2})"/>`);
  }
  const shapes = 5 + Math.floor(r() * 6);
  for (let k = 0; k < shapes; k++) {
    const x = r() * size;
    const y = r() * size;
    const s = size * (0.08 + r() * 0.25);
    const kind = Math.floor(r() * 3);
    if (kind === 0) parts.push(`<circle cx="${x}" cy="${y}" r="${s / 2}" fill="${colour()}"/>`);
    else if (kind === 1) parts.push(`<rect x="${x}" y="${y}" width="${s}" height="${s * (0.4 + r())}" fill="${colour()}" transform="rotate(${Math.floor(r() * 90)} ${x} ${y})"/>`);
    else parts.push(`<polygon points="${x},${y} ${x + s},${y + s * r()} ${x - s * r()},${y + s}" fill="${colour()}"/>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}">${parts.join("")}</svg>`;
}

async function edit(src: string, dst: string, kind: Edit, size: number, r: () => number): Promise<void> {
  const img = sharp(src);
  if (kind === "resize") {
    const small = Math.round(size * (0.5 + 0.3 * r()));
    await img.resize(small, small).png().toFile(dst);
  } else if (kind === "jpeg") {
    await img.jpeg({ quality: 50 + Math.floor(r() * 35) }).toFile(dst);
  } else if (kind === "crop") {
    const c = Math.round(size * (0.03 + 0.07 * r())); // up to 10% of each side
    const x = Math.round(c * r());
    const y = Math.round(c * r());
    await img.extract({ left: x, top: y, width: size - c, height: size - c }).png().toFile(dst);
  } else if (kind === "brightness") {
    await img.modulate({ brightness: r() < 0.5 ? 0.8 + 0.05 * r() : 1.15 + 0.05 * r() }).png().toFile(dst);
  } else {
    const degrees = (r() < 0.5 ? -1 : 1) * (2 + 3 * r());
    const rotated = await img.rotate(degrees, { background: { r: 0, g: 0, b: 0 } }).png().toBuffer();
    const meta = await sharp(rotated).metadata();
    const w = meta.width!;
    const c = Math.round((w - size) / 2 + size * 0.05); // cut the black corners
    await sharp(rotated).extract({ left: c, top: c, width: w - 2 * c, height: w - 2 * c }).png().toFile(dst);
  }
}

export interface SceneOptions {
  originals: number;
  /** Near copies in the same split as their original. */
  nearDuplicates: number;
  /** Near copies of train images placed in test. */
  leaks: number;
  size?: number;
  testFraction?: number;
}

export async function writeSceneImages(dir: string, options: SceneOptions): Promise<SceneRecord[]> {
  mkdirSync(dir, { recursive: true });
  const size = options.size ?? 256;
  const records: SceneRecord[] = [];
  const testFrom = Math.floor(options.originals * (1 - (options.testFraction ?? 0.2)));
  for (let i = 0; i < options.originals; i++) {
    const filepath = join(dir, `scene_${String(i).padStart(5, "0")}.png`);
    // A slight blur: rendered edges are sharper than a camera's.
    await sharp(Buffer.from(sceneSvg(i, size))).blur(1.2).png().toFile(filepath);
    records.push({ filepath, origin: i, edit: null, split: i >= testFrom ? "test" : "train" });
  }
  const r = rng(12345);
  const copies = options.nearDuplicates + options.leaks;
  for (let k = 0; k < copies; k++) {
    const leak = k >= options.nearDuplicates;
    // Spread sources over the originals (train ones for leaks), each used once.
    const span = leak ? testFrom : options.originals;
    const of = Math.floor(((k + 0.5) * span) / copies) % span;
    const kind = EDITS[k % EDITS.length];
    const filepath = join(dir, `copy_${String(k).padStart(4, "0")}_${kind}.${kind === "jpeg" ? "jpg" : "png"}`);
    await edit(records[of].filepath, filepath, kind, size, r);
    records.push({ filepath, origin: of, edit: kind, split: leak ? "test" : records[of].split });
  }
  return records;
}
