import { closeDatabases } from "../../src/fiftyone/database";
import { executeJob } from "../../src/runtime/execute";
import { runPython } from "../support/fiftyone";
import { dumpObjectMistakenness as dumps, MISTAKENNESS_OUTPUTS } from "../support/mistakenness";
import { expectClose, jobRequest as req } from "../support/parity";

jest.setTimeout(180_000);

/**
 * Mistakenness of TemporalDetections on a video dataset made by Python, against the
 * reference. The reference cannot run on TemporalDetections as shipped: its input check
 * reads `confidence` (or `logits`) off the TemporalDetections container, which has
 * neither, and raises before computing. To compare with its algorithm, the reference runs
 * here with that one check replaced by the per-object confidence check it applies to
 * Detections; everything else (FiftyOne's ActivityNet matching, the scores, the writes) is
 * the reference's own. Sample 0 has a match, so the reference types its sample field as a
 * float (see the IntField defect in detectionMistakenness.ts).
 */
const MAKE = `
import json, numpy as np, fiftyone as fo, fiftyone.brain as fob
import fiftyone.brain.internal.core.mistakenness as fbm
rng = np.random.RandomState(5)
T = fo.TemporalDetection
classes = ["walk", "run", "jump"]
def rand_sample(i):
    gts, prs = [], []
    for _ in range(rng.randint(1 if i == 0 else 0, 6)):
        a = int(rng.randint(1, 300)); b = a + int(rng.choice([0, rng.randint(1, 80)]))
        g = T(label=classes[rng.randint(3)], support=[a, b]); gts.append(g)
        if i > 0 and rng.rand() < 0.2: continue  # dropped: ground truth possibly spurious
        ja, jb = (0, 0) if b == a and rng.rand() < 0.5 else tuple(int(v) for v in rng.randint(-12, 13, 2))
        s = max(1, a + ja)
        prs.append(T(label=g.label if rng.rand() < 0.8 else classes[rng.randint(3)], support=[s, s + max(0, b - a + jb)],
                     confidence=float(rng.choice([0.5, 0.95, 0.96, rng.uniform(0.1, 1.0)])), logits=rng.randn(3) * 2))
    for _ in range(rng.randint(0, 3)):
        a = int(rng.randint(1, 300))
        prs.append(T(label=classes[rng.randint(3)], support=[a, a + int(rng.randint(0, 50))], confidence=float(rng.uniform(0.9, 1.0)), logits=rng.randn(3)))
    if i % 23 == 7: return None, fo.TemporalDetections(detections=prs)
    return fo.TemporalDetections(detections=gts), fo.TemporalDetections(detections=prs)
ds = fo.Dataset("brain_ts_tdmist_ref", overwrite=True)
ds.persistent = True
samples = []
for i in range(80):
    g, p = rand_sample(i)
    samples.append(fo.Sample(filepath="/nonexistent/%d.mp4" % i, gt=g, pred=p))
ds.add_samples(samples)
ds.set_values("noconf", [fo.TemporalDetections(detections=[T(label="run", support=[1, 10])])] * len(ds))
for name in ("brain_ts_tdmist_ours", "brain_ts_tdmist_ref_b", "brain_ts_tdmist_ours_b"):
    ds.clone(name, persistent=True)
def _get_data(sample, pred_field, label_field, use_logits):
    for obj in (sample[pred_field].detections if sample[pred_field] is not None else []):
        if obj.confidence is None:
            raise ValueError("no confidence")
    return sample[pred_field], sample[label_field]
fbm._get_data = _get_data
fob.compute_mistakenness(ds, "pred", label_field="gt")
fob.compute_mistakenness(fo.load_dataset("brain_ts_tdmist_ref_b"), "pred", label_field="gt", use_logits=True, copy_missing=True)
print(json.dumps({"ids": ds.values("id"), "media": ds.media_type}))
`;

const run = (dataset: string, params: Record<string, unknown>) => executeJob(req(dataset, "compute_mistakenness", params));

const FIELDS = MISTAKENNESS_OUTPUTS;

let ids: string[];
beforeAll(async () => {
  const made = await runPython<{ ids: string[]; media: string }>(MAKE);
  expect(made.media).toBe("video");
  ids = made.ids;
}, 300_000);
afterAll(closeDatabases);

describe("temporal detection mistakenness against fiftyone-brain's algorithm", () => {
  it("equals it within 1e-6: sample fields, object attributes, counts (confidence mode)", async () => {
    const r = (await run("brain_ts_tdmist_ours", { pred_field: "pred", label_field: "gt" })) as Record<string, number>;
    expect(r).toMatchObject({ brainKey: "mistakenness", numSamples: 80 });
    const [ours, ref] = await dumps(["brain_ts_tdmist_ours", "brain_ts_tdmist_ref"]);
    for (const f of FIELDS) expectClose(ours[f], ref[f], f);
    const m = ours as Record<string, unknown[]>;
    // the set exercises every case: matches, unmatched confident predictions, spurious ground truth, no match at all
    expect(r.possibleMissing).toBeGreaterThan(5);
    expect(r.possibleSpurious).toBeGreaterThan(5);
    expect(m.mistakenness.filter((v) => v === -1).length).toBeGreaterThan(0);
    expect(m.mistakenness.filter((v) => typeof v === "number" && v > 0.5).length).toBeGreaterThan(0);
    expect(ours.evals).toEqual([]);
  });

  it("equals it with logits and copy_missing", async () => {
    await run("brain_ts_tdmist_ours_b", { pred_field: "pred", label_field: "gt", use_logits: true, copy_missing: true });
    const [ours, ref] = await dumps(["brain_ts_tdmist_ours_b", "brain_ts_tdmist_ref_b"]);
    for (const f of [...FIELDS, "gt.possible_missing", "gt.id"]) expectClose(ours[f], ref[f], f);
  });

  it("a temporal prediction without confidence is a clear error naming it; nothing written", async () => {
    await expect(run("brain_ts_tdmist_ref", { pred_field: "noconf", label_field: "gt", mistakenness_field: "m_bad", missing_field: "mm_bad", spurious_field: "ms_bad" })).rejects.toMatchObject({
      code: "INVALID_DATA",
      message: expect.stringMatching(new RegExp(`^TemporalDetection '[0-9a-f]{24}' in sample '${ids[0]}' field 'noconf' has no confidence$`)),
    });
    const [after] = await dumps(["brain_ts_tdmist_ref"]);
    expect(after.runs).toEqual(["mistakenness"]);
  });
});
