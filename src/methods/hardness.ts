/**
 * Hardness (spec §3): the Shannon entropy (natural log) of softmax(logits), with the
 * reference's exact arithmetic: scipy.special.softmax over all elements (shifted by the
 * maximum), then scipy.stats.entropy (renormalised by the sum, 0·log 0 = 0).
 */

/** scipy.special.softmax over every element: exp(x - max) / sum. */
export function softmax(logits: ArrayLike<number>): Float64Array {
  const n = logits.length;
  const out = new Float64Array(n);
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = logits[i];
    if (Number.isNaN(v)) {
      max = NaN; // np.amax propagates NaN
      break;
    }
    if (v > max) max = v;
  }
  let sum = 0;
  for (let i = 0; i < n; i++) {
    out[i] = Math.exp(logits[i] - max);
    sum += out[i];
  }
  for (let i = 0; i < n; i++) out[i] /= sum;
  return out;
}

/** scipy.stats.entropy(pk): pk / sum(pk), then Σ entr(p) with entr(0) = 0 and entr(p < 0) = -inf. */
export function entropy(pk: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < pk.length; i++) sum += pk[i];
  let s = 0;
  for (let i = 0; i < pk.length; i++) {
    const p = pk[i] / sum;
    if (p > 0) s += -p * Math.log(p);
    else if (p < 0) s += -Infinity;
    else if (Number.isNaN(p)) s += NaN;
  }
  return s;
}

/** Hardness of one prediction: entropy(softmax(logits)), in [0, ln C]. */
export function hardness(logits: ArrayLike<number>): number {
  return entropy(softmax(logits));
}
