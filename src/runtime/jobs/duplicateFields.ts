import { Db, Document, Double } from "mongodb";
import { BrainError } from "../../errors";
import { DatasetDoc, findField } from "../../fiftyone/datasets";
import { deleteSampleField, fieldDoc, FLOAT_FIELD, FieldType, validateNewFieldName, writeSampleField } from "../../fiftyone/fields";
import { getBrainRun, loadBrainResults, updateRunConfig } from "../../fiftyone/runs";
import { findDuplicates, neighborGraphOf } from "../../methods/nearDuplicates";
import { Job } from "../job";
import { optionalString, RawParams, requiredString } from "../params";
import { neighborsMapOf, StoredGraph } from "./nearDuplicates";

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

export interface WriteDuplicateFieldsResult {
  brainKey: string;
  threshold: number;
  fields: string[];
  numDuplicates: number;
}

/**
 * The duplicates view's fields for an existing near-duplicates run at any threshold its
 * stored graph covers (the Duplicates panel's slider): the groups are formed again from
 * the stored distances with the run's greedy rule, nothing is recomputed. The run then
 * owns the fields (deleting it removes them); a run owns one set.
 */
export const writeDuplicateFieldsJob: Job<WriteDuplicateFieldsResult> = {
  name: "write_duplicate_fields",
  description: "Write a near-duplicates run's type / nearest id / distance fields at a threshold",
  async run(ctx, params) {
    const brainKey = requiredString(params, "brain_key");
    const run = await getBrainRun(ctx.db, ctx.dataset, brainKey);
    if (run.config.method !== "near_duplicates") throw new BrainError("INVALID_PARAMS", `Brain run '${brainKey}' is not a near-duplicates run`);
    const owned = DUPLICATE_FIELD_PARAMS.map((p) => run.config[p]).filter((f): f is string => typeof f === "string" && f.length > 0);
    if (owned.length) {
      throw new BrainError("INVALID_PARAMS", `Run '${brainKey}' already wrote the fields ${owned.map((f) => `'${f}'`).join(", ")}; delete them with the run, or run near duplicates again`);
    }
    const names = parseDuplicateFields(params, ctx.dataset);
    if (Object.keys(names).length === 0) throw new BrainError("INVALID_PARAMS", "Give at least one field name (type_field, id_field or dist_field)");
    const results = await loadBrainResults(ctx.db, run);
    const graph = results?.graph as StoredGraph | undefined;
    if (!graph) throw new BrainError("INVALID_PARAMS", `Run '${brainKey}' stores no neighbour graph to group from`);
    const threshold = params.threshold === undefined ? Number(results?.thresh) : Number(params.threshold);
    if (!(threshold > 0) || threshold > graph.radius) {
      throw new BrainError("INVALID_PARAMS", `The threshold must be in (0, ${graph.radius}], the distances the run stored; got ${params.threshold}`);
    }
    const found = findDuplicates(neighborGraphOf(graph), threshold);
    const fields = await writeDuplicateFields(ctx.db, ctx.dataset, names, neighborsMapOf(found, graph.ids));
    try {
      const config: Document = { fields_threshold: threshold };
      for (const p of DUPLICATE_FIELD_PARAMS) config[p] = names[p] ?? null;
      await updateRunConfig(ctx.db, run, config);
    } catch (err) {
      await removeDuplicateFields(ctx.db, ctx.dataset, fields);
      throw err;
    }
    return { brainKey, threshold, fields, numDuplicates: found.duplicates.length };
  },
};
