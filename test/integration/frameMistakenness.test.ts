import { closeDatabases } from "../../src/fiftyone/database";
import { executeJob } from "../../src/runtime/execute";
import { runPython } from "../support/fiftyone";
import { expectClose, jobRequest as req } from "../support/parity";

jest.setTimeout(240_000);

/**
 * Mistakenness of frame-level Detections of videos against the reference (as shipped), on a
 * video set made by Python and cloned before the reference runs: every frame is an image
 * (its fields and object attributes on the frame), each video gets the largest of its
 * frames' values and the sums of their counts. Frame 1 of video 0 has a match, so the
 * reference types its fields as floats (see the IntField defect in detectionMistakenness.ts);
 * video 3 has no frames, video 5 frames without labels.
 */
const MAKE = `
import json, numpy as np, fiftyone as fo, fiftyone.brain as fob
rng = np.random.RandomState(8)
D = fo.Detection
classes = ["cat", "dog", "car"]
def frame_labels(first):
    gts, prs = [], []
    for _ in range(rng.randint(1 if first else 0, 5)):
        w, h = rng.uniform(0.05, 0.4, 2); x, y = rng.uniform(0, 1 - w), rng.uniform(0, 1 - h)
        g = D(label=classes[rng.randint(3)], bounding_box=[x, y, w, h]); gts.append(g)
        if not first and rng.rand() < 0.2: continue
        j = rng.uniform(-0.08, 0.08, 4) * [w, h, w, h]
        prs.append(D(label=g.label if rng.rand() < 0.8 else classes[rng.randint(3)], confidence=float(rng.choice([0.5, 0.97, rng.uniform(0.1, 1.0)])),
                     bounding_box=list(np.clip([x + j[0], y + j[1], w + j[2], h + j[3]], 0, 1)), logits=rng.randn(3) * 2))
    for _ in range(rng.randint(0, 2)):
        w, h = rng.uniform(0.05, 0.3, 2)
        prs.append(D(label=classes[rng.randint(3)], confidence=float(rng.uniform(0.9, 1.0)), bounding_box=[rng.uniform(0, 1 - w), rng.uniform(0, 1 - h), w, h], logits=rng.randn(3)))
    return fo.Detections(detections=gts), fo.Detections(detections=prs)
ds = fo.Dataset("brain_ts_framemist_ref", overwrite=True)
ds.persistent = True
samples = []
for i in range(12):
    s = fo.Sample(filepath="/nonexistent/%d.mp4" % i)
    for f in range(1, 0 if i == 3 else rng.randint(2, 8)):
        if i == 5:
            s.frames[f] = fo.Frame()
            continue
        g, p = frame_labels(i == 0 and f == 1)
        s.frames[f] = fo.Frame(gt=g if f == 1 or rng.rand() > 0.1 else None, pred=p)
    samples.append(s)
ds.add_samples(samples)
for name in ("brain_ts_framemist_ours", "brain_ts_framemist_ref_b", "brain_ts_framemist_ours_b"):
    ds.clone(name, persistent=True)
fob.compute_mistakenness(ds, "frames.pred", label_field="frames.gt")
fob.compute_mistakenness(fo.load_dataset("brain_ts_framemist_ref_b"), "frames.pred", label_field="frames.gt", use_logits=True, copy_missing=True)
print(json.dumps({"media": ds.media_type}))
`;

const run = (dataset: string, params: Record<string, unknown>) => executeJob(req(dataset, "compute_mistakenness", params));

type Dump = Record<string, unknown>;
async function dumps(datasets: string[]): Promise<Dump[]> {
  return runPython(`
import json, fiftyone as fo
def dump(name):
    ds = fo.load_dataset(name)
    fields, frame_fields = ds.get_field_schema(), ds.get_frame_field_schema()
    out = {f: ds.values(f) for f in ("mistakenness", "possible_missing", "possible_spurious") if f in fields}
    out.update({"frames." + f: ds.values("frames." + f) for f in ("mistakenness", "possible_missing", "possible_spurious") if f in frame_fields})
    def attr(field, a):
        return [[None if l is None else [(d[a] if d.has_field(a) else None) for d in l.detections] for l in video] for video in ds.values("frames." + field)]
    for f, a in (("gt", "mistakenness"), ("gt", "mistakenness_loc"), ("gt", "possible_spurious"), ("gt", "possible_missing"), ("gt", "id"), ("pred", "possible_missing")):
        out["frames." + f + "." + a] = attr(f, a)
    out["types"] = {f: type(frame_fields[f]).__name__ for f in ("mistakenness", "possible_missing", "possible_spurious") if f in frame_fields}
    out["runs"] = ds.list_brain_runs()
    out["evals"] = ds.list_evaluations()
    return out
print(json.dumps([dump(n) for n in ${JSON.stringify(datasets)}]))
`);
}

const FIELDS = [
  "mistakenness",
  "possible_missing",
  "possible_spurious",
  "frames.mistakenness",
  "frames.possible_missing",
  "frames.possible_spurious",
  "frames.gt.mistakenness",
  "frames.gt.mistakenness_loc",
  "frames.gt.possible_spurious",
  "frames.pred.possible_missing",
];

beforeAll(async () => {
  const made = await runPython<{ media: string }>(MAKE);
  expect(made.media).toBe("video");
}, 300_000);
afterAll(closeDatabases);

describe("frame-level detection mistakenness against fiftyone-brain", () => {
  it("equals it within 1e-6: frame and video fields, object attributes on the frames", async () => {
    const r = (await run("brain_ts_framemist_ours", { pred_field: "frames.pred", label_field: "frames.gt" })) as Record<string, number>;
    expect(r).toMatchObject({ brainKey: "mistakenness", numSamples: 12 });
    const [ours, ref] = await dumps(["brain_ts_framemist_ours", "brain_ts_framemist_ref"]);
    for (const f of FIELDS) expectClose(ours[f], ref[f], f);
    expect(ours.types).toEqual({ mistakenness: "FloatField", possible_missing: "IntField", possible_spurious: "IntField" });
    const m = ours as Record<string, unknown[]>;
    expect(m.mistakenness[3]).toBeNull(); // no frames
    expect(m.mistakenness[5]).toBe(-1); // frames without labels
    expect(r.possibleMissing).toBeGreaterThan(5);
    expect(r.possibleSpurious).toBeGreaterThan(5);
    expect((m["frames.mistakenness"] as number[][]).flat().filter((v) => v > 0.5).length).toBeGreaterThan(3);
    expect(ours.evals).toEqual([]);
  });

  it("equals it with logits and copy_missing; deleting the run removes what it wrote from the frames", async () => {
    await run("brain_ts_framemist_ours_b", { pred_field: "frames.pred", label_field: "frames.gt", use_logits: true, copy_missing: true });
    const [ours, ref, untouched] = await dumps(["brain_ts_framemist_ours_b", "brain_ts_framemist_ref_b", "brain_ts_framemist_ours"]);
    for (const f of [...FIELDS, "frames.gt.possible_missing", "frames.gt.id"]) expectClose(ours[f], ref[f], f);
    await executeJob(req("brain_ts_framemist_ours_b", "delete_brain_run", { brain_key: "mistakenness" }));
    const [after] = await dumps(["brain_ts_framemist_ours_b"]);
    const orEmpty = (v: unknown) => (v as (string[] | null)[][]).map((video) => video.map((x) => x ?? []));
    expect(orEmpty(after["frames.gt.id"])).toEqual(orEmpty(untouched["frames.gt.id"]));
    for (const f of ["frames.gt.mistakenness", "frames.gt.mistakenness_loc", "frames.gt.possible_spurious", "frames.pred.possible_missing"]) {
      expect((after[f] as unknown[][][]).flat(2).filter((v) => v !== null)).toEqual([]);
    }
    expect(Object.keys(after).filter((k) => /^(frames\.)?(mistakenness|possible_missing|possible_spurious)$/.test(k))).toEqual([]);
    expect(after.types).toEqual({});
    expect(after.runs).toEqual([]);
  });
});
