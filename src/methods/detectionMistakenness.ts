import { entropy, softmax } from "./hardness";
import { mistakennessFromConfidence, mistakennessFromLogits } from "./mistakenness";
import { filledRegion, keypointSimilarity, Region, regionIou, Shape } from "./shapeOverlap";

/**
 * Detection mistakenness (spec §4.2) for one image, as fiftyone-brain computes it on top of
 * FiftyOne's COCO-style matching with `iou=0.5, classwise=False`:
 * - predictions in descending confidence (None and 0 count as −1; a stable sort, so equal
 *   confidences keep their order); ground truths non-crowd first;
 * - each prediction takes the not-yet-matched ground truth of highest IoU ≥ 0.5 (crowds may
 *   be matched again, only by their own label; on equal IoU the later ground truth wins);
 *   IoU of relative [x, y, w, h] boxes, a crowd's union being the prediction's area;
 * - an unmatched prediction with confidence > 0.95 is *possibly missing* from the ground
 *   truth; an unmatched ground truth is *possibly spurious*; a matched ground truth gets the
 *   classification mistakenness of its prediction (§4.1) and a localisation mistakenness
 *   (c·(2i − 1) + 1)/2 with i = 2·(1 − IoU);
 * - the image's mistakenness is the largest over its matched ground truths, −1 if none.
 * With `copyMissing`, the possibly missing predictions are copied into the ground truth;
 * ground truths carrying the missing attribute (earlier copies) are skipped, and a
 * prediction already copied is not copied again.
 *
 * Temporal detections (geometry "segment") are matched as FiftyOne's ActivityNet
 * evaluation matches them: the same greedy order and tie rule, without crowds, by the IoU
 * of their [first, last] frame supports.
 *
 * Polylines are matched by the IoU of their filled regions when any ground truth of the
 * image is filled, otherwise by the keypoint similarity of all their points; keypoints by
 * their keypoint similarity (src/methods/shapeOverlap.ts). A region FiftyOne cannot build or
 * intersect gives an IoU of 0, as FiftyOne's default error level does (a warning there);
 * such pairs are counted.
 */

export const DETECTION_IOU = 0.5;
export const MISSING_CONFIDENCE = 0.95;

export type Geometry = "box" | "segment" | "polyline" | "keypoints";

export interface DetObject {
  id: string;
  label: string | null;
  /** Relative [x, y, width, height] for boxes (for polylines: the extent of their points); [first, last] frame for segments. */
  box: readonly number[];
  /** Polylines: their shapes; keypoints: one shape, its points (null where missing). */
  shapes?: readonly Shape[];
  closed?: boolean;
  filled?: boolean;
  confidence: number | null;
  logits: ArrayLike<number> | null;
  crowd: boolean;
  /** The object already carries the missing attribute (for ground truths: a copy made by an earlier run). */
  hasMissing: boolean;
}

/** A matched prediction has no logits while they are asked for. */
export class MissingLogitsError extends Error {
  constructor(readonly predId: string) {
    super(`Detection '${predId}' has no logits`);
  }
}

export interface GtScore {
  mistakenness: number;
  loc: number;
}

export interface ImageMistakenness {
  /** Ground-truth id → its scores, for matched ground truths. */
  gtScores: Map<string, GtScore>;
  /** Unmatched ground truths (possibly spurious). */
  spurious: string[];
  /** Unmatched confident predictions (possibly missing), in prediction order. */
  missing: string[];
  /** Missing predictions to append to the ground truth (copyMissing). */
  copies: string[];
  value: number;
  /** Regions or overlaps FiftyOne could not compute (their IoU is 0). */
  failures: number;
}

/** FiftyOne's compute_bbox_iou for 2-D relative boxes. */
export function boxIou(gt: readonly number[], pred: readonly number[], gtCrowd: boolean): number {
  const [gx, gy, gw, gh] = gt;
  const [px, py, pw, ph] = pred;
  const gtArea = gh * gw;
  const predArea = ph * pw;
  const w = Math.min(px + pw, gx + gw) - Math.max(px, gx);
  if (w <= 0) return 0;
  const h = Math.min(py + ph, gy + gh) - Math.max(py, gy);
  if (h <= 0) return 0;
  const inter = h * w;
  const union = gtCrowd ? predArea : predArea + gtArea - inter;
  const iou = union === 0 ? 0 : inter / union;
  return Math.min(iou, 1);
}

/** FiftyOne's segment IoU of two [first, last] supports (lengths last − first; two points are 1 when equal). */
export function segmentIou(gt: readonly number[], pred: readonly number[]): number {
  const [gs, ge] = gt;
  const [ps, pe] = pred;
  const gtLen = ge - gs;
  const predLen = pe - ps;
  if (gtLen === 0 && predLen === 0) return pe === ge ? 1 : 0;
  const inter = Math.min(ge, pe) - Math.max(gs, ps);
  if (inter <= 0) return 0;
  const union = predLen + gtLen - inter;
  return union === 0 ? 0 : Math.min(inter / union, 1);
}

/** The localisation term with a confidence c in [0, 1]. */
export function locMistakenness(c: number, iou: number): number {
  const i = (1.0 / (1.0 - DETECTION_IOU)) * (1.0 - iou);
  return (c * (2.0 * i - 1.0) + 1.0) / 2.0;
}

/** Confidence from logits as the reference uses it: exp(−H(softmax(logits))). */
export function logitsConfidence(logits: ArrayLike<number>): number {
  return Math.exp(-1.0 * entropy(softmax(logits)));
}

/** A filled region per object of one image, built once (null: FiftyOne could not build it). */
function regionsOf(objects: readonly DetObject[]): Map<DetObject, Region | null> {
  return new Map(objects.map((o) => [o, filledRegion(o.shapes ?? [], o.closed ?? false)]));
}

/** All the points of a polyline's shapes, as FiftyOne chains them for line similarity. */
function allPoints(o: DetObject): Shape {
  return (o.shapes ?? []).flat();
}

/**
 * Matches predictions to ground truths: ground-truth id → [prediction id, IoU] of its
 * (first) match; `failures` counts the regions that could not be built and the pairs whose
 * overlap could not be computed (their IoU is 0).
 */
export function matchObjects(
  gts: readonly DetObject[],
  preds: readonly DetObject[],
  geometry: Geometry = "box",
): { gtMatch: Map<string, [string, number]>; predMatched: Set<string>; failures: number } {
  // keypoints sort by their mean confidence, which may be 0; the others treat 0 as None (−1)
  const sortKey = geometry === "keypoints" ? (p: DetObject) => p.confidence ?? -1 : (p: DetObject) => p.confidence || -1;
  const sortedPreds = preds
    .map((p, i) => ({ p, i, key: sortKey(p) }))
    .sort((a, b) => b.key - a.key || a.i - b.i)
    .map((x) => x.p);
  const sortedGts = gts
    .map((g, i) => ({ g, i }))
    .sort((a, b) => Number(a.g.crowd) - Number(b.g.crowd) || a.i - b.i)
    .map((x) => x.g);
  // polylines: areas when any ground truth is filled, else the similarity of their points
  const kind = geometry === "polyline" ? (gts.some((g) => g.filled) ? "polygon" : "lines") : geometry;
  const regions = kind === "polygon" ? regionsOf([...gts, ...preds]) : null;
  let failures = regions ? [...regions.values()].filter((r) => r === null).length : 0;
  const overlap = (gt: DetObject, pred: DetObject): number | null => {
    switch (kind) {
      case "segment":
        return segmentIou(gt.box, pred.box);
      case "keypoints":
      case "lines": {
        // FiftyOne lists only positive similarities (and NaN) as candidates
        const s = kind === "lines" ? keypointSimilarity(allPoints(gt), allPoints(pred)) : keypointSimilarity(gt.shapes?.[0] ?? [], pred.shapes?.[0] ?? []);
        return s <= 0 ? null : s;
      }
      default: {
        // only objects whose boxes touch are candidates (FiftyOne's R-tree query)
        if (!boxesTouch(gt.box, pred.box)) return null;
        if (kind === "box") return boxIou(gt.box, pred.box, gt.crowd);
        const g = regions?.get(gt);
        const p = regions?.get(pred);
        const iou = g && p ? regionIou(g, p, gt.crowd) : 0;
        if (iou === null) failures++;
        return iou ?? 0;
      }
    }
  };
  const gtMatch = new Map<string, [string, number]>();
  const predMatched = new Set<string>();
  const thresh = Math.min(DETECTION_IOU, 1 - 1e-10);
  for (const pred of sortedPreds) {
    let best: DetObject | null = null;
    let bestIou = thresh;
    for (const gt of sortedGts) {
      const iou = overlap(gt, pred);
      if (iou === null) continue;
      if (gtMatch.has(gt.id) && !gt.crowd) continue;
      if (gt.crowd && gt.label !== pred.label) continue;
      if (best && !best.crowd && gt.crowd) break;
      if (iou < bestIou) continue;
      bestIou = iou;
      best = gt;
    }
    if (best) {
      if (!gtMatch.has(best.id)) gtMatch.set(best.id, [pred.id, bestIou]);
      predMatched.add(pred.id);
    }
  }
  return { gtMatch, predMatched, failures };
}

function boxesTouch(a: readonly number[], b: readonly number[]): boolean {
  return a[0] <= b[0] + b[2] && b[0] <= a[0] + a[2] && a[1] <= b[1] + b[3] && b[1] <= a[1] + a[3];
}

export function imageMistakenness(
  gts: readonly DetObject[],
  preds: readonly DetObject[],
  options: { useLogits: boolean; copyMissing: boolean; geometry?: Geometry },
): ImageMistakenness {
  const { gtMatch, predMatched, failures } = matchObjects(gts, preds, options.geometry);
  const predById = new Map(preds.map((p) => [p.id, p]));
  const missing: string[] = [];
  for (const p of preds) {
    if (!predMatched.has(p.id) && (p.confidence as number) > MISSING_CONFIDENCE) missing.push(p.id);
  }
  const toCopy = new Set(missing);
  const gtScores = new Map<string, GtScore>();
  const spurious: string[] = [];
  let value = -Infinity;
  for (const gt of gts) {
    if (options.copyMissing && gt.hasMissing) {
      toCopy.delete(gt.id);
      continue;
    }
    const match = gtMatch.get(gt.id);
    if (!match) {
      spurious.push(gt.id);
      continue;
    }
    const [predId, iou] = match;
    const pred = predById.get(predId) as DetObject;
    const agree = gt.label === pred.label;
    let score: GtScore;
    if (options.useLogits) {
      if (pred.logits === null) throw new MissingLogitsError(pred.id);
      const logits = pred.logits;
      score = { mistakenness: mistakennessFromLogits(logits, agree), loc: locMistakenness(logitsConfidence(logits), iou) };
    } else {
      const c = pred.confidence as number;
      score = { mistakenness: mistakennessFromConfidence(c, agree), loc: locMistakenness(c, iou) };
    }
    gtScores.set(gt.id, score);
    if (Number.isNaN(score.mistakenness) || Number.isNaN(value)) value = NaN; // np.max propagates NaN
    else if (score.mistakenness > value) value = score.mistakenness;
  }
  return {
    gtScores,
    spurious,
    missing,
    copies: options.copyMissing ? missing.filter((id) => toCopy.has(id)) : [],
    value: gtScores.size ? value : -1,
    failures,
  };
}
