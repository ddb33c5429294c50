import { intersection, MultiPolygon, Pair, union } from "polygon-clipping";

/**
 * Overlap of polylines and keypoints as FiftyOne's evaluation measures it (fiftyone.utils.iou),
 * in relative coordinates:
 * - filled shapes: the IoU of their areas; each polyline's shapes become one polygon each,
 *   merged into one region (Shapely's unary_union), and a polyline has no area at all when
 *   Shapely fails on it: a shape it cannot make a ring of (fewer than 3 positions), or
 *   several shapes one of which crosses itself (GEOS's union rejects them). One shape
 *   crossing itself is repaired as GEOS's buffer(0) repairs it: only its loops wound the
 *   way the whole ring is wound (the sign of its signed area) are kept;
 * - lines and keypoints: object keypoint similarity (COCO's OKS with κ = 1), the scale being
 *   the square root of the area of the ground truth points' extent.
 */

export type Point = readonly [number, number];
export type Shape = readonly Point[];

export interface Region {
  polygons: MultiPolygon;
  area: number;
}

const EMPTY: Region = { polygons: [], area: 0 };

/** Shapely's rule for a polygon shell: at least 4 coordinates once closed (first point repeated). */
function isRing(shape: readonly Point[]): boolean {
  if (shape.length === 0) return true; // an empty polygon, no error
  const first = shape[0];
  const last = shape[shape.length - 1];
  const closedLength = shape.length + (first[0] === last[0] && first[1] === last[1] ? 0 : 1);
  return closedLength >= 4;
}

/** Twice the signed area (positive counter-clockwise). */
function signedArea2(ring: readonly Pair[]): number {
  let s = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) s += (ring[j][0] + ring[i][0]) * (ring[i][1] - ring[j][1]);
  return s;
}

function ringArea(ring: readonly Pair[]): number {
  return Math.abs(signedArea2(ring)) / 2;
}

/** The winding number of the ring around a point not on it. */
function windingNumber(ring: readonly Pair[], [x, y]: Pair): number {
  let w = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [ax, ay] = ring[j];
    const [bx, by] = ring[i];
    const side = (bx - ax) * (y - ay) - (x - ax) * (by - ay);
    if (ay <= y && by > y && side > 0) w++;
    else if (ay > y && by <= y && side < 0) w--;
  }
  return w;
}

/** A point strictly inside a (valid) polygon: the middle of the first span of a scanline between its two lowest vertex levels. */
function interiorPoint(polygon: readonly (readonly Pair[])[]): Pair {
  const levels = [...new Set(polygon[0].map((p) => p[1]))].sort((a, b) => a - b);
  const y = (levels[0] + levels[1]) / 2;
  const xs: number[] = [];
  for (const ring of polygon) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [ax, ay] = ring[j];
      const [bx, by] = ring[i];
      if (ay <= y !== by <= y) xs.push(ax + ((y - ay) * (bx - ax)) / (by - ay));
    }
  }
  xs.sort((a, b) => a - b);
  return [(xs[0] + xs[1]) / 2, y];
}

/** GEOS's buffer(0) of a ring crossing itself: the loops wound like the whole ring. */
function repairedRing(ring: readonly Pair[]): MultiPolygon {
  const sign = Math.sign(signedArea2(ring));
  return union([ring as Pair[]]).filter((polygon) => Math.sign(windingNumber(ring, interiorPoint(polygon))) === sign);
}

export function multiPolygonArea(mp: MultiPolygon): number {
  let area = 0;
  for (const [outer, ...holes] of mp) {
    area += ringArea(outer);
    for (const hole of holes) area -= ringArea(hole);
  }
  return area;
}

/** Segments pq and rs share a point (touching counts). */
function segmentsMeet(p: Pair, q: Pair, r: Pair, t: Pair): boolean {
  const o = (a: Pair, b: Pair, c: Pair) => Math.sign((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]));
  const on = (a: Pair, b: Pair, c: Pair) =>
    Math.min(a[0], b[0]) <= c[0] && c[0] <= Math.max(a[0], b[0]) && Math.min(a[1], b[1]) <= c[1] && c[1] <= Math.max(a[1], b[1]);
  const [o1, o2, o3, o4] = [o(p, q, r), o(p, q, t), o(r, t, p), o(r, t, q)];
  if (o1 !== o2 && o3 !== o4 && o1 * o2 <= 0 && o3 * o4 <= 0 && (o1 !== 0 || o2 !== 0)) return true;
  return (o1 === 0 && on(p, q, r)) || (o2 === 0 && on(p, q, t)) || (o3 === 0 && on(r, t, p)) || (o4 === 0 && on(r, t, q));
}

/** A closed ring whose edges cross or touch other than where consecutive edges join. */
export function crossesItself(ring: readonly Pair[]): boolean {
  // repeated positions (and the closing one) are not edges
  const pts = ring.filter((p, i) => {
    const prev = ring[(i + ring.length - 1) % ring.length];
    return p[0] !== prev[0] || p[1] !== prev[1];
  });
  const n = pts.length;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const adjacent = j === i + 1 || (i === 0 && j === n - 1);
      const [a, b, c, d] = [pts[i], pts[(i + 1) % n], pts[j], pts[(j + 1) % n]];
      if (adjacent) {
        // consecutive edges meet at their shared vertex; folding back over each other is a crossing
        const shared = j === i + 1 ? b : a;
        const [u, v] = j === i + 1 ? [a, d] : [b, c];
        const cross = (u[0] - shared[0]) * (v[1] - shared[1]) - (u[1] - shared[1]) * (v[0] - shared[0]);
        const dot = (u[0] - shared[0]) * (v[0] - shared[0]) + (u[1] - shared[1]) * (v[1] - shared[1]);
        if (cross === 0 && dot > 0) return true;
      } else if (segmentsMeet(a, b, c, d)) return true;
    }
  }
  return false;
}

/**
 * The filled region of a polyline's shapes; `closed` repeats each shape's first point, as
 * FiftyOne's to_shapely does. Returns `null` when Shapely would reject a shape (FiftyOne
 * then logs a warning and uses an empty polygon) or the clipping fails.
 */
export function filledRegion(shapes: readonly Shape[], closed: boolean): Region | null {
  const rings: Pair[][] = [];
  for (const shape of shapes) {
    const ring = (closed && shape.length ? [...shape, shape[0]] : [...shape]) as Pair[];
    if (!isRing(ring)) return null;
    if (ring.length) rings.push(ring);
  }
  if (rings.length === 0) return EMPTY;
  try {
    let polygons: MultiPolygon;
    if (rings.length === 1) polygons = crossesItself(rings[0]) ? repairedRing(rings[0]) : union([rings[0]]);
    else if (rings.some(crossesItself)) return null;
    else polygons = union(rings.map((r) => [r]));
    return { polygons, area: multiPolygonArea(polygons) };
  } catch {
    return null;
  }
}

/** IoU of two filled regions; a crowd's union is the prediction's area. `null` when the clipping fails. */
export function regionIou(gt: Region, pred: Region, gtCrowd: boolean): number | null {
  if (gt.polygons.length === 0 || pred.polygons.length === 0) return 0;
  let inter: number;
  try {
    inter = multiPolygonArea(intersection(gt.polygons, pred.polygons));
  } catch {
    return null;
  }
  const union = gtCrowd ? pred.area : pred.area + gt.area - inter;
  return union === 0 ? 0 : Math.min(inter / union, 1);
}

/** A coordinate of a point; a point given as null (FiftyOne's missing keypoint) reads as NaN. */
function coord(p: Point | null | undefined, i: 0 | 1): number {
  const v = p?.[i];
  return typeof v === "number" ? v : NaN;
}

/**
 * Object keypoint similarity of the predicted points to the ground truth's, pairwise in
 * order over the shorter list: ground-truth points that are not finite are left out, a
 * non-finite predicted point counts at distance 1; 0 when no pair is left. NaN where numpy
 * gives NaN (a ground truth whose points have no extent).
 */
export function keypointSimilarity(gt: readonly (Point | null)[], pred: readonly (Point | null)[]): number {
  let minX = NaN;
  let maxX = NaN;
  let minY = NaN;
  let maxY = NaN;
  for (const p of gt) {
    const x = coord(p, 0);
    const y = coord(p, 1);
    // numpy's nanmin/nanmax over each column
    if (!Number.isNaN(x)) {
      if (!(x >= minX)) minX = x;
      if (!(x <= maxX)) maxX = x;
    }
    if (!Number.isNaN(y)) {
      if (!(y >= minY)) minY = y;
      if (!(y <= maxY)) maxY = y;
    }
  }
  const scale = Math.max(0, Math.min(Math.sqrt((maxX - minX) * (maxY - minY)), 1));
  const denominator = 2 * scale * scale;
  let sum = 0;
  let n = 0;
  const count = Math.min(gt.length, pred.length);
  for (let i = 0; i < count; i++) {
    const gx = coord(gt[i], 0);
    const gy = coord(gt[i], 1);
    if (!Number.isFinite(gx) || !Number.isFinite(gy)) continue;
    const px = coord(pred[i], 0);
    const py = coord(pred[i], 1);
    const d = Number.isFinite(px) && Number.isFinite(py) ? Math.hypot(gx - px, gy - py) : 1;
    sum += Math.exp(-(d * d) / denominator);
    n++;
  }
  return n === 0 ? 0 : sum / n;
}
