/**
 * Object patches as FiftyOne extracts them for patch embeddings (spec §0.1):
 * a Detection's relative `[x, y, w, h]` box, or a Polyline's tight box around all its
 * points; optionally expanded (or shrunk) by `100·alpha %` of its width and height with
 * the result clamped to the image; converted to pixels by truncation (`int(W·x)`); and
 * optionally made square by growing the short side (shrinking the long side only when
 * the square cannot fit), as FiftyOne's `extract_patch(force_square=True)` does.
 */
export interface PatchOptions {
  /** Box expansion ≥ -1 (0.1 = 10% larger); undefined = none. */
  alpha?: number;
  forceSquare?: boolean;
}

/** A pixel rectangle: columns [left, left+width), rows [top, top+height). */
export interface PixelBox {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Relative [x, y, w, h] of a stored Detection or Polyline document; null if it has neither. */
export function relativeBox(label: Record<string, unknown>): [number, number, number, number] | null {
  const bb = label.bounding_box;
  if (Array.isArray(bb) && bb.length === 4 && bb.every((v) => typeof v === "number")) return bb as [number, number, number, number];
  const shapes = label.points;
  if (Array.isArray(shapes)) {
    let x0 = Infinity;
    let y0 = Infinity;
    let x1 = -Infinity;
    let y1 = -Infinity;
    for (const shape of shapes) {
      if (!Array.isArray(shape)) continue;
      for (const p of shape) {
        if (!Array.isArray(p) || typeof p[0] !== "number" || typeof p[1] !== "number") continue;
        x0 = Math.min(x0, p[0]);
        y0 = Math.min(y0, p[1]);
        x1 = Math.max(x1, p[0]);
        y1 = Math.max(y1, p[1]);
      }
    }
    // A polyline without points has FiftyOne's empty box.
    return Number.isFinite(x0) ? [x0, y0, x1 - x0, y1 - y0] : [0, 0, 0, 0];
  }
  return null;
}

interface Span {
  start: number;
  stop: number;
}

/** Grows the shorter span to the longer one's length within [0, w) × [0, h) (FiftyOne's rule). */
function makeSquare(x: Span, y: Span, w: number, h: number): [Span, Span] {
  const ws = x.stop - x.start;
  const hs = y.stop - y.start;
  const dx = hs - ws;
  if (dx < 0) {
    const [sy, sx] = makeSquare(y, x, h, w);
    return [sx, sy];
  }
  const pad = (z: Span, dz: number, zmax: number): Span => {
    const dz1 = Math.trunc(0.5 * dz);
    const dz2 = dz - dz1;
    const ddz = Math.max(0, dz1 - z.start) - Math.max(0, z.stop + dz2 - zmax);
    return { start: z.start - dz1 + ddz, stop: z.stop + dz2 + ddz };
  };
  const dy = Math.min(0, w - dx - ws);
  return [pad(x, dx + dy, w), pad(y, dy, h)];
}

/**
 * The pixel rectangle of a relative box in a width × height image, or null when it is
 * empty. Pixel bounds are clamped to the image (FiftyOne's numpy slicing would wrap a
 * negative start around instead).
 */
export function patchPixels(box: readonly number[], width: number, height: number, options: PatchOptions = {}): PixelBox | null {
  let [tlx, tly, bw, bh] = box;
  let brx = tlx + bw;
  let bry = tly + bh;
  if (options.alpha !== undefined && options.alpha !== null) {
    const alpha = Math.max(options.alpha, -1);
    const wpad = 0.5 * alpha * (brx - tlx);
    const hpad = 0.5 * alpha * (bry - tly);
    const clamp = (v: number) => Math.max(0, Math.min(v, 1));
    [tlx, tly, brx, bry] = [clamp(tlx - wpad), clamp(tly - hpad), clamp(brx + wpad), clamp(bry + hpad)];
  }
  const px = (v: number, size: number) => Math.min(size, Math.max(0, Math.trunc(size * v)));
  let x: Span = { start: px(tlx, width), stop: px(brx, width) };
  let y: Span = { start: px(tly, height), stop: px(bry, height) };
  if (options.forceSquare) [x, y] = makeSquare(x, y, width, height);
  const left = Math.max(0, x.start);
  const top = Math.max(0, y.start);
  const w = Math.min(width, x.stop) - left;
  const h = Math.min(height, y.stop) - top;
  return w > 0 && h > 0 ? { left, top, width: w, height: h } : null;
}
