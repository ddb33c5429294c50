import { entropy, softmax } from "./hardness";

/**
 * Classification mistakenness (spec §4.1), the reference's formulas exactly:
 * m = agree ? -1 : +1, then (m·confidence + 1) / 2, or with logits (m·exp(-H(softmax)) + 1) / 2.
 */

/** A classification prediction or ground truth as the formula needs it. */
export interface ClassLabel {
  /** One label (Classification) or the labels of a Classifications (compared as sets). */
  labels: readonly string[];
  confidence?: number | null;
  logits?: ArrayLike<number> | null;
}

/** Agreement as the reference decides it: equal label, or equal label sets for multi-label. */
export function labelsAgree(pred: ClassLabel, gt: ClassLabel): boolean {
  const a = new Set(pred.labels);
  const b = new Set(gt.labels);
  return a.size === b.size && [...a].every((l) => b.has(l));
}

export function mistakennessFromConfidence(confidence: number, agree: boolean): number {
  const m = (agree ? 1 : 0) * -2.0 + 1.0;
  return (m * confidence + 1.0) / 2.0;
}

export function mistakennessFromLogits(logits: ArrayLike<number>, agree: boolean): number {
  const m = (agree ? 1 : 0) * -2.0 + 1.0;
  const c = -1.0 * entropy(softmax(logits));
  return (m * Math.exp(c) + 1.0) / 2.0;
}

/**
 * One sample's mistakenness, or null when it has neither a prediction nor a ground truth.
 * Reproduced from the reference on purpose (spec §14.7): a prediction without ground truth
 * counts as *agreement* (low mistakenness), and a missing prediction scores 1.
 * The caller checks that the needed confidence / logits are present.
 */
export function classificationMistakenness(pred: ClassLabel | null, gt: ClassLabel | null, useLogits: boolean): number | null {
  if (pred === null && gt === null) return null;
  if (pred === null) return 1.0;
  const agree = gt === null ? true : labelsAgree(pred, gt);
  if (useLogits) {
    if (pred.logits === null || pred.logits === undefined) throw new Error("no logits");
    return mistakennessFromLogits(pred.logits, agree);
  }
  if (pred.confidence === null || pred.confidence === undefined) throw new Error("no confidence");
  return mistakennessFromConfidence(pred.confidence, agree);
}
