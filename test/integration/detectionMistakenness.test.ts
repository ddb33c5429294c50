import { closeDatabases } from "../../src/fiftyone/database";
import { executeJob } from "../../src/runtime/execute";
import { runPython } from "../support/fiftyone";
import { expectClose, jobRequest as req } from "../support/parity";

jest.setTimeout(180_000);

/**
 * Detection sets made by Python, each cloned before the reference runs on the original
 * and the runtime on the clone, so every sample field and object attribute can be
 * compared one to one. Sample 0 is the spec's P.5 worked example; the others have ground
 * truth boxes, predictions jittered from them with flipped labels, dropped predictions
 * (spurious ground truth), confident extra predictions (missing), crowds, equal
 * confidences, a prediction at exactly 0.95, logits, and samples without labels.
 */
const MAKE = `
import json, numpy as np, fiftyone as fo, fiftyone.brain as fob
rng = np.random.RandomState(11)
D = fo.Detection
classes = ["cat", "dog", "bird", "car"]
def p5():
    gt = [D(label="cat", bounding_box=[0.1,0.1,0.4,0.4]), D(label="dog", bounding_box=[0.6,0.6,0.2,0.2]), D(label="bird", bounding_box=[0.0,0.7,0.1,0.1])]
    pr = [D(label="cat", confidence=0.9, bounding_box=[0.1,0.1,0.4,0.4]), D(label="cat", confidence=0.8, bounding_box=[0.62,0.6,0.2,0.2]),
          D(label="person", confidence=0.97, bounding_box=[0.3,0.8,0.1,0.1]), D(label="car", confidence=0.5, bounding_box=[0.0,0.0,0.05,0.05])]
    for p in pr: p.logits = rng.randn(4) * 3
    return fo.Detections(detections=gt), fo.Detections(detections=pr)
def rand_sample(i):
    if i % 37 == 5: return None, None
    gts, prs = [], []
    for _ in range(rng.randint(0, 6)):
        w, h = rng.uniform(0.05, 0.4, 2); x, y = rng.uniform(0, 1 - w), rng.uniform(0, 1 - h)
        g = D(label=classes[rng.randint(4)], bounding_box=[x, y, w, h])
        if rng.rand() < 0.08: g.iscrowd = True
        gts.append(g)
        if rng.rand() < 0.2: continue  # dropped: ground truth possibly spurious
        j = rng.uniform(-0.08, 0.08, 4) * [w, h, w, h]
        label = g.label if rng.rand() < 0.8 else classes[rng.randint(4)]
        conf = float(rng.choice([0.5, 0.7, 0.95, rng.uniform(0.1, 1.0)]))
        prs.append(D(label=label, confidence=conf, bounding_box=list(np.clip([x + j[0], y + j[1], w + j[2], h + j[3]], 0, 1)), logits=rng.randn(4) * 2))
    for _ in range(rng.randint(0, 3)):
        w, h = rng.uniform(0.05, 0.3, 2)
        prs.append(D(label=classes[rng.randint(4)], confidence=float(rng.uniform(0.9, 1.0)), bounding_box=[rng.uniform(0, 1 - w), rng.uniform(0, 1 - h), w, h], logits=rng.randn(4)))
    return (fo.Detections(detections=gts) if gts or rng.rand() < 0.5 else None), (fo.Detections(detections=prs) if prs or rng.rand() < 0.5 else None)
ds = fo.Dataset("brain_ts_detmist_ref", overwrite=True)
ds.persistent = True
g, p = p5()
samples = [fo.Sample(filepath="/nonexistent/0.png", gt=g, pred=p)]
for i in range(1, 120):
    g, p = rand_sample(i)
    samples.append(fo.Sample(filepath="/nonexistent/%d.png" % i, gt=g, pred=p))
ds.add_samples(samples)
ds.set_values("cls", [fo.Classification(label="cat", confidence=0.5)] * len(ds))
ds.set_values("nolog", [fo.Detections(detections=[D(label="cat", confidence=0.9, bounding_box=[0.1, 0.1, 0.2, 0.2])])] * len(ds))
ds.set_values("noconf", [fo.Detections(detections=[D(label="cat", bounding_box=[0.1, 0.1, 0.2, 0.2])])] * len(ds))
ds.add_sample_field("empty_dets", fo.EmbeddedDocumentField, embedded_doc_type=fo.Detections)
for name in ("brain_ts_detmist_ours", "brain_ts_detmist_ref_b", "brain_ts_detmist_ours_b"):
    c = ds.clone(name, persistent=True)
fob.compute_mistakenness(ds, "pred", label_field="gt")
fob.compute_mistakenness(fo.load_dataset("brain_ts_detmist_ref_b"), "pred", label_field="gt", use_logits=True, copy_missing=True)
print(json.dumps({"ids": ds.values("id")}))
`;

const run = (dataset: string, params: Record<string, unknown>) => executeJob(req(dataset, "compute_mistakenness", params));

type Dump = Record<string, unknown>;
/**
 * Every sample field and object attribute a run can write, per dataset, in dataset order,
 * as Python reads them; `prelude` runs first (in the same Python process, to save start-ups).
 */
async function dumps(datasets: string[], prelude = ""): Promise<Dump[]> {
  return runPython(`
import json, fiftyone as fo, fiftyone.brain as fob
${prelude}
def dump(name):
    ds = fo.load_dataset(name)
    # object attributes read through FiftyOne's objects (the reference's re-save stores an empty list as a missing key)
    def attr(field, a):
        return [None if l is None else [(d[a] if d.has_field(a) else None) for d in l.detections] for l in ds.values(field)]
    out = {f: ds.values(f) for f in ("mistakenness", "possible_missing", "possible_spurious") if ds.has_field(f)}
    for f, a in (("gt", "mistakenness"), ("gt", "mistakenness_loc"), ("gt", "possible_spurious"), ("gt", "possible_missing"), ("gt", "id"), ("pred", "possible_missing")):
        out[f + ".detections." + a] = attr(f, a)
    out["types"] = {f: type(ds.get_field(f)).__name__ for f in ("mistakenness", "possible_missing", "possible_spurious") if ds.has_field(f)}
    out["runs"] = ds.list_brain_runs()
    out["evals"] = ds.list_evaluations()
    out["attrs"] = sorted({k for d in ds.values("gt.detections") + ds.values("pred.detections") for x in (d or []) for k in x.to_dict().keys()})
    return out
print(json.dumps([dump(n) for n in ${JSON.stringify(datasets)}]))
`);
}

let ids: string[];
beforeAll(async () => {
  ({ ids } = await runPython<{ ids: string[] }>(MAKE));
}, 300_000);
afterAll(closeDatabases);

describe("detection mistakenness against fiftyone-brain", () => {
  it("equals the reference within 1e-6: sample fields, object attributes, counts (confidence mode)", async () => {
    const r = (await run("brain_ts_detmist_ours", { pred_field: "pred", label_field: "gt" })) as Record<string, unknown>;
    expect(r).toMatchObject({ brainKey: "mistakenness", numSamples: 120, evalKey: "mistakenness_eval" });
    const [ours, ref] = await dumps(["brain_ts_detmist_ours", "brain_ts_detmist_ref"]);
    for (const f of ["mistakenness", "possible_missing", "possible_spurious", "gt.detections.mistakenness", "gt.detections.mistakenness_loc", "gt.detections.possible_spurious", "pred.detections.possible_missing"]) {
      expectClose(ours[f], ref[f], f);
    }
    expect(ours.types).toEqual({ mistakenness: "FloatField", possible_missing: "IntField", possible_spurious: "IntField" });
    expect(ours.types).toEqual(ref.types);
    expect(ours.attrs).toEqual(ref.attrs); // no evaluation attributes left behind on either
    expect(ours.evals).toEqual([]);
    // the spec's P.5 worked example
    const m = ours as Record<string, unknown[][]>;
    expect(m.mistakenness[0]).toBe(0.9);
    expect([m.possible_missing[0], m.possible_spurious[0]]).toEqual([1, 1]);
    expectClose(m["gt.detections.mistakenness"][0], [0.05, 0.9, null]);
    expectClose(m["gt.detections.mistakenness_loc"][0], [0.05, 0.39090909090908976, null], "", 1e-12);
    expect(m["gt.detections.possible_spurious"][0]).toEqual([null, null, true]);
    expect(m["pred.detections.possible_missing"][0]).toEqual([null, null, true, null]);
    expect((m.mistakenness as unknown[]).filter((v) => v === -1).length).toBeGreaterThan(0); // no match → −1
  });

  it("equals the reference with logits and copy_missing, again on a second run, and deleting undoes the copies", async () => {
    await run("brain_ts_detmist_ours_b", { pred_field: "pred", label_field: "gt", use_logits: true, copy_missing: true });
    const pair = ["brain_ts_detmist_ours_b", "brain_ts_detmist_ref_b"];
    let [ours, ref] = await dumps(pair);
    for (const f of ["mistakenness", "possible_missing", "possible_spurious", "gt.detections.mistakenness", "gt.detections.mistakenness_loc", "gt.detections.possible_missing", "gt.detections.id", "pred.detections.possible_missing"]) {
      expectClose(ours[f], ref[f], f);
    }
    // second run: the copies match their predictions, nothing is copied again
    const again = (await run("brain_ts_detmist_ours_b", { pred_field: "pred", label_field: "gt", use_logits: true, copy_missing: true })) as Record<string, unknown>;
    expect(again.replaced).toBe(true);
    [ours, ref] = await dumps(pair, `fob.compute_mistakenness(fo.load_dataset("brain_ts_detmist_ref_b"), "pred", label_field="gt", use_logits=True, copy_missing=True)`);
    for (const f of ["mistakenness", "possible_missing", "possible_spurious", "gt.detections.mistakenness", "gt.detections.id", "pred.detections.possible_missing"]) {
      expectClose(ours[f], ref[f], f);
    }
    expect((ours as Record<string, number[]>).possible_missing[0]).toBe(0);
    // delete: ours through the runtime, the reference's through Python
    await executeJob(req("brain_ts_detmist_ours_b", "delete_brain_run", { brain_key: "mistakenness" }));
    let untouched: Dump;
    [ours, ref, untouched] = await dumps([...pair, "brain_ts_detmist_ref"], `fo.load_dataset("brain_ts_detmist_ref_b").delete_brain_run("mistakenness")`);
    // ours: every copy and every attribute the run wrote is gone, the ground truth is as before the runs;
    // the reference's cleanup leaves the predictions' possible_missing and, after a second run, some copies behind
    expect(ref.attrs).toContain("possible_missing");
    expect(ours.attrs).not.toContain("possible_missing");
    expect(ours.attrs).not.toContain("mistakenness");
    expect(ours.attrs).not.toContain("possible_spurious");
    // (samples without ground truth keep the empty Detections that copy_missing gave them, as in the reference)
    const orEmpty = (v: unknown) => (v as (string[] | null)[]).map((x) => x ?? []);
    expect(orEmpty(ours["gt.detections.id"])).toEqual(orEmpty(untouched["gt.detections.id"]));
    expect(ours.types).toEqual({});
    expect(ours.runs).toEqual([]);
  });

  it("Python sees the run as the reference's DetectionMistakennessConfig, with the same attributes", async () => {
    const py = await runPython<{ ours: Record<string, unknown>; ref: Record<string, unknown>; cls: string }>(`
import json, fiftyone as fo
db = fo.core.odm.get_db_conn()
def cfg(name):
    ds = fo.load_dataset(name)
    return db.runs.find_one({"_id": ds._doc.brain_methods["mistakenness"].id})["config"]
ours = fo.load_dataset("brain_ts_detmist_ours")
print(json.dumps({"ours": cfg("brain_ts_detmist_ours"), "ref": cfg("brain_ts_detmist_ref"), "cls": type(ours.get_brain_info("mistakenness").config).__name__}))
`);
    expect(py.cls).toBe("DetectionMistakennessConfig");
    expect(Object.keys(py.ours)).toEqual(Object.keys(py.ref));
    expect(py.ours).toEqual(py.ref);
  });

  it("bad input: clear errors naming the field and the first offending sample; nothing written", async () => {
    const D = "brain_ts_detmist_ref";
    await expect(run(D, { pred_field: "nolog", label_field: "gt", use_logits: true, mistakenness_field: "m_bad", missing_field: "mm_bad", spurious_field: "ms_bad" })).rejects.toMatchObject({
      code: "INVALID_DATA",
      // the first sample where a prediction without logits is matched (only matched ones use them)
      message: expect.stringMatching(/^Detection '[0-9a-f]{24}' in sample '[0-9a-f]{24}' field 'nolog' has no logits$/),
    });
    await expect(run(D, { pred_field: "noconf", label_field: "gt", mistakenness_field: "m_bad", missing_field: "mm_bad", spurious_field: "ms_bad" })).rejects.toMatchObject({
      code: "INVALID_DATA",
      message: expect.stringMatching(new RegExp(`in sample '${ids[0]}' field 'noconf' has no confidence$`)),
    });
    await expect(run(D, { pred_field: "pred", label_field: "cls", mistakenness_field: "m_bad", missing_field: "mm_bad", spurious_field: "ms_bad" })).rejects.toMatchObject({
      code: "INVALID_FIELD_TYPE",
      message: expect.stringContaining("'cls'"),
    });
    await expect(run(D, { pred_field: "cls", label_field: "gt", mistakenness_field: "m_bad", missing_field: "mm_bad", spurious_field: "ms_bad" })).rejects.toMatchObject({
      code: "INVALID_FIELD_TYPE",
      message: expect.stringContaining("'gt'"),
    });
    await expect(run(D, { pred_field: "empty_dets", label_field: "empty_dets", mistakenness_field: "m_bad", missing_field: "mm_bad", spurious_field: "ms_bad" })).rejects.toMatchObject({
      code: "INVALID_DATA",
      message: "Fields 'empty_dets' and 'empty_dets' have no object on any of the 120 samples of the view",
    });
    await expect(
      run(D, { pred_field: "empty_dets", label_field: "gt", mistakenness_field: "m_bad", missing_field: "mm_bad", spurious_field: "ms_bad" }),
    ).resolves.toBeDefined(); // ground truth objects exist: all spurious, as the reference
    const py = await runPython<{ runs: string[]; fields: string[]; attrs: string[] }>(`
import json, fiftyone as fo
ds = fo.load_dataset("brain_ts_detmist_ref")
print(json.dumps({"runs": ds.list_brain_runs(), "fields": list(ds.get_field_schema().keys()),
  "attrs": sorted({k for d in ds.values("nolog.detections") + ds.values("noconf.detections") for x in (d or []) for k in x.to_dict().keys()})}))
`);
    expect(py.attrs).not.toContain("m_bad");
    expect(py.attrs).not.toContain("possible_missing");
    expect(py.runs).toContain("m_bad");
    expect(py.fields).toEqual(expect.arrayContaining(["m_bad", "mm_bad", "ms_bad"]));
    await executeJob(req(D, "delete_brain_run", { brain_key: "m_bad" }));
  });
});
