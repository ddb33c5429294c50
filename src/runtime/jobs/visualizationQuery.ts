import { Db, Document, ObjectId } from "mongodb";
import { BrainError } from "../../errors";
import { ColorValue, colorValues, MISSING_CODE } from "../../methods/colorValues";
import { DatasetDoc, FieldDoc, findField, samplesCollection } from "../../fiftyone/datasets";
import { toObjectIds, ViewTarget } from "../../fiftyone/samples";
import { listVisualizationRuns, loadVisualizationRun, VisualizationRun, VisualizationRunSummary } from "../../fiftyone/visualizationRuns";
import { Job } from "../job";
import { optionalString, requiredString } from "../params";

/**
 * What the Embeddings panel draws: a visualization run's points restricted to the
 * current view, with the values of a "colour by" field. Arrays travel as base64 of their
 * bytes (Float32 / Uint16 little endian, ObjectIds as 12 raw bytes each), about 6 bytes
 * of JSON per coordinate instead of ~20, so 100k points arrive in a few MB.
 */
export interface VisualizationPayload {
  brainKey: string;
  method: string | null;
  patchesField: string | null;
  numDims: number;
  /** Points of the run that are in the view. */
  count: number;
  /** Points of the run in total. */
  totalCount: number;
  /** Samples (or patches) of the view the run has no point for. */
  missingCount: number;
  /** Float32 x, y interleaved (the first two dimensions of 3-D runs). */
  points: string;
  /** One id per point: label ids for patch plots, sample ids otherwise (12 bytes each). */
  ids: string;
  /** Patch plots: each point's sample id (12 bytes each); null for sample plots. */
  sampleIds: string | null;
  colorBy: string | null;
  color: EncodedColor | null;
  /** Fields the plot can be coloured by. */
  colorChoices: string[];
}

export type EncodedColor =
  | { kind: "categorical"; categories: string[]; counts: number[]; missingCode: number; codes: string }
  | { kind: "continuous"; min: number; max: number; values: string };

const SCALAR_FTYPES = new Set(
  ["StringField", "BooleanField", "IntField", "FloatField"].map((t) => `fiftyone.core.fields.${t}`),
);
const LIST_FTYPE = "fiftyone.core.fields.ListField";
const FLOAT_FTYPE = "fiftyone.core.fields.FloatField";
const EMBEDDED_FTYPE = "fiftyone.core.fields.EmbeddedDocumentField";
/** The list inside each label container class that holds its labels. */
const LABEL_LISTS: Record<string, string> = {
  "fiftyone.core.labels.Detections": "detections",
  "fiftyone.core.labels.Polylines": "polylines",
  "fiftyone.core.labels.Keypoints": "keypoints",
  "fiftyone.core.labels.Classifications": "classifications",
  "fiftyone.core.labels.TemporalDetections": "detections",
};
const SKIPPED_FIELDS = new Set(["id", "filepath", "sample_id"]);

export const listVisualizationRunsJob: Job<{ runs: VisualizationRunSummary[] }> = {
  name: "list_visualization_runs",
  description: "The dataset's visualization runs (made here or by fiftyone-brain)",
  async run(ctx) {
    return { runs: await listVisualizationRuns(ctx.db, ctx.dataset) };
  },
};

export const getVisualizationJob: Job<VisualizationPayload> = {
  name: "get_visualization",
  description: "A visualization run's points in the current view, with colour-by values",
  async run(ctx, params) {
    const brainKey = requiredString(params, "brain_key");
    const colorBy = optionalString(params, "color_by") ?? null;
    const run = await loadVisualizationRun(ctx.db, ctx.dataset, brainKey);
    const patches = run.patchesField ? patchesLayout(ctx.dataset, run.patchesField) : null;
    const colorChoices = colorByChoices(ctx.dataset, patches);
    if (colorBy && !colorChoices.includes(colorBy)) {
      throw new BrainError(
        "INVALID_PARAMS",
        `Cannot colour by '${colorBy}': choose one of ${colorChoices.join(", ") || "(no field of this dataset)"}`,
      );
    }
    ctx.progress(0.1, "Reading the view");
    const inView = await idsInView(ctx.db, ctx.dataset, ctx.target, patches);
    const pointIds = run.labelIds ?? run.sampleIds;
    const kept: number[] = [];
    const seen = new Set<string>();
    pointIds.forEach((id, i) => {
      if (inView.has(id) && !seen.has(id)) {
        kept.push(i);
        seen.add(id);
      }
    });
    ctx.progress(0.6, "Reading colours");
    const d = run.numDims;
    const points = new Float32Array(kept.length * 2);
    kept.forEach((i, k) => {
      points[2 * k] = run.points[i * d];
      points[2 * k + 1] = d > 1 ? run.points[i * d + 1] : 0;
    });
    const color = colorBy ? await readColors(ctx.db, ctx.dataset, run, patches, kept, colorBy) : null;
    return {
      brainKey,
      method: run.method,
      patchesField: run.patchesField,
      numDims: d,
      count: kept.length,
      totalCount: pointIds.length,
      missingCount: [...inView].filter((id) => !seen.has(id)).length,
      points: base64(points),
      ids: objectIdBytes(kept.map((i) => pointIds[i])),
      sampleIds: run.labelIds ? objectIdBytes(kept.map((i) => run.sampleIds[i])) : null,
      colorBy,
      color,
      colorChoices,
    };
  },
};

/** Hover card: a point's media and label. */
export interface PointPreview {
  sampleId: string;
  filepath: string;
  /** Patch plots: the patch's label and box [x, y, w, h] in relative coordinates. */
  label: string | null;
  boundingBox: number[] | null;
}

export const getVisualizationPointJob: Job<PointPreview> = {
  name: "get_visualization_point",
  description: "The media and label of one point of a visualization",
  async run(ctx, params) {
    const sampleId = requiredString(params, "sample_id");
    const labelId = optionalString(params, "label_id");
    const patchesField = optionalString(params, "patches_field");
    const doc = await samplesCollection(ctx.db, ctx.dataset).findOne(
      { _id: toObjectIds([sampleId])[0] },
      { projection: { filepath: 1, ...(patchesField ? { [patchesField]: 1 } : {}) } },
    );
    if (!doc) throw new BrainError("INVALID_DATA", `Sample ${sampleId} no longer exists`);
    let label: Document | null = null;
    if (patchesField && labelId) {
      const layout = patchesLayout(ctx.dataset, patchesField);
      const container = doc[patchesField] as Document | null | undefined;
      const labels = (layout.list ? (container?.[layout.list] as Document[] | undefined) : container ? [container] : []) ?? [];
      label = labels.find((l) => String(l._id) === labelId) ?? null;
    }
    return {
      sampleId,
      filepath: String(doc.filepath),
      label: label && typeof label.label === "string" ? label.label : null,
      boundingBox: label && Array.isArray(label.bounding_box) ? (label.bounding_box as number[]) : null,
    };
  },
};

interface PatchesLayout {
  field: string;
  /** The list of labels inside the container (`detections`), or null for single-label fields. */
  list: string | null;
  /** Schema of one label. */
  labelFields: FieldDoc[];
}

function patchesLayout(dataset: DatasetDoc, patchesField: string): PatchesLayout {
  const field = findField(dataset, patchesField);
  if (!field) throw new BrainError("FIELD_NOT_FOUND", `The run's patches field '${patchesField}' no longer exists`);
  const list = field.embedded_doc_type ? LABEL_LISTS[field.embedded_doc_type] ?? null : null;
  const labelFields = list ? field.fields.find((f) => f.name === list)?.fields ?? [] : field.fields;
  return { field: patchesField, list, labelFields };
}

/** Scalar fields (and lists of scalars) the points can be coloured by, as FiftyOne's panel offers. */
export function colorByChoices(dataset: DatasetDoc, patches: PatchesLayout | null): string[] {
  const out: string[] = [];
  const walk = (fields: readonly FieldDoc[], prefix: string) => {
    for (const f of fields) {
      if (f.name.startsWith("_") || SKIPPED_FIELDS.has(f.name)) continue;
      const path = prefix + f.name;
      if (SCALAR_FTYPES.has(f.ftype) || (f.ftype === LIST_FTYPE && f.subfield && SCALAR_FTYPES.has(f.subfield))) out.push(path);
      else if (f.ftype === EMBEDDED_FTYPE) walk(f.fields ?? [], `${path}.`);
    }
  };
  if (patches) walk(patches.labelFields, patches.list ? `${patches.field}.${patches.list}.` : `${patches.field}.`);
  else walk(dataset.sample_fields, "");
  return out.sort();
}

/**
 * The ids of the run's kind (label ids for patch plots, sample ids otherwise) that the
 * view holds, streamed from the view's pipeline (on a patches view's own collection).
 */
async function idsInView(db: Db, dataset: DatasetDoc, target: ViewTarget, patches: PatchesLayout | null): Promise<Set<string>> {
  const stages: Document[] = [...(target.pipeline ?? [])];
  if (target.sampleIds) stages.push({ $match: { _id: { $in: toObjectIds(target.sampleIds) } } });
  let read: (doc: Document) => unknown[];
  if (target.isPatches) {
    // A patch's _id is its label's id; _sample_id links it to its sample.
    const key = patches ? "_id" : "_sample_id";
    stages.push({ $project: { [key]: 1 } });
    read = (doc) => [doc[key]];
  } else if (patches) {
    const path = patches.list ? `${patches.field}.${patches.list}._id` : `${patches.field}._id`;
    stages.push({ $project: { [path]: 1 } });
    read = (doc) => {
      const container = doc[patches.field] as Document | null | undefined;
      if (!container) return [];
      if (!patches.list) return [container._id];
      return ((container[patches.list] as Document[] | null) ?? []).map((l) => l._id);
    };
  } else {
    stages.push({ $project: { _id: 1 } });
    read = (doc) => [doc._id];
  }
  const collection = target.collection ? db.collection(target.collection) : samplesCollection(db, dataset);
  const ids = new Set<string>();
  for await (const doc of collection.aggregate(stages, { allowDiskUse: true, batchSize: 10_000 })) {
    for (const id of read(doc)) if (id) ids.add(String(id instanceof ObjectId ? id.toHexString() : id));
  }
  return ids;
}

/** Colour values of the kept points, read from the dataset's samples by id in batches. */
async function readColors(
  db: Db,
  dataset: DatasetDoc,
  run: VisualizationRun,
  patches: PatchesLayout | null,
  kept: number[],
  colorBy: string,
): Promise<EncodedColor> {
  const values = new Map<string, ColorValue>();
  const sampleIds = [...new Set(kept.map((i) => run.sampleIds[i]))];
  const prefix = patches ? (patches.list ? `${patches.field}.${patches.list}.` : `${patches.field}.`) : "";
  const leaf = colorBy.slice(prefix.length);
  const stored = patches ? dbPath(patches.labelFields, leaf, colorBy, prefix) : dbPath(dataset.sample_fields, colorBy, colorBy, "");
  const storedLeaf = stored.slice(prefix.length);
  const projection = patches ? { [`${prefix}_id`]: 1, [stored]: 1 } : { [stored]: 1 };
  const samples = samplesCollection(db, dataset);
  for (let at = 0; at < sampleIds.length; at += 5000) {
    const batch = toObjectIds(sampleIds.slice(at, at + 5000));
    for await (const doc of samples.find({ _id: { $in: batch } }, { projection })) {
      if (!patches) {
        values.set(doc._id.toHexString(), scalar(getPath(doc, stored)));
        continue;
      }
      const container = doc[patches.field] as Document | null | undefined;
      const labels = (patches.list ? (container?.[patches.list] as Document[] | null | undefined) : container ? [container] : null) ?? [];
      for (const l of labels) values.set(String(l._id), scalar(getPath(l, storedLeaf)));
    }
  }
  const ids = run.labelIds ?? run.sampleIds;
  const field = patches ? fieldAt(patches.labelFields, leaf) : fieldAt(dataset.sample_fields, colorBy);
  const float = field?.ftype === FLOAT_FTYPE || (field?.ftype === LIST_FTYPE && field.subfield === FLOAT_FTYPE);
  const encoded = colorValues(kept.map((i) => values.get(ids[i]) ?? null), { float });
  if (encoded.kind === "categorical") {
    return { kind: "categorical", categories: encoded.categories, counts: encoded.counts, missingCode: MISSING_CODE, codes: base64(encoded.codes) };
  }
  return { kind: "continuous", min: encoded.min, max: encoded.max, values: base64(encoded.values) };
}

function fieldAt(fields: readonly FieldDoc[], path: string): FieldDoc | undefined {
  let level: readonly FieldDoc[] = fields;
  let found: FieldDoc | undefined;
  for (const name of path.split(".")) {
    found = level.find((x) => x.name === name);
    level = found?.fields ?? [];
  }
  return found;
}

/** The stored path of a schema path (a field's `db_field` may differ from its name). */
function dbPath(fields: readonly FieldDoc[], path: string, full: string, prefix: string): string {
  let level: readonly FieldDoc[] = fields;
  const parts = path.split(".").map((name) => {
    const f = level.find((x) => x.name === name);
    if (!f) throw new BrainError("FIELD_NOT_FOUND", `Field '${full}' does not exist`);
    level = f.fields ?? [];
    return f.db_field ?? f.name;
  });
  return prefix + parts.join(".");
}

function getPath(doc: Document, path: string): unknown {
  let v: unknown = doc;
  for (const part of path.split(".")) {
    if (v === null || v === undefined || typeof v !== "object") return null;
    v = (v as Document)[part];
  }
  return v;
}

function scalar(v: unknown): ColorValue {
  if (Array.isArray(v)) return v.length ? scalar(v[0]) : null;
  if (typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "number") return v;
  if (v && typeof v === "object" && "valueOf" in v) {
    const n = Number((v as { valueOf(): unknown }).valueOf());
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

function base64(a: Float32Array | Uint16Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");
}

function objectIdBytes(ids: readonly string[]): string {
  const out = Buffer.alloc(ids.length * 12);
  ids.forEach((id, i) => out.write(id, i * 12, 12, "hex"));
  return out.toString("base64");
}
