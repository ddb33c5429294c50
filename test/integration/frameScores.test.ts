import { closeDatabases } from "../../src/fiftyone/database";
import { executeJob } from "../../src/runtime/execute";
import { runPython } from "../support/fiftyone";
import { expectClose, jobRequest as req } from "../support/parity";

jest.setTimeout(180_000);

/**
 * Hardness and classification mistakenness of frame-level fields of a video dataset,
 * against the reference on a clone of the same dataset: every frame's score, every
 * sample's (the largest of its frames), the runs' configs, and deleting a run.
 */
const MAKE = `
import json, numpy as np, fiftyone as fo, fiftyone.brain as fob
rng = np.random.RandomState(2)
ds = fo.Dataset("brain_ts_framehard_ref", overwrite=True)
ds.persistent = True
samples = []
for i in range(14):
    s = fo.Sample(filepath="/nonexistent/%d.mp4" % i)
    for f in range(1, 0 if i == 3 else rng.randint(2, 9)):
        # frame 1 always has labels: the reference cannot create a field from a first value None
        none = i == 5 or (f > 1 and rng.rand() < 0.2)
        pred = None if f > 1 and rng.rand() < 0.15 else fo.Classification(label="abc"[rng.randint(3)], confidence=float(rng.uniform(0.2, 1)), logits=rng.randn(3))
        truth = None if f > 1 and rng.rand() < 0.15 else fo.Classification(label="abc"[rng.randint(3)])
        s.frames[f] = fo.Frame(gt=None if none else fo.Classification(label="a", logits=rng.randn(4) * 2),
                               nolog=fo.Classification(label="a") if f == 1 else None, pred=pred, truth=truth)
    samples.append(s)
ds.add_samples(samples)
ours = ds.clone("brain_ts_framehard_ours", persistent=True)
fob.compute_hardness(ds, "frames.gt", hardness_field="hardness")
fob.compute_mistakenness(ds, "frames.pred", label_field="frames.truth", mistakenness_field="mist")
fob.compute_mistakenness(ds, "frames.pred", label_field="frames.truth", mistakenness_field="mist_logits", use_logits=True)
print(json.dumps({"ids": ours.values("id"), "media": ds.media_type}))
`;


type Dump = { hardness: (number | null)[] | null; frames: ((number | null)[] | null)[] | null; schema: string[]; frameSchema: Record<string, string>; runs: string[]; config: Record<string, unknown> | null };
/** A score's sample and frame values, the schemas, and its run's config, per dataset, as Python reads them. */
const dump = (names: string[], key = "hardness") =>
  runPython<Dump[]>(`
import json, fiftyone as fo
def dump(name):
    ds = fo.load_dataset(name)
    fs = ds.get_frame_field_schema()
    runs = ds.list_brain_runs()
    return {
        "hardness": ds.values("${key}") if ds.has_sample_field("${key}") else None,
        "frames": ds.values("frames.${key}") if "${key}" in fs else None,
        "schema": list(ds.get_field_schema().keys()),
        "frameSchema": {k: type(v).__name__ for k, v in fs.items()},
        "runs": runs,
        "config": ds.get_brain_info("${key}").config.serialize() if "${key}" in runs else None,
    }
print(json.dumps([dump(n) for n in ${JSON.stringify(names)}]))
`);

/** Sample ids of the dataset the runtime scores. */
let ids: string[];
beforeAll(async () => {
  const made = await runPython<{ ids: string[]; media: string }>(MAKE);
  expect(made.media).toBe("video");
  ids = made.ids;
}, 300_000);
afterAll(closeDatabases);

describe("scores of frame fields against fiftyone-brain", () => {
  it("scores every frame and each sample (its frames' largest) as the reference; Python reads both", async () => {
    const r = (await executeJob(req("brain_ts_framehard_ours", "compute_hardness", { label_field: "frames.gt", hardness_field: "frames.hardness" }))) as Record<string, unknown>;
    expect(r).toMatchObject({ brainKey: "hardness", field: "hardness", numSamples: 14, numMissing: 2 });
    const [ours, ref] = await dump(["brain_ts_framehard_ours", "brain_ts_framehard_ref"]);
    expectClose(ours.hardness, ref.hardness, "hardness");
    expectClose(ours.frames, ref.frames, "frames.hardness");
    expect(ours.hardness![3]).toBeNull(); // no frames
    expect(ours.hardness![5]).toBeNull(); // no labels
    expect(ours.frames![5]!.every((v) => v === null)).toBe(true);
    expect(ours.frames!.flat().filter((v) => typeof v === "number").length).toBeGreaterThan(20);
    expect(ours.frameSchema.hardness).toBe("FloatField");
    expect(ours.frameSchema.hardness).toBe(ref.frameSchema.hardness);
    expect(ours.config).toEqual(ref.config);
  });

  it("classification mistakenness of frame fields (confidence and logits) equals the reference's", async () => {
    for (const [key, useLogits] of [["mist", false], ["mist_logits", true]] as const) {
      await executeJob(req("brain_ts_framehard_ours", "compute_mistakenness", { pred_field: "frames.pred", label_field: "frames.truth", mistakenness_field: key, use_logits: useLogits }));
      const [ours, ref] = await dump(["brain_ts_framehard_ours", "brain_ts_framehard_ref"], key);
      expectClose(ours.hardness, ref.hardness, key);
      expectClose(ours.frames, ref.frames, `frames.${key}`);
      expect(ours.frames!.flat().filter((v) => typeof v === "number").length).toBeGreaterThan(20);
      expect(ours.config).toEqual(ref.config);
    }
  });

  it("on a view that filters frame labels, scores the frames as the view shows them, as the reference", async () => {
    const view = await runPython<{ pipeline: string; view_stages: string[] }>(`
import json, fiftyone as fo, fiftyone.brain as fob
from fiftyone import ViewField as F
from bson import json_util
make = lambda name: fo.load_dataset(name).filter_labels("frames.pred", F("confidence") > 0.5)
fob.compute_mistakenness(make("brain_ts_framehard_ref"), "frames.pred", label_field="frames.truth", mistakenness_field="mist_view")
view = make("brain_ts_framehard_ours")
print(json.dumps({"pipeline": json_util.dumps(view._pipeline()), "view_stages": [json_util.dumps(s) for s in view._serialize(include_uuids=False)]}))
`);
    await executeJob({ ...req("brain_ts_framehard_ours", "compute_mistakenness", { pred_field: "frames.pred", label_field: "frames.truth", mistakenness_field: "mist_view" }), target: view });
    const [ours, ref] = await dump(["brain_ts_framehard_ours", "brain_ts_framehard_ref"], "mist_view");
    expectClose(ours.hardness, ref.hardness, "mist_view");
    expectClose(ours.frames, ref.frames, "frames.mist_view");
    // the filter removed low-confidence predictions: those frames score as "no prediction" (1), or have no value
    const [all] = await dump(["brain_ts_framehard_ours"], "mist");
    expect(JSON.stringify(ours.frames)).not.toEqual(JSON.stringify(all.frames));
  });

  it("deleting the run removes the sample field and the frame field", async () => {
    await executeJob(req("brain_ts_framehard_ours", "delete_brain_run", { brain_key: "hardness" }));
    const [ours] = await dump(["brain_ts_framehard_ours"]);
    expect(ours.runs).not.toContain("hardness");
    expect(ours.schema).not.toContain("hardness");
    expect(Object.keys(ours.frameSchema)).not.toContain("hardness");
  });

  it("bad input: a frame label without logits names the frame and sample; a frame field on images; nothing written", async () => {
    const err = await executeJob(req("brain_ts_framehard_ours", "compute_hardness", { label_field: "frames.nolog", hardness_field: "h_bad" })).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "INVALID_DATA" });
    expect((err as Error).message).toBe(`Frame 1 of sample '${ids[0]}' field 'frames.nolog' has no logits`);
    await expect(executeJob(req("brain_ts_framehard_ours", "compute_hardness", { label_field: "frames.missing", hardness_field: "h_bad" }))).rejects.toMatchObject({
      code: "FIELD_NOT_FOUND",
    });
    const [ours] = await dump(["brain_ts_framehard_ours"]);
    expect(ours.schema).not.toContain("h_bad");
    expect(Object.keys(ours.frameSchema)).not.toContain("h_bad");
    expect(ours.runs).not.toContain("h_bad");
    await runPython(`import fiftyone as fo; ds = fo.Dataset("brain_ts_framehard_img", overwrite=True); ds.add_sample(fo.Sample(filepath="/x.png")); print(1)`);
    await expect(executeJob(req("brain_ts_framehard_img", "compute_hardness", { label_field: "frames.gt" }))).rejects.toMatchObject({
      code: "INVALID_PARAMS",
      message: expect.stringContaining("not a video dataset"),
    });
  });
});
