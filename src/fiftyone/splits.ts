import { Db, Document } from "mongodb";
import { EJSON } from "bson";
import { BrainError } from "../errors";
import { DatasetDoc, findField, samplesCollection } from "./datasets";
import { splitFieldTypeError } from "./splitFieldTypes";

/** How splits are given: sample tags, the values of a field, or saved views. */
export type SplitBy = "tags" | "field" | "views";

/** App view stages (`set_view`'s format) */
export interface StageDict {
  _cls: string;
  kwargs: [string, unknown][];
}

export interface Splits {
  by: SplitBy;
  names: string[];
  /** Members of each split, as indices into `index`'s ids, in split order. */
  members: number[][];
  /** Each split as App view stages (for its no-leaks view). */
  stages: StageDict[][];
}

/**
 * Resolves split definitions to members among the samples in `index` (sample id → row).
 * Tags keep the given order; field values are sorted, as the reference does; saved views
 * keep the given order and need their compiled pipelines (`split_view_pipelines`, which
 * the App bridge adds, since only FiftyOne compiles view stages).
 */
export async function resolveSplits(db: Db, dataset: DatasetDoc, params: Record<string, unknown>, index: Map<string, number>): Promise<Splits> {
  const given = (["split_tags", "split_field", "split_views"] as const).filter((k) => params[k] !== undefined && params[k] !== null && params[k] !== "");
  if (given.length !== 1) {
    throw new BrainError("INVALID_PARAMS", "Give the splits either as 'split_tags' (a list of tags), as 'split_field' or as 'split_views' (saved view names)");
  }
  const samples = samplesCollection(db, dataset);
  if (given[0] === "split_tags") {
    const names = nameList(params.split_tags, "split_tags", "tags");
    const members: number[][] = names.map(() => []);
    for await (const doc of samples.find({ tags: { $in: names } }, { projection: { tags: 1 } })) {
      const i = index.get(doc._id.toHexString());
      if (i === undefined) continue;
      names.forEach((t, s) => (doc.tags as string[]).includes(t) && members[s].push(i));
    }
    const stages = names.map((t) => [{ _cls: "fiftyone.core.stages.MatchTags", kwargs: [["tags", [t]], ["bool", true], ["all", false]] as [string, unknown][] }]);
    return { by: "tags", names, members, stages };
  }
  if (given[0] === "split_field") {
    const field = params.split_field;
    if (typeof field !== "string") throw new BrainError("INVALID_PARAMS", "'split_field' must be a field name");
    const doc = findField(dataset, field);
    if (!doc) throw new BrainError("FIELD_NOT_FOUND", `Dataset '${dataset.name}' has no field '${field}'`);
    const typeError = splitFieldTypeError(field, doc.ftype, doc.subfield);
    if (typeError) throw new BrainError("INVALID_FIELD_TYPE", typeError);
    const values = new Map<string, { raw: unknown; items: number[] }>();
    for await (const d of samples.find({ [field]: { $ne: null } }, { projection: { [field]: 1 } })) {
      const i = index.get(d._id.toHexString());
      if (i === undefined) continue;
      const value = d[field];
      for (const v of Array.isArray(value) ? value : [value]) {
        if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") {
          throw new BrainError("INVALID_DATA", `Split field '${field}' of sample '${d._id.toHexString()}' holds a ${v === null ? "null" : typeof v} value; use strings, numbers or booleans`);
        }
        const key = String(v);
        const entry = values.get(key) ?? { raw: v, items: [] };
        entry.items.push(i);
        values.set(key, entry);
      }
    }
    const names = [...values.keys()].sort();
    if (names.length < 2) {
      throw new BrainError("INVALID_PARAMS", `Split field '${field}' has ${names.length} distinct value(s) among the samples with embeddings; at least two splits are needed`);
    }
    const members = names.map((v) => values.get(v)!.items);
    const stages = names.map((v) => [{ _cls: "fiftyone.core.stages.Match", kwargs: [["filter", { [field]: values.get(v)!.raw }]] as [string, unknown][] }]);
    return { by: "field", names, members, stages };
  }
  const names = nameList(params.split_views, "split_views", "saved views");
  const saved = new Map<string, string[]>();
  for await (const v of db.collection("views").find({ _dataset_id: dataset._id, name: { $in: names } }, { projection: { name: 1, view_stages: 1 } })) {
    saved.set(v.name as string, (v.view_stages as string[] | undefined) ?? []);
  }
  const unknown = names.filter((n) => !saved.has(n));
  if (unknown.length) throw new BrainError("INVALID_PARAMS", `Dataset '${dataset.name}' has no saved view ${unknown.map((u) => `'${u}'`).join(", ")}`);
  const pipelines = params.split_view_pipelines as Record<string, unknown> | undefined;
  const members: number[][] = [];
  for (const name of names) {
    const raw = pipelines?.[name];
    if (raw === undefined) {
      throw new BrainError("INVALID_PARAMS", `Saved view '${name}' needs its compiled pipeline ('split_view_pipelines'); run this from the App or Python`);
    }
    const pipeline = (typeof raw === "string" ? EJSON.parse(raw, { relaxed: false }) : raw) as Document[];
    if (!Array.isArray(pipeline)) throw new BrainError("INVALID_PARAMS", `The pipeline of saved view '${name}' must be a list of stages`);
    const items: number[] = [];
    for await (const d of samples.aggregate([...pipeline, { $project: { _id: 1 } }], { allowDiskUse: true })) {
      const i = index.get((d._id as { toHexString(): string }).toHexString());
      if (i !== undefined) items.push(i);
    }
    members.push(items);
  }
  const stages = names.map((n) => saved.get(n)!.map((s) => JSON.parse(s) as StageDict));
  return { by: "views", names, members, stages };
}

function nameList(value: unknown, param: string, what: string): string[] {
  if (!Array.isArray(value) || value.some((t) => typeof t !== "string" || !t)) {
    throw new BrainError("INVALID_PARAMS", `'${param}' must list at least two ${what}`);
  }
  const names = value as string[];
  if (names.length < 2) throw new BrainError("INVALID_PARAMS", `'${param}' must list at least two ${what}`);
  const repeated = names.filter((n, i) => names.indexOf(n) !== i);
  if (repeated.length) throw new BrainError("INVALID_PARAMS", `'${param}' lists ${repeated.map((r) => `'${r}'`).join(", ")} more than once`);
  return names;
}
