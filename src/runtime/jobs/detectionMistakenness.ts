import { AnyBulkWriteOperation, Document, Double, Int32, ObjectId } from "mongodb";
import { BrainError } from "../../errors";
import { findField, findFrameField, FRAMES_PREFIX, framesCollection, samplesCollection } from "../../fiftyone/datasets";
import { storedArray } from "../../fiftyone/embeddings";
import { declareFields, FLOAT_FIELD, fieldDoc, FieldType } from "../../fiftyone/fields";
import { OBJECT_LISTS, ObjectListType } from "../../fiftyone/labels";
import { assertReplaceableRun, registerBrainRun } from "../../fiftyone/runs";
import { streamSamples, streamVideoFrames } from "../../fiftyone/samples";
import { DetObject, Geometry, imageMistakenness, ImageMistakenness, MissingLogitsError } from "../../methods/detectionMistakenness";
import { Point } from "../../methods/shapeOverlap";
import { JobContext } from "../job";

/**
 * compute_mistakenness for objects (Detections, Polylines, Keypoints, TemporalDetections;
 * spec §4.2): object attributes on the ground truth (`<field>`, `<field>_loc`,
 * `<spurious>`) and predictions (`<missing>`), and three fields per image: its mistakenness
 * (−1 when nothing matched) and the counts of possibly missing and spurious objects; with
 * copy_missing, the missing predictions are copied into the ground truth. On frame fields
 * of videos every frame is an image (fields and attributes on the frames) and each video
 * gets the largest of its frames' values and the sums of their counts, as the reference.
 * Registered as the reference's DetectionMistakennessConfig, so Python's delete_brain_run
 * runs the reference's own cleanup.
 *
 * Two passes over the view: the first checks every input and computes (nothing written),
 * the second computes again and writes sample by sample. An error therefore leaves the
 * dataset untouched. Decision on a reference defect: the reference lets FiftyOne infer the
 * sample field's type from the first value written, so when its first sample has no match
 * (−1) the field becomes an IntField and every later score is truncated to an integer
 * (0.9 → 0); here the field is always a FloatField.
 *
 * TemporalDetections: the reference's input check reads a `confidence` (or `logits`) off
 * the TemporalDetections container, which has neither, so it fails before computing
 * anything. Here each temporal prediction must have a confidence, as each Detection must,
 * and the objects are matched as FiftyOne's ActivityNet evaluation (what the reference's
 * evaluate_detections runs for them) matches them: by the IoU of their frame supports.
 *
 * Polylines run as the reference runs them (FiftyOne's polygon IoU, or its keypoint
 * similarity when no ground truth of the image is filled). Keypoints: the reference fails
 * on them (its input check reads a confidence off the Keypoints container, as for temporal
 * detections, and it compares each keypoint's list of point confidences with 0.95); here
 * each keypoint prediction is checked, and a keypoint's
 * confidence is the mean of its point confidences (NaN ignored), the value FiftyOne's own
 * evaluation sorts and reports keypoints by, and it must have one.
 */

export const DETECTION_MISTAKENNESS_CONFIG_CLS = "fiftyone.brain.internal.core.mistakenness.DetectionMistakennessConfig";
const INT_FIELD: FieldType = "fiftyone.core.fields.IntField";

/** The object label types scored, with each one's object name (for messages) and geometry. */
export const OBJECT_LABEL_TYPES = {
  Detections: { object: "Detection", geometry: "box" },
  TemporalDetections: { object: "TemporalDetection", geometry: "segment" },
  Polylines: { object: "Polyline", geometry: "polyline" },
  Keypoints: { object: "Keypoint", geometry: "keypoints" },
} as const satisfies Record<ObjectListType, { object: string; geometry: Geometry }>;
export type ObjectLabelType = keyof typeof OBJECT_LABEL_TYPES;

export interface DetectionMistakennessParams {
  labelType: ObjectLabelType;
  predField: string;
  labelField: string;
  field: string;
  missingField: string;
  spuriousField: string;
  useLogits: boolean;
  copyMissing: boolean;
}

export interface DetectionMistakennessResult {
  brainKey: string;
  field: string;
  numScored: number;
  numMissing: number;
  numSamples: number;
  min: number | null;
  max: number | null;
  replaced: boolean;
  /** Predictions flagged possibly missing and ground truths flagged possibly spurious, over the view. */
  possibleMissing: number;
  possibleSpurious: number;
  /** Polygons FiftyOne could not build or intersect (their IoU counts as 0, as FiftyOne's default error level does). */
  overlapFailures: number;
  evalKey: string;
}

interface RawDet {
  _id: ObjectId;
  label?: string | null;
  bounding_box?: unknown;
  support?: unknown;
  points?: unknown;
  closed?: unknown;
  filled?: unknown;
  confidence?: unknown;
  logits?: unknown;
  iscrowd?: unknown;
  attributes?: Record<string, { value?: unknown }> | null;
  [k: string]: unknown;
}

type RawSample = { _id: ObjectId; [k: string]: unknown };

function objectsOf(doc: RawSample, field: string, list: string): RawDet[] | null {
  const v = doc[field] as Record<string, RawDet[] | null | undefined> | null | undefined;
  if (v === null || v === undefined) return null;
  return v[list] ?? [];
}

const isPoint = (p: unknown): p is Point => Array.isArray(p) && p.length === 2 && p.every((x) => typeof x === "number");

/** The extent [x, y, width, height] of points ([0, 0, 0, 0] for none, as FiftyOne's empty box). */
function extent(points: readonly Point[]): number[] {
  if (points.length === 0) return [0, 0, 0, 0];
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const [x, y] = [Math.min(...xs), Math.min(...ys)];
  return [x, y, Math.max(...xs) - x, Math.max(...ys) - y];
}

/** numpy's nanmean of a keypoint's per-point confidences; null when it has none (FiftyOne's evaluation convention). */
function meanConfidence(c: unknown): number | null {
  if (!Array.isArray(c) || c.length === 0) return null;
  let sum = 0;
  let n = 0;
  for (const v of c) {
    if (typeof v === "number" && !Number.isNaN(v)) {
      sum += v;
      n++;
    }
  }
  return n ? sum / n : NaN;
}

/** The geometry of one stored object, or a message saying what it lacks. */
function parseGeometry(d: RawDet, geometry: Geometry): Pick<DetObject, "box" | "shapes" | "closed" | "filled"> | string {
  switch (geometry) {
    case "segment":
      return finiteList(d.support, 2) ? { box: d.support } : "a valid support (expected [first, last] frame numbers)";
    case "box":
      return finiteList(d.bounding_box, 4) ? { box: d.bounding_box } : "a valid bounding box (expected [x, y, width, height])";
    case "polyline": {
      const shapes = d.points;
      if (!Array.isArray(shapes) || !shapes.every((s) => Array.isArray(s) && s.every(isPoint))) return "valid points (expected a list of shapes of [x, y] points)";
      return { box: extent((shapes as Point[][]).flat()), shapes: shapes as Point[][], closed: Boolean(d.closed), filled: Boolean(d.filled) };
    }
    case "keypoints": {
      const points = d.points;
      // a missing keypoint is stored as null or with NaN coordinates
      if (!Array.isArray(points) || !points.every((p) => p === null || isPoint(p))) return "valid points (expected a list of [x, y] points)";
      return { box: [0, 0, 0, 0], shapes: [points as Point[]] };
    }
  }
}

function finiteList(v: unknown, size: number): v is number[] {
  return Array.isArray(v) && v.length === size && v.every((x) => typeof x === "number" && Number.isFinite(x));
}

/** Parses stored objects; errors name the object, sample and field. */
function parseDets(
  raw: RawDet[],
  type: ObjectLabelType,
  place: string,
  field: string,
  missingField: string,
  isPred: boolean,
  useLogits: boolean,
): DetObject[] {
  const { object, geometry } = OBJECT_LABEL_TYPES[type];
  return raw.map((d) => {
    const id = d._id instanceof ObjectId ? d._id.toHexString() : String(d._id);
    const where = `${object} '${id}' in ${place} field '${field}'`;
    const shape = parseGeometry(d, geometry);
    if (typeof shape === "string") throw new BrainError("INVALID_DATA", `${where} has no ${shape}`);
    const confidence = geometry === "keypoints" ? meanConfidence(d.confidence) : typeof d.confidence === "number" ? d.confidence : null;
    if (isPred && confidence === null) throw new BrainError("INVALID_DATA", `${where} has no confidence`);
    let logits: ArrayLike<number> | null = null;
    if (isPred && useLogits) {
      try {
        logits = storedArray(d.logits)?.data ?? null;
      } catch (err) {
        throw new BrainError("INVALID_DATA", `${where} has logits that ${(err as Error).message}`);
      }
    }
    // ActivityNet matching has no crowds
    const crowdAttr = geometry === "segment" ? false : (d.iscrowd ?? d.attributes?.iscrowd?.value ?? false);
    return {
      id,
      label: typeof d.label === "string" ? d.label : null,
      ...shape,
      confidence,
      logits,
      crowd: Boolean(crowdAttr),
      hasMissing: d[missingField] !== undefined,
    };
  });
}

/** The reference's temporary evaluation key: `<field>_eval`, or `_eval2`, `_eval3`, ... if taken. */
function evalKeyFor(ctx: JobContext, field: string): string {
  const taken = Object.keys((ctx.dataset as { evaluations?: Record<string, unknown> | null }).evaluations ?? {});
  const base = `${field}_eval`;
  if (!taken.includes(base)) return base;
  let i = 2;
  while (taken.includes(base + i)) i++;
  return base + i;
}

/** One sample and the images scored for it: itself, or its frames (with where they are, for messages). */
interface Unit {
  sampleId: ObjectId;
  images: { doc: RawSample; place: string }[];
}

export async function runDetectionMistakenness(
  ctx: JobContext,
  p: DetectionMistakennessParams,
  total: number,
): Promise<DetectionMistakennessResult> {
  const { labelType, predField, labelField, field, missingField, spuriousField, useLogits, copyMissing } = p;
  const { object, geometry } = OBJECT_LABEL_TYPES[labelType];
  const list = OBJECT_LISTS[labelType];
  // frame fields: every frame is an image, scored into the frame fields; its video gets the aggregates
  const onFrames = labelField.startsWith(FRAMES_PREFIX);
  const [pred, gt] = [predField, labelField].map((f) => (onFrames ? f.slice(FRAMES_PREFIX.length) : f));
  const outputs = [field, missingField, spuriousField];
  if (new Set(outputs).size !== 3) throw new BrainError("INVALID_PARAMS", "The mistakenness, missing and spurious fields must differ");
  for (const f of outputs) {
    if (f === pred || f === gt) throw new BrainError("INVALID_PARAMS", `Output field '${f}' must differ from the label fields`);
  }
  const replace = await assertReplaceableRun(ctx.db, ctx.dataset, field, DETECTION_MISTAKENNESS_CONFIG_CLS, {
    pred_field: predField,
    label_field: labelField,
    mistakenness_field: field,
    missing_field: missingField,
    spurious_field: spuriousField,
    copy_missing: copyMissing,
  });
  const types: [string, FieldType][] = [[field, FLOAT_FIELD], [missingField, INT_FIELD], [spuriousField, INT_FIELD]];
  for (const [name, ftype] of types) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new BrainError("INVALID_PARAMS", `Invalid field name '${name}': use letters, digits and _`);
    for (const [existing, kind] of [[findField(ctx.dataset, name), "Field"], ...(onFrames ? [[findFrameField(ctx.dataset, name), "Frame field"] as const] : [])] as const) {
      if (existing && (!replace || existing.ftype !== ftype)) {
        throw new BrainError("FIELD_EXISTS", `${kind} '${name}' already exists on dataset '${ctx.dataset.name}'; choose another field name`);
      }
    }
  }

  async function* units(): AsyncGenerator<Unit[]> {
    if (onFrames) {
      for await (const batch of streamVideoFrames(ctx.db, ctx.dataset, ctx.target, [pred, gt])) {
        yield batch.map(({ sampleId, frames }) => ({
          sampleId,
          images: frames.map((doc) => ({ doc, place: `frame ${doc.frame_number} of sample '${sampleId.toHexString()}'` })),
        }));
      }
    } else {
      for await (const batch of streamSamples<RawSample>(ctx.db, ctx.dataset, ctx.target, { _id: 1, [gt]: 1, [pred]: 1 })) {
        yield batch.map((doc) => ({ sampleId: doc._id, images: [{ doc, place: `sample '${doc._id.toHexString()}'` }] }));
      }
    }
  }
  const score = ({ doc, place }: Unit["images"][number]) => {
    const rawPreds = objectsOf(doc, pred, list);
    const rawGts = objectsOf(doc, gt, list);
    const preds = parseDets(rawPreds ?? [], labelType, place, predField, missingField, true, useLogits);
    const gts = parseDets(rawGts ?? [], labelType, place, labelField, missingField, false, false);
    let result: ImageMistakenness;
    try {
      result = imageMistakenness(gts, preds, { useLogits, copyMissing, geometry });
    } catch (err) {
      // only matched predictions' logits are used (as the reference), so only they must have them
      if (err instanceof MissingLogitsError) {
        throw new BrainError("INVALID_DATA", `${object} '${err.predId}' in ${place} field '${predField}' has no logits`);
      }
      throw err;
    }
    return { preds, gts, rawGts, result };
  };

  // pass 1: check everything, write nothing
  let objects = 0;
  let seen = 0;
  for await (const batch of units()) {
    ctx.signal.throwIfAborted();
    for (const unit of batch) {
      for (const image of unit.images) {
        const { preds, gts } = score(image);
        objects += preds.length + gts.length;
      }
    }
    seen += batch.length;
    ctx.progress((0.4 * seen) / total, `Checked ${seen}/${total} samples`);
  }
  if (objects === 0) {
    const where = onFrames ? "any frame of the" : "any of the";
    throw new BrainError("INVALID_DATA", `Fields '${predField}' and '${labelField}' have no object on ${where} ${total} samples of the view`);
  }

  // pass 2: compute and write
  const evalKey = evalKeyFor(ctx, field);
  const samples = samplesCollection(ctx.db, ctx.dataset);
  const frames = onFrames ? framesCollection(ctx.db, ctx.dataset) : null;
  const created = types.filter(([name]) => !findField(ctx.dataset, name));
  const createdFrame = onFrames ? types.filter(([name]) => !findFrameField(ctx.dataset, name)) : [];
  let min: number | null = null;
  let max: number | null = null;
  let possibleMissing = 0;
  let possibleSpurious = 0;
  let overlapFailures = 0;
  seen = 0;
  const now = new Date();
  for await (const batch of units()) {
    ctx.signal.throwIfAborted();
    const sampleOps: AnyBulkWriteOperation<Document>[] = [];
    const frameOps: AnyBulkWriteOperation<Document>[] = [];
    for (const unit of batch) {
      // the sample's value: its image's, or the largest of its frames' (−1 included, NaN wins as np.max; none without frames)
      let value: number | null = null;
      let unitMissing = 0;
      let unitSpurious = 0;
      for (const image of unit.images) {
        const { result, rawGts } = score(image);
        unitMissing += result.missing.length;
        unitSpurious += result.spurious.length;
        overlapFailures += result.failures;
        const v = result.value;
        if (value === null || (!Number.isNaN(value) && (Number.isNaN(v) || v > value))) value = v;
        const update = { updateOne: { filter: { _id: image.doc._id }, update: [{ $set: { ...imageUpdate(result, rawGts), last_modified_at: now } }] } };
        (onFrames ? frameOps : sampleOps).push(update);
      }
      possibleMissing += unitMissing;
      possibleSpurious += unitSpurious;
      if (value !== null && !Number.isNaN(value)) {
        if (min === null || value < min) min = value;
        if (max === null || value > max) max = value;
      }
      if (onFrames) {
        const set = {
          [field]: value === null ? null : new Double(value),
          [missingField]: new Int32(unitMissing),
          [spuriousField]: new Int32(unitSpurious),
          last_modified_at: now,
        };
        sampleOps.push({ updateOne: { filter: { _id: unit.sampleId }, update: { $set: set } } });
      }
    }
    if (frames && frameOps.length) await frames.bulkWrite(frameOps, { ordered: true });
    if (sampleOps.length) await samples.bulkWrite(sampleOps, { ordered: true });
    seen += batch.length;
    ctx.progress(0.4 + (0.55 * seen) / total, `Scored ${seen}/${total} samples`);
  }

  /** The image's fields, object attributes and copies (an update pipeline's $set, local field names). */
  function imageUpdate(result: ImageMistakenness, rawGts: RawDet[] | null): Document {
    const set: Document = {
      [field]: new Double(result.value),
      [missingField]: new Int32(result.missing.length),
      [spuriousField]: new Int32(result.spurious.length),
    };
    const gtBranches = [
      ...[...result.gtScores].map(([id, s]) => ({
        case: { $eq: ["$$d._id", new ObjectId(id)] },
        then: { [field]: new Double(s.mistakenness), [`${field}_loc`]: new Double(s.loc) },
      })),
      ...result.spurious.map((id) => ({ case: { $eq: ["$$d._id", new ObjectId(id)] }, then: { [spuriousField]: true } })),
    ];
    const missingIds = result.missing.map((id) => new ObjectId(id));
    const copies =
      result.copies.length > 0
        ? {
            $map: {
              input: { $filter: { input: `$${pred}.${list}`, as: "p", cond: { $in: ["$$p._id", result.copies.map((id) => new ObjectId(id))] } } },
              as: "p",
              in: { $mergeObjects: ["$$p", { [missingField]: true }] },
            },
          }
        : null;
    if (copyMissing && rawGts === null) {
      // as the reference: with copy_missing an image without ground truth gets an empty label list (with the copies)
      set[gt] = { _cls: labelType, [list]: copies ?? { $literal: [] } };
    } else if (gtBranches.length || copies) {
      const marked = gtBranches.length
        ? { $map: { input: `$${gt}.${list}`, as: "d", in: { $mergeObjects: ["$$d", { $switch: { branches: gtBranches, default: {} } }] } } }
        : `$${gt}.${list}`;
      set[`${gt}.${list}`] = copies ? { $concatArrays: [marked, copies] } : marked;
    }
    if (missingIds.length) {
      set[`${pred}.${list}`] = {
        $map: {
          input: `$${pred}.${list}`,
          as: "d",
          in: { $cond: [{ $in: ["$$d._id", missingIds] }, { $mergeObjects: ["$$d", { [missingField]: true }] }, "$$d"] },
        },
      };
    }
    return set;
  }

  await declareFields(ctx.db, ctx.dataset, created.map(([name, ftype]) => fieldDoc(name, ftype)));
  await declareFields(ctx.db, ctx.dataset, createdFrame.map(([name, ftype]) => fieldDoc(name, ftype)), true);
  await registerBrainRun(
    ctx.db,
    ctx.dataset,
    {
      key: field,
      version: ctx.fiftyoneVersion,
      viewStages: ctx.target.viewStages ?? null,
      config: {
        cls: DETECTION_MISTAKENNESS_CONFIG_CLS,
        type: "mistakenness",
        method: "detection",
        pred_field: predField,
        label_field: labelField,
        mistakenness_field: field,
        missing_field: missingField,
        spurious_field: spuriousField,
        use_logits: useLogits,
        copy_missing: copyMissing,
        eval_key: evalKey,
      },
      results: null,
    },
    { replace },
  );
  ctx.progress(1, "Done");
  return {
    brainKey: field,
    field,
    numScored: total,
    numMissing: 0,
    numSamples: total,
    min,
    max,
    replaced: replace,
    possibleMissing,
    possibleSpurious,
    overlapFailures,
    evalKey,
  };
}
