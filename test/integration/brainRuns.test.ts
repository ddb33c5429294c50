import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeDatabases } from "../../src/fiftyone/database";
import { executeJob, JobRequest } from "../../src/runtime/execute";
import { ExactDuplicatesResult } from "../../src/runtime/jobs/exactDuplicates";
import { runPython, testDatabase } from "../support/fiftyone";

jest.setTimeout(120_000);

const DATASET = "brain_ts_runs";
const mediaDir = mkdtempSync(join(tmpdir(), "brain-ts-media-"));

/** 12 images, 3 of them copies of others (one twice), plus a sample whose file is missing. */
const MAKE_DATASET = `
import json, shutil, fiftyone as fo
from PIL import Image
d = ${JSON.stringify(mediaDir)}
paths = []
for i in range(9):
    p = "%s/img%d.png" % (d, i)
    Image.new("RGB", (16, 16), (i * 25, 255 - i * 25, (i * 70) % 256)).save(p)
    paths.append(p)
for src, dst in [(1, "copy1a"), (1, "copy1b"), (4, "copy4")]:
    p = "%s/%s.png" % (d, dst)
    shutil.copy(paths[src], p)
    paths.append(p)
paths.append("%s/missing.png" % d)
ds = fo.Dataset(${JSON.stringify(DATASET)}, overwrite=True)
ds.persistent = True
ds.add_samples([fo.Sample(filepath=p, tags=["even" if i % 2 == 0 else "odd"]) for i, p in enumerate(paths)])
print(json.dumps({"ids": ds.values("id")}))
`;

function request(method: string, params: Record<string, unknown> = {}, target?: JobRequest["target"]): JobRequest {
  return { method, params, database: testDatabase(), dataset: DATASET, target, fiftyone_version: "1.22.1" };
}

let ids: string[];
beforeAll(async () => {
  ({ ids } = await runPython<{ ids: string[] }>(MAKE_DATASET));
});
afterAll(closeDatabases);

describe("compute_exact_duplicates against fiftyone-brain", () => {
  it("finds the same groups as fob.compute_exact_duplicates and records a brain run Python can use", async () => {
    const progress: number[] = [];
    const result = (await executeJob(
      request("compute_exact_duplicates", { brain_key: "exact_dups", output_field: "dup_group" }),
      (p) => progress.push(p),
    )) as ExactDuplicatesResult;

    expect(result.duplicates).toEqual({ [ids[1]]: [ids[9], ids[10]], [ids[4]]: [ids[11]] });
    expect(result).toMatchObject({ numSamples: 13, numGroups: 2, numDuplicates: 3, numFailures: 1 });
    expect(result.failures[0]).toMatchObject({ id: ids[12] });
    expect(progress[progress.length - 1]).toBe(1);

    const py = await runPython<Record<string, unknown>>(`
import json, fiftyone as fo, fiftyone.brain as fob
ds = fo.load_dataset(${JSON.stringify(DATASET)})
ref = fob.compute_exact_duplicates(ds)
info = ds.get_brain_info("exact_dups")
res = ds.load_brain_results("exact_dups")
view = ds.load_brain_view("exact_dups")
field = ds.get_field("dup_group")
print(json.dumps({
  "reference": ref,
  "runs": ds.list_brain_runs(),
  "hash": getattr(info.config, "hash", None),
  "results_duplicates": res.duplicates,
  "view_len": len(view),
  "field_type": type(field).__name__,
  "field_values": ds.values("dup_group"),
}))
`);
    expect(py.reference).toEqual(result.duplicates);
    expect(py.runs).toContain("exact_dups");
    expect(py.hash).toBe("sha256");
    expect(py.results_duplicates).toEqual(result.duplicates);
    expect(py.view_len).toBe(13);
    expect(py.field_type).toBe("StringField");
    const values = py.field_values as (string | null)[];
    expect([values[1], values[9], values[10]]).toEqual([ids[1], ids[1], ids[1]]);
    expect(values[0]).toBeNull();
  });

  it("runs on a view given as FiftyOne's pipeline and stores the view with the run", async () => {
    const { pipeline, stages } = await runPython<{ pipeline: string; stages: string[] }>(`
import json, fiftyone as fo
from bson import json_util
view = fo.load_dataset(${JSON.stringify(DATASET)}).match_tags("odd")
print(json.dumps({"pipeline": json_util.dumps(view._pipeline()), "stages": [json_util.dumps(s) for s in view._serialize(include_uuids=False)]}))
`);
    const result = (await executeJob(
      request("compute_exact_duplicates", { brain_key: "odd_dups" }, { pipeline, view_stages: stages }),
    )) as ExactDuplicatesResult;
    // odd positions: 1, 3, 5, 7, 9 (copy of 1), 11 (copy of 4, whose original is even)
    expect(result.numSamples).toBe(6);
    expect(result.duplicates).toEqual({ [ids[1]]: [ids[9]] });
    const py = await runPython<{ n: number; tags: string[] }>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
v = ds.load_brain_view("odd_dups")
print(json.dumps({"n": len(v), "tags": v.distinct("tags")}))
`);
    expect(py).toEqual({ n: 6, tags: ["odd"] });
  });

  it("says clearly what is wrong, and writes nothing on failure", async () => {
    await expect(executeJob({ ...request("compute_exact_duplicates"), dataset: "no_such_dataset" })).rejects.toMatchObject({
      code: "DATASET_NOT_FOUND",
    });
    await expect(executeJob(request("compute_exact_duplicates", { brain_key: "exact_dups" }))).rejects.toMatchObject({
      code: "BRAIN_KEY_EXISTS",
    });
    await expect(executeJob(request("compute_exact_duplicates", { brain_key: "not-valid" }))).rejects.toMatchObject({
      code: "BRAIN_KEY_INVALID",
    });
    await expect(
      executeJob(request("compute_exact_duplicates", { brain_key: "empty" }, { sample_ids: [] })),
    ).rejects.toMatchObject({ code: "EMPTY_VIEW" });
    await expect(
      executeJob(request("compute_exact_duplicates", { brain_key: "strict", output_field: "strict_field", skip_failures: false })),
    ).rejects.toMatchObject({ code: "MEDIA_UNREADABLE", message: expect.stringContaining("missing.png") });
    await expect(executeJob(request("no_such_method"))).rejects.toMatchObject({ code: "UNKNOWN_METHOD" });

    const py = await runPython<{ runs: string[]; has_field: boolean; raw: number }>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
print(json.dumps({"runs": ds.list_brain_runs(), "has_field": ds.has_field("strict_field"), "raw": len(ds.exists("strict_field"))}))
`);
    expect(py.runs).not.toContain("strict");
    expect(py.has_field).toBe(false);
    expect(py.raw).toBe(0);
  });

  it("reports an unreachable database as such", async () => {
    await expect(
      executeJob({ ...request("list_brain_runs"), database: { uri: "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=500", name: "x" } }),
    ).rejects.toMatchObject({ code: "DATABASE_UNREACHABLE" });
  });
});

describe("acting on results", () => {
  it("tags samples once, and rejects ids that are not sample ids", async () => {
    const first = (await executeJob(request("tag_samples", { sample_ids: [ids[9], ids[10]], tag: "duplicate" }))) as { tagged: number };
    const again = (await executeJob(request("tag_samples", { sample_ids: [ids[9]], tag: "duplicate" }))) as { tagged: number };
    expect([first.tagged, again.tagged]).toEqual([2, 0]);
    const counts = await runPython<Record<string, number>>(`
import json, fiftyone as fo
print(json.dumps(fo.load_dataset(${JSON.stringify(DATASET)}).count_sample_tags()))
`);
    expect(counts.duplicate).toBe(2);
    await expect(executeJob(request("tag_samples", { sample_ids: ["nope"], tag: "x" }))).rejects.toMatchObject({ code: "INVALID_PARAMS" });
  });

  it("deletes samples only when the request confirms their count", async () => {
    await expect(executeJob(request("delete_samples", { sample_ids: [ids[0], ids[1]], confirm: 1 }))).rejects.toMatchObject({
      code: "INVALID_PARAMS",
      message: "Deleting 2 samples needs confirm=2",
    });
    await expect(runPython<number>(`
import json, fiftyone as fo
print(json.dumps(len(fo.load_dataset(${JSON.stringify(DATASET)}))))
`)).resolves.toBe(13);
  });
});

describe("run management on runs made by Python's fiftyone-brain and by this runtime", () => {
  it("lists, describes, renames and deletes runs, and Python agrees", async () => {
    await runPython(`
import json, numpy as np, fiftyone as fo, fiftyone.brain as fob
ds = fo.load_dataset(${JSON.stringify(DATASET)})
emb = np.random.RandomState(0).randn(len(ds), 8)
fob.compute_uniqueness(ds, embeddings=emb, uniqueness_field="py_uniqueness")
fob.compute_similarity(ds, embeddings=emb, brain_key="py_sim")
print(json.dumps(ds.list_brain_runs()))
`);
    const listed = (await executeJob(request("list_brain_runs"))) as { runs: { key: string; type: string }[] };
    expect(listed.runs.map((r) => [r.key, r.type])).toEqual(
      expect.arrayContaining([["exact_dups", "exact_duplicates"], ["py_uniqueness", "uniqueness"], ["py_sim", "similarity"]]),
    );
    const info = (await executeJob(request("get_brain_info", { brain_key: "py_sim" }))) as { config: { metric: string } };
    expect(info.config.metric).toBe("cosine");
    const view = (await executeJob(request("load_brain_view", { brain_key: "odd_dups" }))) as { view: { _cls: string }[] };
    expect(view.view[0]._cls).toBe("fiftyone.core.stages.MatchTags");

    await executeJob(request("rename_brain_run", { brain_key: "py_sim", new_brain_key: "py_sim2" }));
    await expect(executeJob(request("rename_brain_run", { brain_key: "py_sim2", new_brain_key: "exact_dups" }))).rejects.toMatchObject({
      code: "BRAIN_KEY_EXISTS",
    });
    const del1 = (await executeJob(request("delete_brain_run", { brain_key: "py_uniqueness" }))) as { deletedFields: string[] };
    expect(del1.deletedFields).toEqual(["py_uniqueness"]);
    const del2 = (await executeJob(request("delete_brain_run", { brain_key: "exact_dups" }))) as { deletedFields: string[] };
    expect(del2.deletedFields).toEqual(["dup_group"]);

    const py = await runPython<{ runs: string[]; fields: string[]; sim_size: number }>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
print(json.dumps({"runs": ds.list_brain_runs(), "fields": list(ds.get_field_schema().keys()), "sim_size": ds.load_brain_results("py_sim2").total_index_size}))
`);
    expect(py.runs).toEqual(["odd_dups", "py_sim2"]);
    expect(py.fields).not.toContain("py_uniqueness");
    expect(py.fields).not.toContain("dup_group");
    expect(py.sim_size).toBe(13);

    // Python can rename and delete runs this runtime made.
    const after = await runPython<string[]>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
ds.rename_brain_run("odd_dups", "odd_dups2")
ds.delete_brain_run("odd_dups2")
print(json.dumps(ds.list_brain_runs()))
`);
    expect(after).toEqual(["py_sim2"]);
  });
});
