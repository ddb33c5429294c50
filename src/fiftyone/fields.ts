import { Db, Document, Double, ObjectId } from "mongodb";
import { FieldValueWriter } from "./bulkWriter";
import { BrainError } from "../errors";
import { DatasetDoc, FieldDoc, findField, findFrameField, framesCollection, samplesCollection } from "./datasets";

/** FiftyOne field classes this runtime writes. */
export type FieldType =
  | "fiftyone.core.fields.FloatField"
  | "fiftyone.core.fields.IntField"
  | "fiftyone.core.fields.StringField"
  | "fiftyone.core.fields.BooleanField"
  | "fiftyone.core.fields.VectorField"
  | "fiftyone.core.fields.ListField";

const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function validateNewFieldName(dataset: DatasetDoc, name: unknown): string | null {
  if (typeof name !== "string" || !name) return "A field name is required";
  if (!FIELD_NAME.test(name)) return `Invalid field name '${name}': use letters, digits and _`;
  if (findField(dataset, name)) return `Field '${name}' already exists on dataset '${dataset.name}'`;
  return null;
}

export function fieldDoc(name: string, ftype: FieldType, subfield: FieldType | null = null): FieldDoc {
  return {
    name,
    ftype,
    embedded_doc_type: null,
    subfield,
    fields: [],
    db_field: name,
    description: null,
    info: null,
    read_only: false,
    created_at: new Date(),
  };
}

/**
 * Writes one value per sample into a new top-level field and declares it in the
 * dataset's schema, so FiftyOne (Python and the App) sees a typed field. Values may be
 * produced while they are written (an async iterable), so a job streams its results
 * instead of holding them. Values are written first and the schema last; on any error
 * the values are removed again, so a failed write leaves no half-written field behind.
 */
export async function writeSampleField(
  db: Db,
  dataset: DatasetDoc,
  field: FieldDoc,
  values: Iterable<[string, unknown]> | AsyncIterable<[string, unknown]>,
): Promise<number> {
  const error = validateNewFieldName(dataset, field.name);
  if (error) throw new BrainError("FIELD_EXISTS", error);
  const samples = samplesCollection(db, dataset);
  let written = 0;
  const writer = new FieldValueWriter(samples, field.name, { last_modified_at: new Date() });
  try {
    for await (const [id, value] of values) await writer.add(new ObjectId(id), value);
    written = await writer.flush();
    await declareFields(db, dataset, [field]);
  } catch (err) {
    await writer.settled();
    await samples.updateMany({}, { $unset: { [field.name]: "" } }).catch(() => undefined);
    throw err;
  }
  return written;
}

/**
 * Declares fields in the dataset's sample schema (or, with `frames`, its frame schema), in
 * the database and in `dataset`; a name already declared there is left as it is.
 */
export async function declareFields(db: Db, dataset: DatasetDoc, fields: FieldDoc[], frames = false): Promise<void> {
  const key = frames ? "frame_fields" : "sample_fields";
  for (const field of fields) {
    await db
      .collection<DatasetDoc>("datasets")
      .updateOne({ _id: dataset._id, [`${key}.name`]: { $ne: field.name } }, { $push: { [key]: field }, $set: { last_modified_at: new Date() } } as Document);
    const declared = frames ? (dataset.frame_fields ??= []) : dataset.sample_fields;
    if (!declared.some((f) => f.name === field.name)) declared.push(field);
  }
}

/**
 * Writes a float score per frame (null = no value) into the frame field `name` of a video
 * dataset: a new FloatField declared in the frame schema, or an existing FloatField
 * overwritten for these frames. A failed write removes a field it created. Returns whether
 * the field was created.
 */
export async function writeFrameScoreField(
  db: Db,
  dataset: DatasetDoc,
  name: string,
  values: Iterable<[ObjectId, number | null]>,
): Promise<{ created: boolean }> {
  const existing = findFrameField(dataset, name);
  const error = scoreFieldError(dataset, name, true);
  if (error) throw new BrainError(existing ? "FIELD_EXISTS" : "INVALID_PARAMS", error);
  const frames = framesCollection(db, dataset);
  const writer = new FieldValueWriter(frames, name, { last_modified_at: new Date() });
  try {
    for (const [id, v] of values) await writer.add(id, v === null ? null : new Double(v));
    await writer.flush();
    if (!existing) await declareFields(db, dataset, [fieldDoc(name, FLOAT_FIELD)], true);
  } catch (err) {
    await writer.settled();
    if (!existing) await frames.updateMany({}, { $unset: { [name]: "" } }).catch(() => undefined);
    throw err;
  }
  return { created: !existing };
}

/** Removes a frame field's values and its schema entry (as FiftyOne's delete_frame_field). */
export async function deleteFrameField(db: Db, dataset: DatasetDoc, name: string): Promise<void> {
  await db
    .collection<DatasetDoc>("datasets")
    .updateOne({ _id: dataset._id }, { $pull: { frame_fields: { name } }, $set: { last_modified_at: new Date() } });
  await framesCollection(db, dataset).updateMany({ [name]: { $exists: true } }, { $unset: { [name]: "" } });
  dataset.frame_fields = (dataset.frame_fields ?? []).filter((f) => f.name !== name);
}

/** Removes a top-level field's values, its schema entry and the database indexes on it (as FiftyOne's delete_sample_field). */
export async function deleteSampleField(db: Db, dataset: DatasetDoc, name: string): Promise<void> {
  await db
    .collection<DatasetDoc>("datasets")
    .updateOne({ _id: dataset._id }, { $pull: { sample_fields: { name } }, $set: { last_modified_at: new Date() } });
  const samples = samplesCollection(db, dataset);
  const indexes = await samples.indexes().catch(() => []);
  for (const index of indexes) {
    if (index.name && Object.keys(index.key).some((k) => k === name || k.startsWith(`${name}.`))) await samples.dropIndex(index.name);
  }
  await samples.updateMany({ [name]: { $exists: true } }, { $unset: { [name]: "" } });
  dataset.sample_fields = dataset.sample_fields.filter((f) => f.name !== name);
}

/**
 * Renames a top-level field: its values, its schema entry, and the database indexes on it
 * (recreated on the new name with their options, e.g. a "2d" index's bounds), as FiftyOne's
 * rename_sample_field.
 */
export async function renameSampleField(db: Db, dataset: DatasetDoc, name: string, newName: string): Promise<void> {
  const error = validateNewFieldName(dataset, newName);
  if (error) throw new BrainError("FIELD_EXISTS", error);
  const samples = samplesCollection(db, dataset);
  const indexes = (await samples.indexes().catch(() => [])).filter((index) => index.name && Object.keys(index.key).some((k) => k === name));
  for (const index of indexes) await samples.dropIndex(index.name!);
  await samples.updateMany({ [name]: { $exists: true } }, { $rename: { [name]: newName } });
  for (const { key, name: _indexName, v: _v, ns: _ns, ...options } of indexes) {
    const renamed = Object.fromEntries(Object.entries(key).map(([k, dir]) => [k === name ? newName : k, dir]));
    await samples.createIndex(renamed, options);
  }
  await db
    .collection<DatasetDoc>("datasets")
    .updateOne({ _id: dataset._id, "sample_fields.name": name }, { $set: { "sample_fields.$.name": newName, "sample_fields.$.db_field": newName, last_modified_at: new Date() } });
  const entry = findField(dataset, name);
  if (entry) Object.assign(entry, { name: newName, db_field: newName });
}

export const FLOAT_FIELD: FieldType = "fiftyone.core.fields.FloatField";

/**
 * Why a score field (a frame field with `frames`) cannot be written, or null: it must be a
 * valid name and either new or an existing FloatField (the reference overwrites a score
 * field in place, spec P.11).
 */
export function scoreFieldError(dataset: DatasetDoc, name: unknown, frames = false): string | null {
  if (typeof name !== "string" || !name) return "A field name is required";
  if (!FIELD_NAME.test(name)) return `Invalid field name '${name}': use letters, digits and _`;
  const existing = frames ? findFrameField(dataset, name) : findField(dataset, name);
  if (existing && existing.ftype !== FLOAT_FIELD) {
    return `${frames ? "Frame field" : "Field"} '${name}' already exists on dataset '${dataset.name}' as a ${existing.ftype.split(".").pop()}; choose another field name`;
  }
  return null;
}

/**
 * Writes a float score per sample (null = no value) as the reference does: a new
 * FloatField with its schema entry, or, if the FloatField exists, its values for these
 * samples overwritten in place (samples not listed keep theirs). Numbers are stored as
 * BSON doubles, so a score of exactly 1 stays a float for FiftyOne.
 * Returns whether the field was created (so a caller can remove it again on failure).
 */
export async function writeScoreField(
  db: Db,
  dataset: DatasetDoc,
  name: string,
  values: Iterable<[string, number | null]>,
): Promise<{ created: boolean }> {
  const error = scoreFieldError(dataset, name);
  if (error) throw new BrainError("FIELD_EXISTS", error);
  const asDoubles = function* (): Iterable<[string, unknown]> {
    for (const [id, v] of values) yield [id, v === null ? null : new Double(v)];
  };
  if (!findField(dataset, name)) {
    await writeSampleField(db, dataset, fieldDoc(name, FLOAT_FIELD), asDoubles());
    return { created: true };
  }
  const samples = samplesCollection(db, dataset);
  const writer = new FieldValueWriter(samples, name, { last_modified_at: new Date() });
  for (const [id, value] of asDoubles()) await writer.add(new ObjectId(id), value);
  await writer.flush();
  return { created: false };
}
