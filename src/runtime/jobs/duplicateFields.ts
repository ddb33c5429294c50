import { Db, Double } from "mongodb";
import { BrainError } from "../../errors";
import { DatasetDoc, findField } from "../../fiftyone/datasets";
import { deleteSampleField, fieldDoc, FLOAT_FIELD, FieldType, validateNewFieldName, writeSampleField } from "../../fiftyone/fields";
import { optionalString, RawParams } from "../params";

/**
 * The optional fields of the reference's `duplicates_view(type_field, id_field,
 * dist_field)` (spec §6.5), written for every sample of a duplicate group: its type
 * ("nearest" for the kept sample, "duplicate"), the id of the group's kept sample (which
 * points to itself) and the distance to it (0.0 for the kept sample). Unlike the
 * reference, which writes into any field, they must be new fields: a run owns them and
 * deleting the run removes them.
 */
export const DUPLICATE_FIELD_PARAMS = ["type_field", "id_field", "dist_field"] as const;
export type DuplicateFieldParam = (typeof DUPLICATE_FIELD_PARAMS)[number];
export type DuplicateFieldNames = Partial<Record<DuplicateFieldParam, string>>;

const STRING_FIELD: FieldType = "fiftyone.core.fields.StringField";

/** The requested field names, checked before anything is computed: valid, new and distinct. */
export function parseDuplicateFields(params: RawParams, dataset: DatasetDoc): DuplicateFieldNames {
  const names: DuplicateFieldNames = {};
  const seen = new Map<string, DuplicateFieldParam>();
  for (const param of DUPLICATE_FIELD_PARAMS) {
    const name = optionalString(params, param);
    if (name === undefined || name === "") continue;
    const error = validateNewFieldName(dataset, name);
    if (error) throw new BrainError(findField(dataset, name) ? "FIELD_EXISTS" : "INVALID_PARAMS", `${param}: ${error}`);
    const other = seen.get(name);
    if (other) throw new BrainError("INVALID_PARAMS", `${param} and ${other} are both '${name}': give each its own field`);
    seen.set(name, param);
    names[param] = name;
  }
  return names;
}

/** Values of the three fields by sample id, from a neighbours map (kept id → [duplicate id, distance][]). */
export function duplicateFieldValues(neighborsMap: Record<string, [string, number][]>): {
  type: [string, string][];
  nearest: [string, string][];
  dist: [string, number][];
} {
  const type: [string, string][] = [];
  const nearest: [string, string][] = [];
  const dist: [string, number][] = [];
  for (const [kept, group] of Object.entries(neighborsMap)) {
    type.push([kept, "nearest"]);
    nearest.push([kept, kept]);
    dist.push([kept, 0]);
    for (const [dup, d] of group) {
      type.push([dup, "duplicate"]);
      nearest.push([dup, kept]);
      dist.push([dup, d]);
    }
  }
  return { type, nearest, dist };
}

/**
 * Writes the requested fields with their schema. All or nothing: if one fails, those
 * already written are removed. Returns the names written.
 */
export async function writeDuplicateFields(
  db: Db,
  dataset: DatasetDoc,
  names: DuplicateFieldNames,
  neighborsMap: Record<string, [string, number][]>,
): Promise<string[]> {
  const values = duplicateFieldValues(neighborsMap);
  const plan: [string | undefined, FieldType, Iterable<[string, unknown]>][] = [
    [names.type_field, STRING_FIELD, values.type],
    [names.id_field, STRING_FIELD, values.nearest],
    // BSON doubles, so 0 stays a float for FiftyOne.
    [names.dist_field, FLOAT_FIELD, values.dist.map(([id, d]): [string, unknown] => [id, new Double(d)])],
  ];
  const written: string[] = [];
  try {
    for (const [name, ftype, fieldValues] of plan) {
      if (!name) continue;
      await writeSampleField(db, dataset, fieldDoc(name, ftype), fieldValues);
      written.push(name);
    }
  } catch (err) {
    await removeDuplicateFields(db, dataset, written);
    throw err;
  }
  return written;
}

export async function removeDuplicateFields(db: Db, dataset: DatasetDoc, names: string[]): Promise<void> {
  for (const name of names) await deleteSampleField(db, dataset, name).catch(() => undefined);
}
