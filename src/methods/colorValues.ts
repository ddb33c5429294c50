/**
 * Turns one field value per point into what a scatter plot colours by: categories (at
 * most `maxCategories`, the rest folded into "other") or a continuous range.
 */
export const MAX_CATEGORIES = 100;
/** The code of a point without a value. */
export const MISSING_CODE = 0xffff;
export const OTHER_CATEGORY = "(other)";

export type ColorValues =
  | { kind: "categorical"; categories: string[]; codes: Uint16Array; counts: number[] }
  | { kind: "continuous"; values: Float32Array; min: number; max: number };

/** A value as the plot sees it: lists give their first element (as FiftyOne's own panel does). */
export type ColorValue = string | number | boolean | null;

/** `float`: the field holds floats, so its values are continuous even when they look like integers. */
export function colorValues(values: readonly ColorValue[], options: { float?: boolean; maxCategories?: number } = {}): ColorValues {
  const maxCategories = options.maxCategories ?? MAX_CATEGORIES;
  const present = values.filter((v): v is string | number | boolean => v !== null);
  const numeric = present.length > 0 && present.every((v) => typeof v === "number");
  const distinct = new Map<string, number>();
  for (const v of present) distinct.set(String(v), (distinct.get(String(v)) ?? 0) + 1);
  const integers = numeric && !options.float && present.every((v) => Number.isInteger(v));
  if (numeric && (!integers || distinct.size > maxCategories)) {
    const out = new Float32Array(values.length);
    let min = Infinity;
    let max = -Infinity;
    values.forEach((v, i) => {
      if (typeof v === "number" && Number.isFinite(v)) {
        out[i] = v;
        if (v < min) min = v;
        if (v > max) max = v;
      } else out[i] = NaN;
    });
    return { kind: "continuous", values: out, min: Number.isFinite(min) ? min : 0, max: Number.isFinite(max) ? max : 0 };
  }
  // Categories in natural order (numbers numerically); beyond the limit the rarest become "other".
  let categories = [...distinct.keys()].sort((a, b) => (integers ? Number(a) - Number(b) : a.localeCompare(b)));
  let folded = false;
  if (categories.length > maxCategories) {
    const keep = new Set([...distinct.entries()].sort((a, b) => b[1] - a[1]).slice(0, maxCategories - 1).map(([k]) => k));
    categories = categories.filter((c) => keep.has(c));
    folded = true;
  }
  const index = new Map(categories.map((c, i) => [c, i]));
  const other = folded ? categories.push(OTHER_CATEGORY) - 1 : -1;
  const codes = new Uint16Array(values.length);
  const counts = new Array<number>(categories.length).fill(0);
  values.forEach((v, i) => {
    if (v === null) {
      codes[i] = MISSING_CODE;
      return;
    }
    const code = index.get(String(v)) ?? other;
    codes[i] = code;
    counts[code]++;
  });
  return { kind: "categorical", categories, codes, counts };
}
