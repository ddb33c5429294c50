import { Document } from "mongodb";
import { DuplicateGroups } from "../../methods/exactDuplicates";
import type { StoredGraph } from "./nearDuplicates";
import { deleteBrainRun, getBrainRun, listBrainRuns, loadBrainResults, renameBrainRun, RunSummary } from "../../fiftyone/runs";
import { toObjectIds } from "../../fiftyone/samples";
import { samplesCollection } from "../../fiftyone/datasets";
import { BrainError } from "../../errors";
import { Job } from "../job";
import { forgetRun } from "../indexCache";
import { cleanupSimilarityRun } from "./similarity";
import { optionalString, requiredString } from "../params";

/** Managing brain runs, whichever tool made them (this runtime or Python's fiftyone-brain). */

export const listBrainRunsJob: Job<{ runs: RunSummary[] }> = {
  name: "list_brain_runs",
  description: "List the dataset's brain runs",
  async run(ctx, params) {
    return { runs: await listBrainRuns(ctx.db, ctx.dataset, optionalString(params, "type")) };
  },
};

export interface BrainInfo {
  key: string;
  version: string;
  timestamp: string;
  config: Document;
  viewStages: string[] | null;
}

export const getBrainInfoJob: Job<BrainInfo> = {
  name: "get_brain_info",
  description: "Describe a brain run",
  async run(ctx, params) {
    const run = await getBrainRun(ctx.db, ctx.dataset, requiredString(params, "brain_key"));
    return {
      key: run.key,
      version: run.version,
      timestamp: run.timestamp.toISOString(),
      config: run.config,
      viewStages: run.view_stages,
    };
  },
};

/** The run's view as App stages (what `set_view` takes); an empty list is the whole dataset. */
export const loadBrainViewJob: Job<{ view: Document[] }> = {
  name: "load_brain_view",
  description: "The view a brain run was computed on",
  async run(ctx, params) {
    const run = await getBrainRun(ctx.db, ctx.dataset, requiredString(params, "brain_key"));
    return { view: (run.view_stages ?? []).map((s) => JSON.parse(s) as Document) };
  },
};

export const renameBrainRunJob: Job<{ key: string }> = {
  name: "rename_brain_run",
  description: "Rename a brain run",
  async run(ctx, params) {
    const newKey = requiredString(params, "new_brain_key");
    await renameBrainRun(ctx.db, ctx.dataset, requiredString(params, "brain_key"), newKey);
    return { key: newKey };
  },
};

export const deleteBrainRunJob: Job<{ deletedFields: string[] }> = {
  name: "delete_brain_run",
  description: "Delete a brain run and the fields it wrote",
  async run(ctx, params) {
    const key = requiredString(params, "brain_key");
    // A similarity run's index state stored outside the run (files, tables) goes with it.
    await cleanupSimilarityRun(ctx, await getBrainRun(ctx.db, ctx.dataset, key));
    forgetRun(ctx.dataset._id.toHexString(), key);
    return deleteBrainRun(ctx.db, ctx.dataset, key);
  },
};

export interface DuplicateGroupView {
  representative: { id: string; filepath: string };
  /** Distances are present for near duplicates. */
  duplicates: { id: string; filepath: string; distance?: number }[];
}

/** Groups of an exact-duplicates run with file paths, for the Duplicates panel's thumbnails. */
export interface DuplicateGroupsResult {
  brainKey: string;
  groups: DuplicateGroupView[];
  missing: number;
  /** Near-duplicate runs: the stored neighbour graph, its samples' paths and the run's threshold. */
  graph?: StoredGraph;
  filepaths?: Record<string, string>;
  threshold?: number;
}

export const getDuplicateGroupsJob: Job<DuplicateGroupsResult> = {
  name: "get_duplicate_groups",
  description: "Groups of a duplicates run, with file paths",
  async run(ctx, params) {
    const brainKey = requiredString(params, "brain_key");
    const run = await getBrainRun(ctx.db, ctx.dataset, brainKey);
    const results = await loadBrainResults(ctx.db, run);
    const groups = results?.duplicates as DuplicateGroups | undefined;
    if (!groups) throw new BrainError("INVALID_PARAMS", `Brain run '${brainKey}' holds no duplicate groups`);
    const graph = results?.graph as StoredGraph | undefined;
    const groupIds = Object.entries(groups).flatMap(([rep, dups]) => [rep, ...dups]);
    // With a graph the panel can regroup at any threshold: it needs every linked sample's path.
    const ids = graph ? graph.ids : groupIds;
    const paths = new Map<string, string>();
    const cursor = samplesCollection(ctx.db, ctx.dataset).find(
      { _id: { $in: toObjectIds(ids) } },
      { projection: { filepath: 1 } },
    );
    for await (const doc of cursor) paths.set(doc._id.toHexString(), doc.filepath as string);
    const distances = new Map<string, number>();
    const neighbors = (results?.neighbors_map ?? {}) as Record<string, [string, number][]>;
    for (const group of Object.values(neighbors)) for (const [id, dist] of group) distances.set(id, dist);
    const entry = (id: string) => ({ id, filepath: paths.get(id) ?? "", ...(distances.has(id) ? { distance: distances.get(id) } : {}) });
    const view = Object.entries(groups)
      .map(([rep, dups]) => ({ representative: entry(rep), duplicates: dups.filter((d) => paths.has(d)).map(entry) }))
      .filter((g) => paths.has(g.representative.id) && g.duplicates.length > 0)
      .sort((a, b) => b.duplicates.length - a.duplicates.length);
    const missing = groupIds.filter((id) => !paths.has(id)).length;
    if (!graph) return { brainKey, groups: view, missing };
    return { brainKey, groups: view, missing, graph, filepaths: Object.fromEntries(paths), threshold: Number(results?.thresh) };
  },
};
