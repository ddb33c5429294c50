import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { closeDatabases } from "../src/fiftyone/database";
import { executeJob } from "../src/runtime/execute";
import type { LeakySplitsResult } from "../src/runtime/jobs/leakySplits";
import type { NearDuplicatesResult } from "../src/runtime/jobs/nearDuplicates";
import type { DatabaseLocation } from "../src/fiftyone/database";
import { SceneOptions, writeSceneImages } from "./data/sceneImages";

/**
 * How well the default model and the default threshold find injected near duplicates
 * and leaks: synthetic scenes (bench/data/sceneImages.ts) with edited copies, embedded
 * with the default model, then compute_near_duplicates and compute_leaky_splits at 0.2.
 */
export interface QualityReport {
  images: number;
  injectedCopies: number;
  threshold: number;
  /** Predicted duplicates whose kept sample shows the same original. */
  precision: number;
  /** Injected copies found (as a duplicate of, or kept for, an image of the same original). */
  recall: number;
  leakPrecision: number;
  leakRecall: number;
  /** Recall per kind of edit. */
  recallByEdit: Record<string, number>;
}

/** Duplicate pairs (duplicate → its kept sample) scored against the images' true origins. */
export function pairQuality(neighborsMap: Record<string, [string, number][]>, origin: Map<string, number>, injected: number): { precision: number; recall: number; correct: Set<string> } {
  let predicted = 0;
  const correct = new Set<string>();
  for (const [kept, group] of Object.entries(neighborsMap)) {
    for (const [dup] of group) {
      predicted++;
      if (origin.get(dup) === origin.get(kept)) correct.add(dup);
    }
  }
  // Each correct pair accounts for one injected copy of its original.
  return { precision: predicted ? correct.size / predicted : 1, recall: injected ? correct.size / injected : 1, correct };
}

export async function nearDuplicatesQuality(database: DatabaseLocation, python: string, env: NodeJS.ProcessEnv, dir: string, name: string, options: SceneOptions): Promise<QualityReport> {
  const records = await writeSceneImages(dir, options);
  const ids = JSON.parse(execFileSync(python, ["-c", `
import json, sys, fiftyone as fo
records = json.load(sys.stdin)
ds = fo.Dataset(${JSON.stringify(name)}, overwrite=True)
ds.persistent = True
ds.add_samples([fo.Sample(filepath=r["filepath"], tags=[r["split"]], origin=r["origin"], edit=r["edit"]) for r in records], progress=False)
print(json.dumps(ds.values("id")))
`], { env, input: JSON.stringify(records), encoding: "utf8" }).trim().split("\n").pop()!) as string[];
  const request = (method: string, params: Record<string, unknown>) => ({ method, params, database, dataset: name });
  await executeJob(request("compute_embeddings", { embeddings_field: "embeddings" }));
  const threshold = 0.2;
  const near = (await executeJob(request("compute_near_duplicates", { embeddings: "embeddings", threshold }))) as NearDuplicatesResult;
  const leaks = (await executeJob(request("compute_leaky_splits", { embeddings: "embeddings", threshold, split_tags: ["train", "test"] }))) as LeakySplitsResult;
  await closeDatabases();

  const origin = new Map(ids.map((id, i) => [id, records[i].origin]));
  const copies = records.filter((r) => r.edit !== null);
  const { precision, recall, correct } = pairQuality(near.neighborsMap, origin, copies.length);
  // Which copies were found: a copy is found when it, or its original's kept pair, is correct.
  const foundOrigins = new Map<number, number>();
  for (const id of correct) foundOrigins.set(origin.get(id)!, (foundOrigins.get(origin.get(id)!) ?? 0) + 1);
  const recallByEdit: Record<string, number> = {};
  for (const kind of new Set(copies.map((c) => c.edit!))) {
    const ofKind = records.map((r, i) => ({ r, id: ids[i] })).filter((x) => x.r.edit === kind);
    // A copy counts as found when it is a correct duplicate or its original was dropped for it.
    const found = ofKind.filter((x) => correct.has(x.id) || correct.has(ids[x.r.origin])).length;
    recallByEdit[kind] = found / ofKind.length;
  }
  // Leaks: the originals in train with their copies in test.
  const truthLeaks = new Set<string>();
  records.forEach((r, i) => {
    if (r.edit !== null && r.split === "test" && records[r.origin].split === "train") {
      truthLeaks.add(ids[i]);
      truthLeaks.add(ids[r.origin]);
    }
  });
  const predictedLeaks = new Set(leaks.leakIds);
  const hit = [...predictedLeaks].filter((id) => truthLeaks.has(id)).length;
  return {
    images: records.length,
    injectedCopies: copies.length,
    threshold,
    precision,
    recall,
    leakPrecision: predictedLeaks.size ? hit / predictedLeaks.size : 1,
    leakRecall: truthLeaks.size ? hit / truthLeaks.size : 1,
    recallByEdit,
  };
}

export async function benchNearDuplicatesQuality(ctx: { database: DatabaseLocation; python: string; env: NodeJS.ProcessEnv; workDir: string }, originals = 500): Promise<QualityReport> {
  const copies = Math.round(originals * 0.2);
  return nearDuplicatesQuality(ctx.database, ctx.python, ctx.env, join(ctx.workDir, `scenes_${originals}`), `bench_quality_${originals}`, {
    originals,
    nearDuplicates: copies,
    leaks: Math.round(copies / 2),
  });
}

export function formatQuality(q: QualityReport): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const edits = Object.entries(q.recallByEdit).map(([k, v]) => `${k} ${pct(v)}`).join(", ");
  return [
    "| near-duplicate quality (default model, threshold 0.2) | images | injected copies | precision | recall | leak precision | leak recall | recall by edit |",
    "|---|---|---|---|---|---|---|---|",
    `| synthetic scenes (sharp) | ${q.images} | ${q.injectedCopies} | ${pct(q.precision)} | ${pct(q.recall)} | ${pct(q.leakPrecision)} | ${pct(q.leakRecall)} | ${edits} |`,
  ].join("\n");
}
