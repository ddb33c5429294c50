import { runPython } from "./fiftyone";

export type MistakennessDump = Record<string, unknown>;

/** The sample fields and object attributes a default mistakenness run of objects writes (ground truth `gt`, predictions `pred`). */
export const MISTAKENNESS_OUTPUTS = ["mistakenness", "possible_missing", "possible_spurious", "gt.mistakenness", "gt.mistakenness_loc", "gt.possible_spurious", "pred.possible_missing"];

/**
 * Per dataset, as Python reads them: the three sample fields (those that exist), the object
 * attributes of `gt` and `pred` (objects in their `list`: detections, polylines, keypoints)
 * as `gt.<attribute>` / `pred.<attribute>` (with `gt.id` and `gt.possible_missing`), the
 * evaluations and the brain runs.
 */
export function dumpObjectMistakenness(datasets: string[], list = "detections"): Promise<MistakennessDump[]> {
  return runPython(`
import json, fiftyone as fo
def dump(name):
    ds = fo.load_dataset(name)
    def attr(field, a):
        return [None if l is None else [(d[a] if d.has_field(a) else None) for d in l.${list}] for l in ds.values(field)]
    out = {f: ds.values(f) for f in ("mistakenness", "possible_missing", "possible_spurious") if ds.has_field(f)}
    for f, a in (("gt", "mistakenness"), ("gt", "mistakenness_loc"), ("gt", "possible_spurious"), ("gt", "possible_missing"), ("gt", "id"), ("pred", "possible_missing")):
        out[f + "." + a] = attr(f, a)
    out["evals"] = ds.list_evaluations()
    out["runs"] = ds.list_brain_runs()
    return out
print(json.dumps([dump(n) for n in ${JSON.stringify(datasets)}]))
`);
}
