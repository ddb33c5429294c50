import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeDatabases } from "../../src/fiftyone/database";
import { sharedDefaultModel } from "../../src/embeddings/defaultModel";
import { preprocessImage } from "../../src/embeddings/imagePipeline";
import { executeJob, JobRequest } from "../../src/runtime/execute";
import { ComputeEmbeddingsResult } from "../../src/runtime/jobs/computeEmbeddings";
import { runPython, testDatabase } from "../support/fiftyone";

jest.setTimeout(180_000);

const DATASET = "brain_ts_embeddings";
const dir = mkdtempSync(join(tmpdir(), "brain-ts-emb-"));

function request(params: Record<string, unknown>): JobRequest {
  return { method: "compute_embeddings", params, database: testDatabase(), dataset: DATASET, fiftyone_version: "1.22.1" };
}

beforeAll(async () => {
  writeFileSync(join(dir, "corrupt.png"), Buffer.from("not an image"));
  await runPython(`
import json, fiftyone as fo
from PIL import Image, ImageDraw
d = ${JSON.stringify(dir)}
paths = []
for i, colour in enumerate([(200, 30, 30), (30, 200, 30), (30, 30, 200), (200, 200, 30)]):
    p = "%s/img%d.%s" % (d, i, "png" if i % 2 else "jpg")
    im = Image.new("RGB", (80, 60), colour)
    ImageDraw.Draw(im).ellipse((10, 10, 50, 50), fill=(255, 255, 255))
    im.save(p)
    paths.append(p)
paths += [d + "/corrupt.png", d + "/missing.png"]
ds = fo.Dataset(${JSON.stringify(DATASET)}, overwrite=True)
ds.persistent = True
ds.add_samples([fo.Sample(filepath=p) for p in paths])
print(json.dumps(len(ds)))
`);
});
afterAll(closeDatabases);

describe("compute_embeddings with the default model", () => {
  it("stores vectors Python reads back as the model's numpy arrays, and reports unreadable images", async () => {
    const result = (await executeJob(request({ embeddings_field: "emb", batch_size: 3 }))) as ComputeEmbeddingsResult;
    expect(result).toMatchObject({ field: "emb", dim: 1280, numSamples: 6, numEmbedded: 4, numFailures: 2 });
    expect(result.failures.map((f) => f.filepath.split("/").pop())).toEqual(["corrupt.png", "missing.png"]);

    const py = await runPython<{ ftype: string; shapes: (number[] | null)[]; first: number[] }>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
v = ds.values("emb")
print(json.dumps({"ftype": type(ds.get_field("emb")).__name__, "shapes": [list(x.shape) if x is not None else None for x in v], "first": v[0].tolist()}))
`);
    expect(py.ftype).toBe("VectorField");
    expect(py.shapes).toEqual([[1280], [1280], [1280], [1280], null, null]);
    const model = await sharedDefaultModel();
    const direct = await model.embed(await preprocessImage(join(dir, "img0.jpg"), model.manifest.input), 1);
    expect(py.first).toEqual(Array.from(direct));
  });

  it("stops before writing anything when a failure is not to be skipped, and never overwrites a field", async () => {
    await expect(executeJob(request({ embeddings_field: "strict", skip_failures: false }))).rejects.toMatchObject({
      code: "MEDIA_UNREADABLE",
      message: expect.stringContaining("corrupt.png"),
    });
    await expect(executeJob(request({ embeddings_field: "emb" }))).rejects.toMatchObject({ code: "FIELD_EXISTS" });
    const state = await runPython<{ field: boolean; raw: number }>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
print(json.dumps({"field": ds.has_field("strict"), "raw": len(ds.exists("strict"))}))
`);
    expect(state).toEqual({ field: false, raw: 0 });
  });
});
