import { EJSON } from "bson";
import { Db, Document, GridFSBucket, ObjectId } from "mongodb";
import { BrainError, validateBrainKey } from "../errors";
import { DatasetDoc, findField, findFrameField, FRAMES_PREFIX, framesCollection } from "./datasets";
import { deleteFrameField, deleteSampleField, renameSampleField } from "./fields";
import { deleteLabelAttribute, patchField, renameLabelAttribute } from "./labelEmbeddings";
import { labelType, OBJECT_LISTS, ObjectListType } from "./labels";

/**
 * Brain runs in FiftyOne's own format: a document in the `runs` collection referenced
 * from the dataset's `brain_methods` map, with results serialized as JSON in GridFS.
 * Python's list_brain_runs / get_brain_info / load_brain_results / load_brain_view /
 * rename_brain_run / delete_brain_run read what is written here.
 */
export interface RunConfig {
  cls: string;
  type: string;
  method: string | null;
  [key: string]: unknown;
}

export interface RunDoc {
  _id: ObjectId;
  _dataset_id: ObjectId;
  key: string;
  version: string;
  timestamp: Date;
  config: RunConfig;
  view_stages: string[] | null;
  results?: ObjectId | null;
  results_meta?: Document;
}

export interface RunSummary {
  key: string;
  type: string;
  method: string | null;
  cls: string;
  timestamp: string;
}

/** Runs of this runtime use FiftyOne's generic classes so Python loads them without our code. */
export const GENERIC_CONFIG_CLS = "fiftyone.core.brain.BrainMethodConfig";
export const GENERIC_RESULTS_CLS = "fiftyone.core.runs.RunResults";

const runs = (db: Db) => db.collection<RunDoc>("runs");
const datasets = (db: Db) => db.collection<DatasetDoc>("datasets");

export async function listBrainRuns(db: Db, dataset: DatasetDoc, type?: string): Promise<RunSummary[]> {
  const ids = Object.values(dataset.brain_methods ?? {});
  const docs = ids.length ? await runs(db).find({ _id: { $in: ids } }).toArray() : [];
  return docs
    .filter((d) => !type || runType(d.config) === type)
    .map((d) => ({
      key: d.key,
      type: runType(d.config),
      method: d.config.method ?? null,
      cls: d.config.cls,
      timestamp: d.timestamp.toISOString(),
    }))
    .sort((a, b) => a.key.localeCompare(b.key));
}

/** The run type users filter by: our generic runs report their method. */
export function runType(config: RunConfig): string {
  return config.cls === GENERIC_CONFIG_CLS && config.method ? config.method : config.type;
}

export async function getBrainRun(db: Db, dataset: DatasetDoc, key: string): Promise<RunDoc> {
  const id = dataset.brain_methods?.[key];
  const doc = id ? await runs(db).findOne({ _id: id }) : null;
  if (!doc) throw new BrainError("BRAIN_KEY_NOT_FOUND", `Dataset '${dataset.name}' has no brain run with key '${key}'`);
  return doc;
}

export function assertNewBrainKey(dataset: DatasetDoc, key: unknown): asserts key is string {
  const invalid = validateBrainKey(key);
  if (invalid) throw new BrainError("BRAIN_KEY_INVALID", invalid);
  if (dataset.brain_methods && key as string in dataset.brain_methods) {
    throw new BrainError("BRAIN_KEY_EXISTS", `A brain run with key '${key}' already exists on dataset '${dataset.name}'`);
  }
}

export interface NewRun {
  key: string;
  config: RunConfig;
  viewStages: string[] | null;
  results: Document | null;
  version: string;
}

/**
 * Checks, before any work, that a score run may be stored under `key` as the reference
 * allows: a valid key that is new, or whose run has the same config class and the same
 * values for `mustMatch` (then it is replaced). Returns whether a run will be replaced.
 * Messages follow the reference's.
 */
export async function assertReplaceableRun(
  db: Db,
  dataset: DatasetDoc,
  key: string,
  cls: string,
  mustMatch: Record<string, unknown>,
): Promise<boolean> {
  const invalid = validateBrainKey(key);
  if (invalid) throw new BrainError("BRAIN_KEY_INVALID", invalid);
  if (!dataset.brain_methods?.[key]) return false;
  const existing = await getBrainRun(db, dataset, key);
  if (existing.config.cls !== cls) {
    throw new BrainError(
      "BRAIN_KEY_EXISTS",
      `Cannot overwrite existing brain method run '${key}' of type ${existing.config.cls} with one of type ${cls}; please choose a different key or delete the existing one first`,
    );
  }
  for (const [name, value] of Object.entries(mustMatch)) {
    if (existing.config[name] !== value) {
      throw new BrainError(
        "BRAIN_KEY_EXISTS",
        `Cannot overwrite existing brain method run '${key}' where ${name}=${existing.config[name]} with one where ${name}=${value}. Please choose a different key or delete the existing one first`,
      );
    }
  }
  return true;
}

/**
 * Registers a completed run; with `replace`, one that exists under the key is replaced. Results go to GridFS first and the dataset's map entry
 * last: the run becomes visible only once everything it refers to exists, and any
 * failure removes what was written.
 */
export async function registerBrainRun(db: Db, dataset: DatasetDoc, run: NewRun, options: { replace?: boolean } = {}): Promise<RunDoc> {
  const previous = options.replace ? dataset.brain_methods?.[run.key] : undefined;
  if (previous) {
    const invalid = validateBrainKey(run.key);
    if (invalid) throw new BrainError("BRAIN_KEY_INVALID", invalid);
  } else {
    assertNewBrainKey(dataset, run.key);
  }
  const bucket = new GridFSBucket(db);
  let resultsId: ObjectId | null = null;
  const runId = new ObjectId();
  try {
    if (run.results) resultsId = await uploadJson(bucket, run.results);
    const doc: RunDoc = {
      _id: runId,
      _dataset_id: dataset._id,
      key: run.key,
      version: run.version,
      timestamp: new Date(),
      config: run.config,
      view_stages: run.viewStages,
      results_meta: {},
      ...(resultsId ? { results: resultsId } : {}),
    };
    await runs(db).insertOne(doc);
    const { modifiedCount } = await datasets(db).updateOne(
      { _id: dataset._id, [`brain_methods.${run.key}`]: previous ?? { $exists: false } },
      { $set: { [`brain_methods.${run.key}`]: runId } },
    );
    if (modifiedCount !== 1) {
      throw new BrainError("BRAIN_KEY_EXISTS", `The brain run with key '${run.key}' was changed meanwhile`);
    }
    dataset.brain_methods = { ...(dataset.brain_methods ?? {}), [run.key]: runId };
    if (previous) {
      // The replaced run's record and results go; its fields stay (the reference's cleanup=False).
      const old = await runs(db).findOneAndDelete({ _id: previous });
      if (old?.results) await bucket.delete(old.results).catch(() => undefined);
    }
    return doc;
  } catch (err) {
    await runs(db).deleteOne({ _id: runId }).catch(() => undefined);
    if (resultsId) await bucket.delete(resultsId).catch(() => undefined);
    throw err;
  }
}

export function uploadJson(bucket: GridFSBucket, value: Document): Promise<ObjectId> {
  return new Promise((resolve, reject) => {
    const upload = bucket.openUploadStream("results.json", { contentType: "application/json" } as never);
    upload.on("error", reject);
    upload.on("finish", () => resolve(upload.id));
    upload.end(Buffer.from(EJSON.stringify(value, { relaxed: true })));
  });
}

/** Sets entries of a run's config (`{ key: value }` → `config.key`), with any other `$set` entries. */
export async function updateRunConfig(db: Db, run: RunDoc, config: Document, set: Document = {}): Promise<void> {
  const update: Document = { ...set };
  for (const [k, v] of Object.entries(config)) update[`config.${k}`] = v;
  await runs(db).updateOne({ _id: run._id }, { $set: update });
}

export async function loadBrainResults(db: Db, run: RunDoc): Promise<Document | null> {
  if (!run.results) return null;
  const chunks: Buffer[] = [];
  for await (const chunk of new GridFSBucket(db).openDownloadStream(run.results)) chunks.push(chunk as Buffer);
  return EJSON.parse(Buffer.concat(chunks).toString("utf8"), { relaxed: true }) as Document;
}

export async function renameBrainRun(db: Db, dataset: DatasetDoc, key: string, newKey: string): Promise<void> {
  const run = await getBrainRun(db, dataset, key);
  assertNewBrainKey(dataset, newKey);
  // A visualization's points stored under the brain key follow it, as in the reference.
  if (run.config.type === "visualization" && run.config.points_field === key) {
    const patches = labelPointsField(dataset, run.config);
    if (patches) await renameLabelAttribute(db, dataset, patches, key, newKey);
    else await renameSampleField(db, dataset, key, newKey);
    await updateRunConfig(db, run, { points_field: newKey });
  }
  await runs(db).updateOne({ _id: run._id }, { $set: { key: newKey } });
  await datasets(db).updateOne(
    { _id: dataset._id },
    { $unset: { [`brain_methods.${key}`]: "" }, $set: { [`brain_methods.${newKey}`]: run._id } },
  );
  const map = { ...(dataset.brain_methods ?? {}) };
  delete map[key];
  dataset.brain_methods = { ...map, [newKey]: run._id };
}

/** The label field holding a patches visualization's points attribute, or null (samples, or the field is gone). */
function labelPointsField(dataset: DatasetDoc, config: RunConfig) {
  if (config.type !== "visualization" || typeof config.patches_field !== "string") return null;
  try {
    return patchField(dataset, config.patches_field, "patches_field");
  } catch {
    return null;
  }
}

/**
 * Top-level sample fields a run wrote, which deleting it removes. Covers this runtime's
 * runs and the reference's score and visualization runs; a similarity run owns no field.
 */
export function fieldsOwnedByRun(config: RunConfig): string[] {
  const candidates = [
    config.output_field,
    config.uniqueness_field,
    config.hardness_field,
    config.mistakenness_field,
    config.representativeness_field,
    // points of patches are a label attribute (deleteBrainRun removes it)
    config.patches_field ? null : config.points_field,
    // the reference's detection mistakenness also writes these counts (its object attributes are not removed here)
    ...(config.method === "detection" ? [config.missing_field, config.spurious_field] : []),
    // near duplicates: the duplicates view's optional fields
    ...(config.method === "near_duplicates" ? [config.type_field, config.id_field, config.dist_field] : []),
  ];
  return candidates.filter((f): f is string => typeof f === "string" && f.length > 0);
}

/**
 * A detection mistakenness run also wrote object attributes (and, with copy_missing,
 * copies of predictions in the ground truth): removed as the reference's cleanup does, from
 * the samples or, for frame fields, the frames.
 */
async function removeDetectionMistakennessAttributes(db: Db, dataset: DatasetDoc, config: RunConfig): Promise<void> {
  if (config.method !== "detection" || config.type !== "mistakenness") return;
  const { pred_field: predPath, label_field: gtPath, mistakenness_field: m, missing_field: missing, spurious_field: spurious } = config;
  if (![predPath, gtPath, m, missing, spurious].every((f) => typeof f === "string" && f)) return;
  const onFrames = (gtPath as string).startsWith(FRAMES_PREFIX);
  const [pred, gt] = [predPath, gtPath].map((f) => (onFrames ? (f as string).slice(FRAMES_PREFIX.length) : (f as string)));
  const field = onFrames ? findFrameField(dataset, gt) : findField(dataset, gt);
  const list = OBJECT_LISTS[(field ? labelType(field) : null) as ObjectListType] ?? "detections";
  const docs = onFrames ? framesCollection(db, dataset) : db.collection(dataset.sample_collection_name);
  if (config.copy_missing) {
    await docs.updateMany({ [`${gt}.${list}.${missing}`]: { $exists: true } }, { $pull: { [`${gt}.${list}`]: { [missing as string]: { $exists: true } } } } as Document);
  }
  await docs.updateMany(
    { [`${gt}.${list}.0`]: { $exists: true } },
    { $unset: { [`${gt}.${list}.$[].${m}`]: "", [`${gt}.${list}.$[].${m}_loc`]: "", [`${gt}.${list}.$[].${spurious}`]: "" } },
  );
  await docs.updateMany({ [`${pred}.${list}.0`]: { $exists: true } }, { $unset: { [`${pred}.${list}.$[].${missing}`]: "" } });
}

export async function deleteBrainRun(db: Db, dataset: DatasetDoc, key: string): Promise<{ deletedFields: string[] }> {
  const run = await getBrainRun(db, dataset, key);
  await removeDetectionMistakennessAttributes(db, dataset, run.config);
  const deletedFields = fieldsOwnedByRun(run.config);
  for (const field of deletedFields) await deleteSampleField(db, dataset, field);
  // a run on a frame field also wrote its scores per frame (the reference's cleanup removes both)
  const label = run.config.label_field;
  if (typeof label === "string" && label.startsWith(FRAMES_PREFIX)) {
    for (const field of deletedFields.filter((f) => findFrameField(dataset, f))) {
      await deleteFrameField(db, dataset, field);
      deletedFields.push(FRAMES_PREFIX + field);
    }
  }
  const patches = typeof run.config.points_field === "string" ? labelPointsField(dataset, run.config) : null;
  if (patches) await deleteLabelAttribute(db, dataset, patches, run.config.points_field as string);
  await datasets(db).updateOne({ _id: dataset._id }, { $unset: { [`brain_methods.${key}`]: "" } });
  await runs(db).deleteOne({ _id: run._id });
  if (run.results) await new GridFSBucket(db).delete(run.results).catch(() => undefined);
  const map = { ...(dataset.brain_methods ?? {}) };
  delete map[key];
  dataset.brain_methods = map;
  return { deletedFields };
}
