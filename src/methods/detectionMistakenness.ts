import { entropy, softmax } from "./hardness";
import { mistakennessFromConfidence, mistakennessFromLogits } from "./mistakenness";

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
 */

export const DETECTION_IOU = 0.5;
export const MISSING_CONFIDENCE = 0.95;

export type Geometry = "box" | "segment";

export interface DetObject {
  id: string;
  label: string | null;
  /** Relative [x, y, width, height] for boxes; [first, last] frame for segments. */
  box: readonly number[];
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

/** Matches predictions to ground truths: ground-truth id → [prediction id, IoU] of its (first) match. */
export function matchObjects(
  gts: readonly DetObject[],
  preds: readonly DetObject[],
  geometry: Geometry = "box",
): { gtMatch: Map<string, [string, number]>; predMatched: Set<string> } {
  const sortedPreds = preds
    .map((p, i) => ({ p, i, key: p.confidence || -1 }))
    .sort((a, b) => b.key - a.key || a.i - b.i)
    .map((x) => x.p);
  const sortedGts = gts
    .map((g, i) => ({ g, i }))
    .sort((a, b) => Number(a.g.crowd) - Number(b.g.crowd) || a.i - b.i)
    .map((x) => x.g);
  const gtMatch = new Map<string, [string, number]>();
  const predMatched = new Set<string>();
  const thresh = Math.min(DETECTION_IOU, 1 - 1e-10);
  for (const pred of sortedPreds) {
    let best: DetObject | null = null;
    let bestIou = thresh;
    for (const gt of sortedGts) {
      let iou: number;
      if (geometry === "segment") {
        iou = segmentIou(gt.box, pred.box);
      } else {
        // only boxes that touch are candidates (FiftyOne's R-tree query)
        if (!boxesTouch(gt.box, pred.box)) continue;
        iou = boxIou(gt.box, pred.box, gt.crowd);
      }
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
  return { gtMatch, predMatched };
}

function boxesTouch(a: readonly number[], b: readonly number[]): boolean {
  return a[0] <= b[0] + b[2] && b[0] <= a[0] + a[2] && a[1] <= b[1] + b[3] && b[1] <= a[1] + a[3];
}

export function imageMistakenness(
  gts: readonly DetObject[],
  preds: readonly DetObject[],
  options: { useLogits: boolean; copyMissing: boolean; geometry?: Geometry },
): ImageMistakenness {
  const { gtMatch, predMatched } = matchObjects(gts, preds, options.geometry);
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
  };
}
