import { Binary, Db, Document, Double, ObjectId } from "mongodb";
import { BrainError } from "../errors";
import { BulkWriter } from "./bulkWriter";
import { DatasetDoc, FieldDoc, findField, samplesCollection } from "./datasets";
import { storedArray } from "./embeddings";
import { fieldDoc, FLOAT_FIELD } from "./fields";
import { requireLabelField } from "./labels";
import { streamSamples, ViewTarget } from "./samples";

/** Label types whose objects can be cut out as patches (spec §0.1). */
export const PATCH_TYPES = ["Detection", "Detections", "Polyline", "Polylines"] as const;
const LIST_KEY: Record<string, string> = { Detections: "detections", Polylines: "polylines" };

export interface PatchField {
  name: string;
  type: string;
  /** Path of the label documents: `gt.detections` for lists, `gt` for single labels. */
  labelsPath: string;
}

/** Checks `name` is a Detection(s)/Polyline(s) field; `param` names the parameter in errors. */
export function patchField(dataset: DatasetDoc, name: string, param: string): PatchField {
  const type = requireLabelField(dataset, name, PATCH_TYPES, param);
  return { name, type, labelsPath: LIST_KEY[type] ? `${name}.${LIST_KEY[type]}` : name };
}

/** The label documents of one sample's field value (none when the value is missing). */
export function labelsOf(value: unknown, field: PatchField): Array<Record<string, unknown>> {
  if (value === null || value === undefined || typeof value !== "object") return [];
  const key = LIST_KEY[field.type];
  if (!key) return [value as Record<string, unknown>];
  const list = (value as Record<string, unknown>)[key];
  return Array.isArray(list) ? (list.filter((l) => l && typeof l === "object") as Array<Record<string, unknown>>) : [];
}

export function labelId(label: Record<string, unknown>): string {
  const id = label._id;
  return id instanceof ObjectId ? id.toHexString() : String(id);
}

/** `emb` or `gt.detections.emb` → `emb` (FiftyOne accepts both for patch embeddings). */
export function attributeName(field: PatchField, name: string): string {
  const attr = name.startsWith(`${field.labelsPath}.`) ? name.slice(field.labelsPath.length + 1) : name;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(attr)) {
    throw new BrainError("INVALID_PARAMS", `Invalid label attribute '${name}' for the labels of '${field.name}': use letters, digits and _`);
  }
  return attr;
}

/** The schema entries of the label documents (where FiftyOne declares label attributes). */
function labelSchema(dataset: DatasetDoc, field: PatchField): FieldDoc[] {
  const top = findField(dataset, field.name);
  if (!top) return [];
  const key = LIST_KEY[field.type];
  return key ? (top.fields.find((f) => f.name === key)?.fields ?? []) : top.fields;
}

export interface LabelEmbeddings {
  /** Sample id of each row. */
  ids: string[];
  labelIds: string[];
  vectors: Float32Array;
  dim: number;
  /** Labels without a value; skipped. */
  numMissing: number;
}

/**
 * Reads a vector attribute of the labels of a patches field, in sample then label order,
 * skipping labels without a value. Growing buffer: the label count is not known up front.
 */
export async function readLabelEmbeddings(
  db: Db,
  dataset: DatasetDoc,
  target: ViewTarget,
  field: PatchField,
  attribute: string,
  signal?: AbortSignal,
): Promise<LabelEmbeddings> {
  const attr = attributeName(field, attribute);
  const ids: string[] = [];
  const labelIds: string[] = [];
  let vectors = new Float32Array(1024);
  let dim = -1;
  let numMissing = 0;
  let numLabels = 0;
  type Doc = { _id: ObjectId; [k: string]: unknown };
  for await (const batch of streamSamples<Doc>(db, dataset, target, { _id: 1, [field.name]: 1 }, 1000)) {
    signal?.throwIfAborted();
    for (const doc of batch) {
      for (const label of labelsOf(doc[field.name], field)) {
        numLabels++;
        const where = `Label attribute '${field.labelsPath}.${attr}' of label '${labelId(label)}'`;
        let arr: ReturnType<typeof storedArray>;
        try {
          arr = storedArray(label[attr]);
        } catch (err) {
          throw new BrainError("INVALID_DATA", `${where} ${(err as Error).message}`);
        }
        if (arr === null) {
          numMissing++;
          continue;
        }
        if (arr.shape.length !== 1 || arr.shape[0] === 0) throw new BrainError("INVALID_DATA", `${where} holds an array of shape (${arr.shape.join(", ")}), not a vector`);
        if (dim < 0) dim = arr.shape[0];
        else if (arr.shape[0] !== dim) throw new BrainError("INVALID_DATA", `Embeddings in '${field.labelsPath}.${attr}' have different dimensions: ${where} has ${arr.shape[0]}, earlier labels have ${dim}`);
        if ((ids.length + 1) * dim > vectors.length) {
          const grown = new Float32Array(Math.max(vectors.length * 2, (ids.length + 1) * dim));
          grown.set(vectors);
          vectors = grown;
        }
        for (let k = 0; k < dim; k++) {
          const v = arr.data[k];
          if (!Number.isFinite(v)) throw new BrainError("INVALID_DATA", `${where} contains ${v} (element ${k})`);
          vectors[ids.length * dim + k] = v;
        }
        ids.push(doc._id.toHexString());
        labelIds.push(labelId(label));
      }
    }
  }
  if (numLabels > 0 && ids.length === 0 && !labelSchema(dataset, field).some((f) => f.name === attr)) {
    throw new BrainError("FIELD_NOT_FOUND", `No label of '${field.name}' has an attribute '${attr}'`);
  }
  return { ids, labelIds, vectors: vectors.slice(0, ids.length * Math.max(dim, 0)), dim: Math.max(dim, 0), numMissing };
}

/** Why a label attribute cannot be written as a new embeddings attribute, or null. */
export async function newLabelAttributeError(db: Db, dataset: DatasetDoc, field: PatchField, attr: string): Promise<string | null> {
  if (labelSchema(dataset, field).some((f) => f.name === attr)) return `The labels of '${field.name}' already have an attribute '${attr}'`;
  const used = await samplesCollection(db, dataset).countDocuments({ [`${field.labelsPath}.${attr}`]: { $exists: true } }, { limit: 1 });
  return used ? `Some labels of '${field.name}' already have a value for '${attr}'` : null;
}

/**
 * Writes vectors onto labels (`<labelsPath>.<attr>`) and declares the attribute as a
 * VectorField in the label schema, so Python reads numpy arrays back. Values stream in;
 * on any error the attribute is removed from every label again.
 */
export async function writeLabelEmbeddings(
  db: Db,
  dataset: DatasetDoc,
  field: PatchField,
  attr: string,
  values: AsyncIterable<[string, string, Binary]>,
): Promise<number> {
  const error = await newLabelAttributeError(db, dataset, field, attr);
  if (error) throw new BrainError("FIELD_EXISTS", error);
  return writeLabelValues(db, dataset, field, attr, values, { declare: fieldDoc(attr, "fiftyone.core.fields.VectorField"), removeOnError: true });
}

/**
 * Writes a float per listed label (`<labelsPath>.<attr>`; other labels keep theirs), as a
 * FloatField of the label schema: declared if new, else it must already be a FloatField.
 * A new attribute is removed from every label again on error.
 */
export async function writeLabelScores(db: Db, dataset: DatasetDoc, field: PatchField, attr: string, values: Array<[string, string, number]>): Promise<number> {
  const existing = labelSchema(dataset, field).find((f) => f.name === attr);
  if (existing && existing.ftype !== FLOAT_FIELD) {
    throw new BrainError("FIELD_EXISTS", `The labels of '${field.name}' already have an attribute '${attr}' of type ${existing.ftype.split(".").pop()}; choose another name`);
  }
  const doubles = (async function* (): AsyncIterable<[string, string, Double]> {
    for (const [sample, label, v] of values) yield [sample, label, new Double(v)];
  })();
  return writeLabelValues(db, dataset, field, attr, doubles, { declare: existing ? null : fieldDoc(attr, FLOAT_FIELD), removeOnError: !existing });
}

/**
 * A visualization's 2-D point of each listed label as `<labelsPath>.<attr>` (the
 * reference's `points_field` of patches), declared as a ListField(FloatField) of the
 * label schema. The attribute must be new; on error it is removed again.
 */
export async function writeLabelPoints(db: Db, dataset: DatasetDoc, field: PatchField, attr: string, values: Iterable<[string, string, [number, number]]>): Promise<number> {
  const error = await newLabelAttributeError(db, dataset, field, attr);
  if (error) throw new BrainError("FIELD_EXISTS", error);
  const doubles = (async function* (): AsyncIterable<[string, string, Double[]]> {
    for (const [sample, label, [x, y]] of values) yield [sample, label, [new Double(x), new Double(y)]];
  })();
  return writeLabelValues(db, dataset, field, attr, doubles, { declare: fieldDoc(attr, "fiftyone.core.fields.ListField", FLOAT_FIELD), removeOnError: true });
}

/** Removes a label attribute from every label and from the label schema. */
export async function deleteLabelAttribute(db: Db, dataset: DatasetDoc, field: PatchField, attr: string): Promise<void> {
  const { path, filters } = labelSchemaPath(field);
  const update: Document = { $pull: { [path]: { name: attr } }, $set: { last_modified_at: new Date() } };
  await db.collection<Document>("datasets").updateOne({ _id: dataset._id }, update, { arrayFilters: filters });
  const list = Boolean(LIST_KEY[field.type]);
  await samplesCollection(db, dataset).updateMany(
    { [`${field.labelsPath}.${attr}`]: { $exists: true } },
    { $unset: list ? { [`${field.labelsPath}.$[].${attr}`]: "" } : { [`${field.labelsPath}.${attr}`]: "" } },
  );
  const schema = labelSchema(dataset, field);
  const at = schema.findIndex((f) => f.name === attr);
  if (at >= 0) schema.splice(at, 1);
}

/** Renames a label attribute on every label and in the label schema (`$rename` cannot reach into arrays, so lists are rewritten). */
export async function renameLabelAttribute(db: Db, dataset: DatasetDoc, field: PatchField, attr: string, newAttr: string): Promise<void> {
  const samples = samplesCollection(db, dataset);
  const filter = { [`${field.labelsPath}.${attr}`]: { $exists: true } };
  if (LIST_KEY[field.type]) {
    const renamed = {
      $map: {
        input: `$${field.labelsPath}`,
        as: "l",
        in: {
          $mergeObjects: [
            { $arrayToObject: { $filter: { input: { $objectToArray: "$$l" }, cond: { $ne: ["$$this.k", attr] } } } },
            // a label without the attribute gets none (a missing value leaves the key out)
            { [newAttr]: `$$l.${attr}` },
          ],
        },
      },
    };
    await samples.updateMany(filter, [{ $set: { [field.labelsPath]: renamed } }]);
  } else {
    await samples.updateMany(filter, { $rename: { [`${field.labelsPath}.${attr}`]: `${field.labelsPath}.${newAttr}` } });
  }
  const { path, filters } = labelSchemaPath(field);
  await db.collection<Document>("datasets").updateOne(
    { _id: dataset._id },
    { $set: { [`${path}.$[a].name`]: newAttr, [`${path}.$[a].db_field`]: newAttr, last_modified_at: new Date() } },
    { arrayFilters: [...filters, { "a.name": attr }] },
  );
  const entry = labelSchema(dataset, field).find((f) => f.name === attr);
  if (entry) Object.assign(entry, { name: newAttr, db_field: newAttr });
}

/** Where the label schema sits in the dataset document: inside the top-level field's entry (and its list's entry). */
function labelSchemaPath(field: PatchField): { path: string; filters: Document[] } {
  return LIST_KEY[field.type]
    ? { path: "sample_fields.$[f].fields.$[g].fields", filters: [{ "f.name": field.name }, { "g.name": LIST_KEY[field.type] }] }
    : { path: "sample_fields.$[f].fields", filters: [{ "f.name": field.name }] };
}

/** Sets `<labelsPath>.<attr>` of each listed label, then declares the attribute (if asked) in the label schema. */
async function writeLabelValues(
  db: Db,
  dataset: DatasetDoc,
  field: PatchField,
  attr: string,
  values: AsyncIterable<[string, string, unknown]>,
  options: { declare: FieldDoc | null; removeOnError: boolean },
): Promise<number> {
  const samples = samplesCollection(db, dataset);
  const list = Boolean(LIST_KEY[field.type]);
  const unset = list ? { [`${field.labelsPath}.$[].${attr}`]: "" } : { [`${field.labelsPath}.${attr}`]: "" };
  let written = 0;
  const writer = new BulkWriter(samples);
  try {
    for await (const [sampleId, label, value] of values) {
      await writer.add(
        list
          ? {
              filter: { _id: new ObjectId(sampleId) },
              update: { $set: { [`${field.labelsPath}.$[l].${attr}`]: value } },
              arrayFilters: [{ "l._id": new ObjectId(label) }],
            }
          : { filter: { _id: new ObjectId(sampleId) }, update: { $set: { [`${field.labelsPath}.${attr}`]: value } } },
      );
    }
    written = await writer.flush();
    const entry = options.declare;
    if (entry) {
      const { path, filters } = labelSchemaPath(field);
      const update: Document = { $push: { [path]: entry }, $set: { last_modified_at: new Date() } };
      await db.collection<Document>("datasets").updateOne({ _id: dataset._id }, update, { arrayFilters: filters });
      labelSchema(dataset, field).push(entry);
    }
  } catch (err) {
    await writer.settled();
    if (options.removeOnError) {
      const filter = { [`${field.labelsPath}.${attr}`]: { $exists: true } };
      await samples.updateMany(filter, { $unset: unset }).catch(() => undefined);
    }
    throw err;
  }
  return written;
}
