import { closeDatabases } from "../../src/fiftyone/database";
import { executeJob, JobRequest } from "../../src/runtime/execute";
import { runPython, testDatabase } from "../support/fiftyone";

jest.setTimeout(60_000);

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

  it("clear_distance_field empties a float field everywhere, and refuses any other field type untouched", async () => {
    await expect(executeJob(request("clear_distance_field", { field: "label_name" }))).rejects.toMatchObject({
      code: "INVALID_FIELD_TYPE",
      message: expect.stringMatching(/'label_name' is a StringField, not a float field/),
    });
    await expect(executeJob(request("clear_distance_field", { field: "no_such_field" }))).resolves.toEqual({ cleared: 0 });
    await expect(executeJob(request("clear_distance_field", { field: "dist" }))).resolves.toEqual({ cleared: 3 });
    const after = await runPython<{ dist: (number | null)[]; names: string[]; schema: boolean }>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
print(json.dumps({"dist": ds.values("dist"), "names": ds.values("label_name"), "schema": "dist" in ds.get_field_schema()}))
`);
    expect(after).toEqual({ dist: [null, null, null, null], names: ["a", "b", "c", "d"], schema: true });
  });
});
