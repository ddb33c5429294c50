import { closeDatabases } from "../../src/fiftyone/database";
import { executeJob, JobRequest } from "../../src/runtime/execute";
import { runPython, testDatabase } from "../support/fiftyone";

jest.setTimeout(180_000);

const DATASET = "brain_ts_panel_jobs";

function request(method: string, params: Record<string, unknown> = {}): JobRequest {
  return { method, params, database: testDatabase(), dataset: DATASET, fiftyone_version: "1.22.1" };
}

let ids: string[];
beforeAll(async () => {
  ({ ids } = await runPython<{ ids: string[] }>(`
import json, fiftyone as fo
ds = fo.Dataset(${JSON.stringify(DATASET)}, overwrite=True)
ds.persistent = True
ds.add_samples([fo.Sample(filepath="/data/img%d.png" % i) for i in range(4)])
ds.set_values("dist", [0.5, None, 0.25, 1.0])
ds.set_values("label_name", ["a", "b", "c", "d"])
print(json.dumps({"ids": ds.values("id")}))
`));
});
afterAll(closeDatabases);

describe("the runtime methods the Similarity panel uses", () => {
  it("get_sample_filepaths returns the media path of each existing sample", async () => {
    const missing = "0123456789abcdef01234567";
    const result = await executeJob(request("get_sample_filepaths", { sample_ids: [ids[2], ids[0], missing] }));
    expect(result).toEqual({ filepaths: { [ids[2]]: "/data/img2.png", [ids[0]]: "/data/img0.png" } });
    await expect(executeJob(request("get_sample_filepaths", { sample_ids: ["nope"] }))).rejects.toMatchObject({ code: "INVALID_PARAMS" });
    await expect(executeJob(request("get_sample_filepaths", { sample_ids: "x" }))).rejects.toMatchObject({ code: "INVALID_PARAMS" });
  });

  it("write_distance_field writes the given distances, emptying the field first with replace, and refuses bad input untouched", async () => {
    const values = () =>
      runPython<{ dist: (number | null)[]; names: string[] }>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
print(json.dumps({"dist": ds.values("dist"), "names": ds.values("label_name")}))
`);
    // Without replace, samples not listed keep their values (the reference's dist_field rule).
    await expect(executeJob(request("write_distance_field", { field: "dist", sample_ids: [ids[1]], distances: [0.75] }))).resolves.toEqual({ written: 1, cleared: 0 });
    await expect(values()).resolves.toEqual({ dist: [0.5, 0.75, 0.25, 1.0], names: ["a", "b", "c", "d"] });
    // With replace, only the latest results keep a distance.
    await expect(executeJob(request("write_distance_field", { field: "dist", sample_ids: [ids[3], ids[0]], distances: [0, 0.125], replace: true }))).resolves.toEqual({ written: 2, cleared: 4 });
    await expect(values()).resolves.toEqual({ dist: [0.125, null, null, 0], names: ["a", "b", "c", "d"] });
    // A field of another type, mismatched lengths, non-numbers: errors, nothing changed.
    await expect(executeJob(request("write_distance_field", { field: "label_name", sample_ids: [ids[0]], distances: [1], replace: true }))).rejects.toMatchObject({
      code: "INVALID_FIELD_TYPE",
      message: expect.stringMatching(/'label_name' already exists .* as a StringField/),
    });
    await expect(executeJob(request("write_distance_field", { field: "dist", sample_ids: [ids[0], ids[1]], distances: [1], replace: true }))).rejects.toMatchObject({
      code: "INVALID_PARAMS",
      message: "'sample_ids' has 2 entries but 'distances' has 1",
    });
    await expect(executeJob(request("write_distance_field", { field: "dist", sample_ids: [ids[0]], distances: ["x"], replace: true }))).rejects.toMatchObject({ code: "INVALID_PARAMS" });
    await expect(values()).resolves.toEqual({ dist: [0.125, null, null, 0], names: ["a", "b", "c", "d"] });
    // A new field is created as a FloatField Python reads.
    await executeJob(request("write_distance_field", { field: "fresh_dist", sample_ids: [ids[2]], distances: [0.5], replace: true }));
    const fresh = await runPython<{ values: (number | null)[]; type: string }>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
print(json.dumps({"values": ds.values("fresh_dist"), "type": type(ds.get_field("fresh_dist")).__name__}))
`);
    expect(fresh).toEqual({ values: [null, null, 0.5, null], type: "FloatField" });
  });
});
