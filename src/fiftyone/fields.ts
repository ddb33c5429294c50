import { AnyBulkWriteOperation, Db, Document, ObjectId } from "mongodb";
import { BrainError } from "../errors";
import { DatasetDoc, FieldDoc, findField, samplesCollection } from "./datasets";

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
  chunkSize = 1000,
): Promise<number> {
  const error = validateNewFieldName(dataset, field.name);
  if (error) throw new BrainError("FIELD_EXISTS", error);
  const samples = samplesCollection(db, dataset);
  let written = 0;
  try {
    let ops: AnyBulkWriteOperation<Document>[] = [];
    const now = new Date();
    for await (const [id, value] of values) {
      ops.push({
        updateOne: {
          filter: { _id: new ObjectId(id) },
          update: { $set: { [field.name]: value, last_modified_at: now } },
        },
      });
      if (ops.length >= chunkSize) {
        written += (await samples.bulkWrite(ops, { ordered: false })).modifiedCount;
        ops = [];
      }
    }
    if (ops.length) written += (await samples.bulkWrite(ops, { ordered: false })).modifiedCount;
    await db.collection<DatasetDoc>("datasets").updateOne(
      { _id: dataset._id, "sample_fields.name": { $ne: field.name } },
      { $push: { sample_fields: field }, $set: { last_modified_at: new Date() } },
    );
  } catch (err) {
    await samples.updateMany({}, { $unset: { [field.name]: "" } }).catch(() => undefined);
    throw err;
  }
  dataset.sample_fields.push(field);
  return written;
}

/** Removes a top-level field's values and its schema entry. */
export async function deleteSampleField(db: Db, dataset: DatasetDoc, name: string): Promise<void> {
  await db
    .collection<DatasetDoc>("datasets")
    .updateOne({ _id: dataset._id }, { $pull: { sample_fields: { name } }, $set: { last_modified_at: new Date() } });
  await samplesCollection(db, dataset).updateMany({ [name]: { $exists: true } }, { $unset: { [name]: "" } });
  dataset.sample_fields = dataset.sample_fields.filter((f) => f.name !== name);
}
