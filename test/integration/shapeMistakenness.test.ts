import { closeDatabases } from "../../src/fiftyone/database";
import { executeJob } from "../../src/runtime/execute";
import { runPython } from "../support/fiftyone";
import { dumpObjectMistakenness as dumps, MISTAKENNESS_OUTPUTS } from "../support/mistakenness";
import { expectClose, jobRequest as req } from "../support/parity";

jest.setTimeout(240_000);

/**
 * Mistakenness of Polylines and Keypoints against the reference, on sets made by Python
 * and cloned before the reference runs on the original and the runtime on a clone.
 *
 * Polylines: filled polygons (convex, concave and crossing themselves, some of two overlapping
 * shapes, some closed, crowds, a shape too short to make a ring, a shape crossing itself among others:
 * regions GEOS fails on) matched by their area IoU, and images
 * whose ground truth is all unfilled lines, matched by keypoint similarity; predictions
 * jittered vertex by vertex so IoUs fall on both sides of 0.5, labels flipped, dropped and
 * confident extra predictions. The reference runs as shipped (sample 0 has a match, so it
 * types its sample field as a float; see the IntField defect in detectionMistakenness.ts).
 *
 * Keypoints: the reference fails on them twice: its input check reads a confidence off the
 * Keypoints container (as for TemporalDetections), and it compares each keypoint's list of
 * confidences with 0.95. Ours checks each keypoint and uses the mean of its list. The
 * reference runs with that check replaced by the per-object one it applies to Detections, and
 * with the keypoints' confidences read as their mean while it scores each image, so everything else (FiftyOne's
 * keypoint similarity and matching, the scores, the writes) is the reference's own.
 */
const MAKE = `
import json, numpy as np, fiftyone as fo, fiftyone.brain as fob
rng = np.random.RandomState(3)
P = fo.Polyline
K = fo.Keypoint
classes = ["road", "tree", "car"]
def star(cx, cy, r, n):
    # angles in order around the center: often concave, and crossing itself where a gap exceeds half a turn
    return (cx, cy, np.sort(rng.uniform(0, 2 * np.pi, n)), r * rng.uniform(0.5, 1.0, n))
def pts(st):
    cx, cy, a, rr = st
    return [[float(cx + q * np.cos(t)), float(cy + q * np.sin(t))] for q, t in zip(rr, a)]
def jitter(st, s):
    cx, cy, a, rr = st
    return (cx + rng.uniform(-s, s) * rr.mean(), cy + rng.uniform(-s, s) * rr.mean(), a, rr * rng.uniform(1 - s, 1 + s, len(rr)))
BOWTIE = [[0.1, 0.1], [0.2, 0.2], [0.2, 0.1], [0.1, 0.2]]
def poly_sample(i):
    lines = i % 5 == 3
    gts, prs = [], []
    for _ in range(rng.randint(0, 5)):
        cx, cy, r = rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8), rng.uniform(0.05, 0.2)
        stars = [star(cx, cy, r, rng.randint(3, 9))]
        if rng.rand() < 0.2: stars.append(star(cx + r / 2, cy, r, 5))  # two overlapping shapes: one region
        shapes = [pts(st) for st in stars]
        if rng.rand() < 0.03: shapes = [shapes[0][:2]]  # no ring: an empty region
        g = P(label=classes[rng.randint(3)], points=shapes, filled=not lines, closed=bool(rng.rand() < 0.5))
        if rng.rand() < 0.08: g.iscrowd = True
        gts.append(g)
        if rng.rand() < 0.2: continue
        s = rng.choice([0.05, 0.3, 0.6])
        shapes = [pts(jitter(st, s)) for st in stars]
        if rng.rand() < 0.04: shapes.append(BOWTIE)  # a shape crossing itself among several: GEOS fails, an empty region
        prs.append(P(label=g.label if rng.rand() < 0.8 else classes[rng.randint(3)], points=shapes,
                     filled=bool(rng.rand() < 0.7), confidence=float(rng.choice([0.5, 0.95, 0.97, rng.uniform(0.1, 1.0)])), logits=rng.randn(3) * 2))
    if i == 0:  # a match on the first sample, so the reference types its sample field as a float
        st = star(0.5, 0.5, 0.2, 6)
        gts.append(P(label="car", points=[pts(st)], filled=True))
        prs.append(P(label="tree", points=[pts(jitter(st, 0.02))], filled=True, confidence=0.8, logits=rng.randn(3)))
    for _ in range(rng.randint(0, 3)):
        prs.append(P(label=classes[rng.randint(3)], points=[pts(star(rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8), 0.1, 6))], filled=True,
                     confidence=float(rng.uniform(0.9, 1.0)), logits=rng.randn(3)))
    return (fo.Polylines(polylines=gts) if gts or i % 7 else None), fo.Polylines(polylines=prs)
def kp_sample(i):
    gts, prs = [], []
    for _ in range(rng.randint(1 if i == 0 else 0, 4)):
        c = rng.uniform(0.2, 0.8, 2); pts = (c + rng.uniform(-0.15, 0.15, (5, 2))).tolist()
        if rng.rand() < 0.3: pts[rng.randint(5)] = [float("nan"), float("nan")]
        g = K(label=classes[rng.randint(3)], points=pts)
        gts.append(g)
        if rng.rand() < 0.2: continue
        s = rng.choice([0.01, 0.05, 0.12])
        pp = [[x + rng.uniform(-s, s), y + rng.uniform(-s, s)] for x, y in pts]
        conf = rng.choice([0.5, 0.96, 0.98, 0.3], 5).tolist() if rng.rand() < 0.5 else rng.uniform(0, 1, 5).tolist()
        if rng.rand() < 0.2: conf[1] = float("nan")
        prs.append(K(label=g.label if rng.rand() < 0.8 else classes[rng.randint(3)], points=pp, confidence=conf, logits=rng.randn(3)))
    for _ in range(rng.randint(0, 2)):
        c = rng.uniform(0.2, 0.8, 2)
        prs.append(K(label=classes[rng.randint(3)], points=(c + rng.uniform(-0.1, 0.1, (5, 2))).tolist(), confidence=[0.99] * 5, logits=rng.randn(3)))
    return fo.Keypoints(keypoints=gts), fo.Keypoints(keypoints=prs)
def make(name, sample):
    ds = fo.Dataset(name, overwrite=True)
    ds.persistent = True
    ds.add_samples([fo.Sample(filepath="/nonexistent/%d.png" % i, gt=g, pred=p) for i, (g, p) in enumerate(sample(i) for i in range(100))])
    return ds
polys = make("brain_ts_polymist_ref", poly_sample)
for name in ("brain_ts_polymist_ours", "brain_ts_polymist_ref_b", "brain_ts_polymist_ours_b"):
    polys.clone(name, persistent=True)
fob.compute_mistakenness(polys, "pred", label_field="gt")
fob.compute_mistakenness(fo.load_dataset("brain_ts_polymist_ref_b"), "pred", label_field="gt", use_logits=True, copy_missing=True)
kps = make("brain_ts_kpmist_ours", kp_sample)
kps.set_values("noconf", [fo.Keypoints(keypoints=[K(label="road", points=[[0.1, 0.1], [0.2, 0.2]])])] * len(kps))
ref = kps.clone("brain_ts_kpmist_ref", persistent=True)
import fiftyone.brain.internal.core.mistakenness as fbm
process_image = fbm.DetectionMistakenness.process_image
def with_mean_confidence(self, image, eval_key):
    # the keypoints' confidences read as their mean while the reference scores the image, restored before it saves
    kps = image["pred"].keypoints if image["pred"] is not None else []
    lists = [k.confidence for k in kps]
    for k in kps:
        k.confidence = float(np.nanmean(k.confidence))
    try:
        return process_image(self, image, eval_key)
    finally:
        for k, c in zip(kps, lists):
            k.confidence = c
fbm.DetectionMistakenness.process_image = with_mean_confidence
def _get_data(sample, pred_field, label_field, use_logits):
    # the per-object check the reference applies to Detections, instead of reading the Keypoints container's confidence
    for obj in (sample[pred_field].keypoints if sample[pred_field] is not None else []):
        if obj.confidence is None:
            raise ValueError("no confidence")
    return sample[pred_field], sample[label_field]
fbm._get_data = _get_data
fob.compute_mistakenness(ref, "pred", label_field="gt")
print(json.dumps({"polyIds": polys.values("id"), "kpIds": kps.values("id")}))
`;

const run = (dataset: string, params: Record<string, unknown>) => executeJob(req(dataset, "compute_mistakenness", params));

const FIELDS = MISTAKENNESS_OUTPUTS;

let kpIds: string[];
beforeAll(async () => {
  ({ kpIds } = await runPython<{ polyIds: string[]; kpIds: string[] }>(MAKE));
}, 300_000);
afterAll(closeDatabases);

describe("polyline mistakenness against fiftyone-brain", () => {
  it("equals it within 1e-6 on filled polygons and on lines: sample fields, object attributes, counts", async () => {
    const r = (await run("brain_ts_polymist_ours", { pred_field: "pred", label_field: "gt" })) as Record<string, number>;
    expect(r).toMatchObject({ brainKey: "mistakenness", numSamples: 100 });
    const [ours, ref] = await dumps(["brain_ts_polymist_ours", "brain_ts_polymist_ref"], "polylines");
    for (const f of FIELDS) expectClose(ours[f], ref[f], f);
    const m = ours as Record<string, unknown[]>;
    expect(r.possibleMissing).toBeGreaterThan(5);
    expect(r.possibleSpurious).toBeGreaterThan(5);
    // the too-short shapes: regions FiftyOne cannot build
    expect(r.overlapFailures).toBeGreaterThan(0);
    // matches on both kinds of image (filled: i % 5 != 3; lines: i % 5 == 3)
    const matched = (i: number) => (m["gt.mistakenness"][i] as (number | null)[] | null)?.some((v) => v !== null) ?? false;
    expect(m.mistakenness.filter((_, i) => i % 5 !== 3 && matched(i)).length).toBeGreaterThan(10);
    expect(m.mistakenness.filter((_, i) => i % 5 === 3 && matched(i)).length).toBeGreaterThan(3);
    expect(m.mistakenness.filter((v) => v === -1).length).toBeGreaterThan(0);
    expect(ours.evals).toEqual([]);
  });

  it("equals it with logits and copy_missing", async () => {
    const r = (await run("brain_ts_polymist_ours_b", { pred_field: "pred", label_field: "gt", use_logits: true, copy_missing: true })) as Record<string, number>;
    expect(r.possibleMissing).toBeGreaterThan(5);
    const [ours, ref] = await dumps(["brain_ts_polymist_ours_b", "brain_ts_polymist_ref_b"], "polylines");
    for (const f of [...FIELDS, "gt.possible_missing", "gt.id"]) expectClose(ours[f], ref[f], f);
    // deleting the run removes every attribute and copy it wrote from the polylines
    await executeJob(req("brain_ts_polymist_ours_b", "delete_brain_run", { brain_key: "mistakenness" }));
    const [after, untouched] = await dumps(["brain_ts_polymist_ours_b", "brain_ts_polymist_ref"], "polylines");
    const orEmpty = (v: unknown) => (v as (string[] | null)[]).map((x) => x ?? []);
    expect(orEmpty(after["gt.id"])).toEqual(orEmpty(untouched["gt.id"]));
    for (const f of ["gt.mistakenness", "gt.mistakenness_loc", "gt.possible_spurious", "pred.possible_missing"]) {
      expect((after[f] as (unknown[] | null)[]).flat().filter((v) => v !== null)).toEqual([]);
    }
    expect(after.runs).toEqual([]);
  });
});

describe("keypoint mistakenness", () => {
  it("equals the reference run on the keypoints' mean confidences", async () => {
    const r = (await run("brain_ts_kpmist_ours", { pred_field: "pred", label_field: "gt" })) as Record<string, number>;
    expect(r.possibleMissing).toBeGreaterThan(3);
    expect(r.possibleSpurious).toBeGreaterThan(3);
    const [ours, ref] = await dumps(["brain_ts_kpmist_ours", "brain_ts_kpmist_ref"], "keypoints");
    for (const f of FIELDS) expectClose(ours[f], ref[f], f);
    expect((ours.mistakenness as number[]).filter((v) => v > 0.5).length).toBeGreaterThan(3);
  });

  it("a keypoint prediction without confidences is a clear error naming it; nothing written", async () => {
    const [before] = await dumps(["brain_ts_kpmist_ref"], "keypoints");
    await expect(run("brain_ts_kpmist_ref", { pred_field: "noconf", label_field: "gt", mistakenness_field: "m_bad", missing_field: "mm_bad", spurious_field: "ms_bad" })).rejects.toMatchObject({
      code: "INVALID_DATA",
      message: expect.stringMatching(new RegExp(`^Keypoint '[0-9a-f]{24}' in sample '${kpIds[0]}' field 'noconf' has no confidence$`)),
    });
    const [after] = await dumps(["brain_ts_kpmist_ref"], "keypoints");
    expect(after).toEqual(before);
  });
});
