import type * as fos from "@fiftyone/state";
import type { EncodedColor, VisualizationPayload } from "../../src/runtime/jobs/visualizationQuery";

/** What the Embeddings panel holds once a run's payload is decoded. */
export interface Plot {
  brainKey: string;
  patchesField: string | null;
  count: number;
  totalCount: number;
  missingCount: number;
  numDims: number;
  /** Coordinates scaled into [-1, 1] with the aspect ratio kept (what the WebGL scatter expects). */
  x: Float32Array;
  y: Float32Array;
  /** One id per point: label ids for patch plots, sample ids otherwise. */
  ids: string[];
  /** Each point's sample id (equal to `ids` for sample plots). */
  sampleIds: string[];
  indexById: Map<string, number>;
  color: DecodedColor | null;
  colorBy: string | null;
  colorChoices: string[];
}

export type DecodedColor =
  | { kind: "categorical"; categories: string[]; counts: number[]; codes: Uint16Array; missingCode: number }
  | { kind: "continuous"; min: number; max: number; values: Float32Array };

/** The selection scope this panel's extended selections carry. */
export const SELECTION_SCOPE = "brain-ts-embeddings";

/** Visualization runs of the dataset (ours and fiftyone-brain's), as the App's own panel lists them. */
export function visualizationRuns(dataset: fos.Dataset | null): string[] {
  return (dataset?.brainMethods ?? [])
    .filter((m) => m.config?.type === "visualization" || m.config?.cls?.includes("fiftyone.brain.visualization"))
    .map((m) => m.key)
    .sort();
}

function bytes(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function decodeFloat32(b64: string): Float32Array {
  return new Float32Array(bytes(b64).buffer);
}

export function decodeUint16(b64: string): Uint16Array {
  return new Uint16Array(bytes(b64).buffer);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** 12-byte ObjectIds to their 24-character hex strings. */
export function decodeObjectIds(b64: string): string[] {
  const b = bytes(b64);
  const out = new Array<string>(b.length / 12);
  for (let i = 0; i < out.length; i++) {
    let s = "";
    for (let k = 0; k < 12; k++) s += HEX[b[i * 12 + k]];
    out[i] = s;
  }
  return out;
}

function decodeColor(c: EncodedColor): DecodedColor {
  return c.kind === "categorical"
    ? { kind: "categorical", categories: c.categories, counts: c.counts, codes: decodeUint16(c.codes), missingCode: c.missingCode }
    : { kind: "continuous", min: c.min, max: c.max, values: decodeFloat32(c.values) };
}

export function decodePlot(p: VisualizationPayload): Plot {
  const xy = decodeFloat32(p.points);
  const n = p.count;
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  for (let i = 0; i < n; i++) {
    const px = xy[2 * i];
    const py = xy[2 * i + 1];
    if (px < minX) minX = px;
    if (px > maxX) maxX = px;
    if (py < minY) minY = py;
    if (py > maxY) maxY = py;
  }
  // One scale for both axes keeps distances as the run computed them; 5% margin.
  const half = Math.max(maxX - minX, maxY - minY, 1e-12) / 2 / 0.95;
  const cx = (minX + maxX) / 2;
  const cy = (minY + maxY) / 2;
  const x = new Float32Array(n);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = (xy[2 * i] - cx) / half;
    y[i] = (xy[2 * i + 1] - cy) / half;
  }
  const ids = decodeObjectIds(p.ids);
  const sampleIds = p.sampleIds ? decodeObjectIds(p.sampleIds) : ids;
  return {
    brainKey: p.brainKey,
    patchesField: p.patchesField,
    count: n,
    totalCount: p.totalCount,
    missingCount: p.missingCount,
    numDims: p.numDims,
    x,
    y,
    ids,
    sampleIds,
    indexById: new Map(ids.map((id, i) => [id, i])),
    color: p.color ? decodeColor(p.color) : null,
    colorBy: p.colorBy,
    colorChoices: p.colorChoices,
  };
}

/**
 * The stage that makes the grid show exactly the selected points, as FiftyOne's own
 * Embeddings panel builds it (null: the App's default `Select` of the selection ids fits).
 */
export function selectionStage(plot: Pick<Plot, "patchesField">, patchesView: boolean, ids: string[]): Record<string, Record<string, unknown>> | null {
  const patchesPlot = plot.patchesField !== null;
  if (patchesPlot === patchesView) return null; // a patch's id is its label's id
  if (patchesPlot) {
    return {
      "fiftyone.core.stages.MatchLabels": { labels: null, ids, instance_ids: null, tags: null, filter: null, fields: [plot.patchesField], bool: true },
    };
  }
  return { "fiftyone.core.stages.SelectBy": { field: "sample_id", values: ids, ordered: false } };
}

/** Point indices the grid's selected samples (or patches) correspond to. */
export function indicesOfGridSelection(plot: Plot, selected: ReadonlySet<string>, patchesView: boolean): number[] {
  if (selected.size === 0) return [];
  const out: number[] = [];
  const patchesPlot = plot.patchesField !== null;
  // In a patches view the grid selects patches (label ids); in a samples view, samples.
  const byLabel = patchesPlot && patchesView;
  for (let i = 0; i < plot.count; i++) {
    if (selected.has(byLabel ? plot.ids[i] : plot.sampleIds[i])) out.push(i);
  }
  return out;
}

/** Category colours (distinct on dark and light backgrounds), cycled past their number. */
const PALETTE = [
  "#ff6d04", "#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f",
  "#ffbb78", "#aec7e8", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#9edae5", "#dbdb8d", "#393b79",
];
export const MISSING_COLOR = "#555555";
export const UNCOLORED = "#ff6d04";

export function categoryColor(i: number): string {
  return PALETTE[i % PALETTE.length];
}

/** Viridis, sampled at 9 stops and interpolated into `steps` colours. */
const VIRIDIS = ["#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962", "#addc30", "#fde725"];

export function continuousRamp(steps = 64): string[] {
  const rgb = VIRIDIS.map((h) => [1, 3, 5].map((k) => parseInt(h.slice(k, k + 2), 16)));
  return Array.from({ length: steps }, (_, i) => {
    const t = (i / (steps - 1)) * (rgb.length - 1);
    const a = Math.floor(t);
    const b = Math.min(a + 1, rgb.length - 1);
    const f = t - a;
    return "#" + [0, 1, 2].map((c) => Math.round(rgb[a][c] * (1 - f) + rgb[b][c] * f).toString(16).padStart(2, "0")).join("");
  });
}

export function viridisCss(): string {
  return `linear-gradient(to right, ${VIRIDIS.join(", ")})`;
}

/** Indices of the points whose category is not hidden (all points when nothing is hidden). */
export function visibleIndices(plot: Plot, hidden: ReadonlySet<number>): number[] | null {
  if (!hidden.size || plot.color?.kind !== "categorical") return null;
  const { codes, missingCode, categories } = plot.color;
  const out: number[] = [];
  for (let i = 0; i < plot.count; i++) {
    const c = codes[i] === missingCode ? categories.length : codes[i];
    if (!hidden.has(c)) out.push(i);
  }
  return out;
}

/** The media route of the App server. */
export function mediaUrl(filepath: string): string {
  return `/media?filepath=${encodeURIComponent(filepath)}`;
}

/** A point's colour value as text, for the hover card. */
export function colorText(plot: Plot, i: number): string | null {
  const c = plot.color;
  if (!c) return null;
  if (c.kind === "categorical") return c.codes[i] === c.missingCode ? "none" : c.categories[c.codes[i]];
  return Number.isNaN(c.values[i]) ? "none" : c.values[i].toPrecision(4);
}
