/**
 * The compute_visualization form's parameters: which apply to each method, their defaults
 * (the reference's), their checks, and what is sent to the runtime. Pure, unit-tested.
 */
export type VisualizationMethod = "umap" | "tsne" | "pca" | "manual";
export const VISUALIZATION_METHODS: VisualizationMethod[] = ["umap", "tsne", "pca", "manual"];

export const METHOD_LABELS: Record<VisualizationMethod, string> = {
  umap: "UMAP",
  tsne: "t-SNE",
  pca: "PCA",
  manual: "Manual (points from a field)",
};

export interface NumberParam {
  name: string;
  label: string;
  description: string;
  default: number;
  integer: boolean;
  min: number;
  /** Exclusive lower bound when true. */
  minExclusive?: boolean;
}

export const METHOD_PARAMS: Record<VisualizationMethod, NumberParam[]> = {
  umap: [
    { name: "num_neighbors", label: "Neighbours", description: "Size of the local neighbourhood (more = more global structure)", default: 15, integer: true, min: 2 },
    { name: "min_dist", label: "Minimum distance", description: "How tightly points may pack in the layout (0–1)", default: 0.1, integer: false, min: 0 },
  ],
  tsne: [
    { name: "perplexity", label: "Perplexity", description: "Effective number of neighbours (typically 5–50; below the number of samples)", default: 30, integer: false, min: 0, minExclusive: true },
    { name: "learning_rate", label: "Learning rate", description: "Typically 10–1000", default: 200, integer: false, min: 0, minExclusive: true },
    { name: "max_iters", label: "Iterations", description: "At least 250", default: 1000, integer: true, min: 1 },
    { name: "pca_dims", label: "PCA dimensions first", description: "Project higher-dimensional embeddings onto this many principal components before t-SNE", default: 50, integer: true, min: 2 },
  ],
  pca: [],
  manual: [],
};

/** The method's number inputs on the form: t-SNE's learning rate is hidden when it is automatic. */
export function shownParams(method: VisualizationMethod, params: Record<string, unknown>): NumberParam[] {
  return METHOD_PARAMS[method].filter((p) => !(p.name === "learning_rate" && params.auto_learning_rate));
}

export function chosenMethod(value: unknown): VisualizationMethod {
  return VISUALIZATION_METHODS.includes(value as VisualizationMethod) ? (value as VisualizationMethod) : "umap";
}

export function numberParamError(param: NumberParam, value: unknown): string | null {
  if (value === undefined || value === null || value === "") return null;
  const v = typeof value === "number" ? value : Number(value);
  if (!Number.isFinite(v)) return `${param.label} must be a number`;
  if (param.integer && !Number.isInteger(v)) return `${param.label} must be a whole number`;
  if (param.minExclusive ? v <= param.min : v < param.min) return `${param.label} must be ${param.minExclusive ? "greater than" : "at least"} ${param.min}`;
  return null;
}

export function seedError(value: unknown): string | null {
  if (value === undefined || value === null || value === "") return null;
  return Number.isInteger(value) && (value as number) >= 0 ? null : "The seed must be a non-negative whole number";
}

/** Label fields whose labels can be patches (one point per label). */
export const PATCH_LABEL_TYPES = ["Detections", "Polylines", "Keypoints", "Classifications"];

/** The first problem with the form's values, or null. */
export function visualizationFormError(params: Record<string, unknown>, sampleCount?: number): string | null {
  const method = chosenMethod(params.method);
  if (method !== "manual" && params.use_patches) {
    const attr = params.patch_embeddings;
    if (typeof attr !== "string" || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(attr)) return "Give the name of the labels' embedding attribute (e.g. embedding)";
  }
  for (const p of shownParams(method, params)) {
    const e = numberParamError(p, params[p.name]);
    if (e) return e;
  }
  if (method !== "manual" && params.num_dims !== undefined && params.num_dims !== 2 && params.num_dims !== 3) return "num_dims must be 2 or 3";
  const seed = seedError(params.seed);
  if (seed) return seed;
  if (method !== "manual" && params.use_patches) {
    const points = labelPointsError(params.points_field);
    if (points) return points;
  }
  if (sampleCount !== undefined) {
    const k = Number(params.num_neighbors ?? 15);
    if (method === "umap" && sampleCount <= k) return `UMAP with ${k} neighbours needs more than ${k} samples; the target has ${sampleCount}`;
    const perplexity = Number(params.perplexity ?? 30);
    if (method === "tsne" && perplexity >= sampleCount) return `t-SNE's perplexity (${perplexity}) must be less than the number of samples (${sampleCount})`;
  }
  return null;
}

/** What the runtime gets: the method's own parameters only, defaults filled in. */
export function visualizationRuntimeParams(params: Record<string, unknown>, brainKey: string, fallbackField: string | undefined): Record<string, unknown> {
  const method = chosenMethod(params.method);
  const out: Record<string, unknown> = { brain_key: brainKey, method };
  if (method === "manual") {
    out.points = params.manual_points ?? fallbackField;
    return out;
  }
  if (params.use_patches && typeof params.patches_field === "string" && params.patches_field) {
    out.patches_field = params.patches_field;
    out.embeddings = params.patch_embeddings;
  } else {
    out.embeddings = params.embeddings ?? fallbackField;
  }
  out.num_dims = params.num_dims === 3 ? 3 : 2;
  if (params.seed !== undefined && params.seed !== null && params.seed !== "") out.seed = Number(params.seed);
  for (const p of METHOD_PARAMS[method]) {
    const v = params[p.name];
    out[p.name] = v === undefined || v === null || v === "" ? p.default : Number(v);
  }
  if (method === "tsne" && params.auto_learning_rate) out.learning_rate = "auto";
  if (method === "umap") out.metric = params.metric === "cosine" ? "cosine" : "euclidean";
  if (params.create_index && out.num_dims === 2 && !out.patches_field) {
    out.create_index = true;
    out.points_field = pointsFieldName(params, brainKey);
  }
  if (out.patches_field && out.num_dims === 2 && typeof params.points_field === "string" && params.points_field) out.points_field = params.points_field;
  return out;
}

/** Why the patches' points attribute name is unusable, or null (empty: no attribute). */
export function labelPointsError(value: unknown): string | null {
  if (value === undefined || value === null || value === "") return null;
  return typeof value === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(value) ? null : "Use letters, digits and _ for the points attribute";
}

/** The field a spatial index stores the points in: the form's, else the brain key (as the reference). */
export function pointsFieldName(params: Record<string, unknown>, brainKey: unknown): string {
  return typeof params.points_field === "string" && params.points_field ? params.points_field : String(brainKey);
}
