import { ChildProcess } from "node:child_process";
import { startRuntimeService } from "../support/runtimeService";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeDatabases } from "../../src/fiftyone/database";
import { projectRoot } from "../../src/fiftyone/localDatabase";
import { executeJob, JobRequest } from "../../src/runtime/execute";
import { SortBySimilarityResult } from "../../src/runtime/jobs/similarity";
import { runPython, testDatabase } from "../support/fiftyone";
import { toyProjectionModel, writeModel, writeToyClip } from "../support/toyClip";

jest.setTimeout(120_000);

// Adding samples of another dataset by similarity, through the bridge's Python side (the
// runtime finds them, FiftyOne's add_samples copies them): by the selection embedded with
// the source index's model, and by a text prompt; compared with fiftyone-brain's own query
// of the same index.
const root = projectRoot();
const dir = mkdtempSync(join(tmpdir(), "brain-ts-addsimilar-"));
const socket = join(dir, "run", "runtime.sock");
const toy = writeToyClip(join(dir, "toy"));
const proj = writeModel(join(dir, "models"), "proj", toyProjectionModel(16, 8));
const SRC = "brain_ts_addsimilar_src";
const DST = "brain_ts_addsimilar_dst";
const CONFLICT = "brain_ts_addsimilar_conflict";
const NESTED = "brain_ts_addsimilar_nested";
const UNDECLARED = "brain_ts_addsimilar_undeclared";

const COLOURS: Record<string, [number, number, number]> = {
  red: [230, 40, 30],
  darkred: [150, 20, 20],
  orange: [230, 120, 30],
  yellow: [220, 220, 40],
  green: [20, 210, 60],
  teal: [20, 160, 160],
  blue: [40, 30, 220],
  navy: [20, 20, 120],
  purple: [120, 40, 200],
  grey: [128, 128, 128],
};

const request = (method: string, params: Record<string, unknown>): JobRequest => ({
  method,
  params,
  database: testDatabase(),
  dataset: SRC,
  fiftyone_version: "1.22.1",
});

/** Python preamble: the plugin's module loaded by path, as FiftyOne loads it, and both datasets. */
const PRELUDE = `
import importlib.util, json, numpy as np
import fiftyone as fo
from PIL import Image
spec = importlib.util.spec_from_file_location("brain_ts_bridge", ${JSON.stringify(join(root, "__init__.py"))})
bridge = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bridge)
src = fo.load_dataset(${JSON.stringify(SRC)})
dst = fo.load_dataset(${JSON.stringify(DST)})
def colour(path):
    return np.asarray(Image.open(path).convert("RGB"), dtype=float).mean(axis=(0, 1)) / 255
def state():
    return {"n": len(dst), "fields": sorted(dst.get_field_schema().keys())}
def attempt(params, dataset=dst):
    try:
        bridge.add_similar_samples(dataset, params)
        return "no error"
    except bridge.BrainRuntimeError as e:
        return "[%s] %s" % (e.code, e)
    except Exception as e:
        return "%s: %s" % (type(e).__name__, e)
`;

let service: ChildProcess | null = null;

const py = <T>(code: string) => runPython<T>(`${PRELUDE}\n${code}`, { BRAIN_TS_SOCKET: socket });

let dstIds: Record<string, string>;

beforeAll(async () => {
  if (!existsSync(join(root, "lib", "src", "service", "main.js"))) throw new Error("Build first: npm run build");
  // Source: one sample per colour. Destination: the source's own blue file (to be skipped),
  // and two images of its own (lightblue and deepblue, the selection).
  dstIds = await runPython<Record<string, string>>(`
import json, fiftyone as fo
from PIL import Image
colours = ${JSON.stringify(COLOURS)}
d = ${JSON.stringify(dir)}
for name, rgb in list(colours.items()) + [("lightblue", (90, 110, 240)), ("deepblue", (10, 10, 200))]:
    Image.new("RGB", (16, 16), tuple(rgb)).save("%s/%s.png" % (d, name))
src = fo.Dataset(${JSON.stringify(SRC)}, overwrite=True)
src.persistent = True
src.add_samples([fo.Sample(filepath="%s/%s.png" % (d, n), colour=n, ground_truth=fo.Classification(label=n, rank=i, note=0.9)) for i, n in enumerate(colours)])
src.add_sample_field("ground_truth.rank", fo.IntField)
dst = fo.Dataset(${JSON.stringify(DST)}, overwrite=True)
dst.persistent = True
ids = {n: dst.add_sample(fo.Sample(filepath="%s/%s.png" % (d, n), colour=n, count=1)) for n in ["blue", "lightblue", "deepblue"]}
other = fo.Dataset(${JSON.stringify(CONFLICT)}, overwrite=True)
other.persistent = True
other.add_sample(fo.Sample(filepath=d + "/lightblue.png", colour=7))
# Clashing types inside a label: one the source declares (rank), one it does not (note).
for name, attr in [(${JSON.stringify(NESTED)}, "rank"), (${JSON.stringify(UNDECLARED)}, "note")]:
    other = fo.Dataset(name, overwrite=True)
    other.persistent = True
    other.add_sample(fo.Sample(filepath=d + "/lightblue.png", colour="lightblue", ground_truth=fo.Classification(label="x", **{attr: "high"})))
    other.add_dynamic_sample_fields()
print(json.dumps(ids))
`);
  // "clip": an image+text model; "plain": the same vectors without a model; "proj": an image-only model.
  await executeJob(request("compute_similarity", { brain_key: "clip", embeddings: "clip_emb", model: toy.manifestPath, backend: "exact" }));
  await executeJob(request("compute_similarity", { brain_key: "plain", embeddings: "clip_emb", backend: "exact" }));
  await executeJob(request("compute_similarity", { brain_key: "proj", embeddings: "proj_emb", model: proj, backend: "exact" }));
  service = await startRuntimeService(socket);
});

afterAll(async () => {
  service?.kill();
  await closeDatabases();
  await runPython(`
import fiftyone as fo
for name in [${JSON.stringify(SRC)}, ${JSON.stringify(DST)}, ${JSON.stringify(CONFLICT)}, ${JSON.stringify(NESTED)}, ${JSON.stringify(UNDECLARED)}]:
    if fo.dataset_exists(name):
        fo.delete_dataset(name)
print("null")
`);
});

interface AddCheck {
  result: { added_ids: string[]; num_added: number; num_skipped: number; num_found: number; search: string };
  expected_paths: string[];
  expected_skipped: number;
  added_paths: string[];
  added_colours: string[];
  added_labels: string[];
  prompts: Array<string | null>;
  times_set: boolean;
  n_before: number;
  n_after: number;
  src_ids_reused: boolean;
}

/** Python: the reference's ranking of `query` on SRC's "clip" index, minus DST's filepaths; then the add, then what was written. */
const ADD_AND_CHECK = (queryPy: string, params: string) => `
query = ${queryPy}
ref = src.sort_by_similarity(query, k=5, brain_key="clip")
ref_paths = ref.values("filepath")
had = set(dst.values("filepath"))
n_before = len(dst)
result = bridge.add_similar_samples(dst, ${params})
dst.reload()
added = dst.select(result["added_ids"], ordered=True)
last = json.dumps({
    "result": result,
    "expected_paths": [p for p in ref_paths if p not in had],
    "expected_skipped": len([p for p in ref_paths if p in had]),
    "added_paths": added.values("filepath"),
    "added_colours": added.values("colour"),
    "added_labels": added.values("ground_truth.label"),
    "prompts": added.values("prompt") if "prompt" in dst.get_field_schema() else [],
    "times_set": "added_at" in dst.get_field_schema() and all(t is not None for t in added.values("added_at")),
    "n_before": n_before,
    "n_after": len(dst),
    "src_ids_reused": bool(set(result["added_ids"]) & set(src.values("id"))),
})
print(last)
`;

describe("add_similar_samples", () => {
  it("by image: embeds the selection with the index's model and adds the index's results not already present", async () => {
    const selection = JSON.stringify([dstIds.lightblue, dstIds.deepblue]);
    const params = `{"src_dataset": src.name, "brain_key": "clip", "k": 5, "query_ids": ${selection}, "query_time_field": "added_at"}`;
    const out = await py<AddCheck & { again: AddCheck["result"]; n_again: number }>(
      ADD_AND_CHECK(`np.mean([colour(p) for p in dst.select(${selection}).values("filepath")], axis=0)`, params) +
        // The same search again: every result is now present.
        `\nagain = bridge.add_similar_samples(dst, ${params})\nprint(json.dumps({**json.loads(last), "again": again, "n_again": len(dst)}))\n`,
    );
    expect(out.result.search).toBe("image");
    expect(out.result.num_found).toBe(5);
    // The source's blue file is already in the destination: skipped, and the rest added in the index's order.
    expect(out.expected_skipped).toBe(1);
    expect(out.result.num_skipped).toBe(1);
    expect(out.added_paths).toEqual(out.expected_paths);
    expect(out.result.num_added).toBe(4);
    expect(out.n_after - out.n_before).toBe(4);
    // Copies with their fields (labels included), new ids, the query time recorded.
    expect(out.added_colours).toEqual(out.expected_paths.map((p) => p.replace(/^.*\/(\w+)\.png$/, "$1")));
    expect(out.added_labels).toEqual(out.added_colours);
    expect(out.src_ids_reused).toBe(false);
    expect(out.times_set).toBe(true);
    expect(out.again).toMatchObject({ num_found: 5, num_added: 0, num_skipped: 5, added_ids: [] });
    expect(out.n_again).toBe(out.n_after);
  });

  it("by text: the prompt embedded with the index's model; the prompt and the time recorded on the copies", async () => {
    // The runtime's own text query of the index, to compare with.
    const own = (await executeJob(request("sort_by_similarity", { brain_key: "clip", text: "a photo of red", k: 5 }))) as SortBySimilarityResult;
    // The toy text tower maps "red" to the R axis: the reference is queried with that direction (cosine).
    const out = await py<AddCheck & { own_paths: string[] }>(
      ADD_AND_CHECK(
        "np.array([1.0, 0.0, 0.0])",
        `{"src_dataset": src.name, "brain_key": "clip", "k": 5, "query": "a photo of red", "query_field": "prompt", "query_time_field": "added_at"}`,
      ) + `\nprint(json.dumps({**json.loads(last), "own_paths": src.select(${JSON.stringify(own.ids)}, ordered=True).values("filepath")}))\n`,
    );
    expect(out.result.search).toBe("text");
    expect(out.added_paths).toEqual(out.expected_paths);
    expect(out.added_paths).toEqual(out.own_paths.filter((p) => out.expected_paths.includes(p)));
    expect(out.result.num_skipped).toBe(out.expected_skipped);
    expect(out.result.num_added + out.result.num_skipped).toBe(5);
    expect(out.added_paths.length).toBeGreaterThan(0);
    expect(out.added_paths[0]).toMatch(/\/(red|darkred)\.png$/);
    expect(out.prompts).toEqual(out.added_paths.map(() => "a photo of red"));
    expect(out.times_set).toBe(true);
  });

  it("refuses bad input with a clear error, adding nothing and declaring no field", async () => {
    const out = await py<{ errors: Record<string, string>; before: unknown; after: unknown; conflict: number; undeclared: { n: number; same_schema: boolean } }>(`
before = state()
sel = ${JSON.stringify([dstIds.lightblue])}
errors = {
    "no_model": attempt({"src_dataset": src.name, "brain_key": "plain", "query_ids": sel, "query_time_field": "t1"}),
    "no_prompts_plain": attempt({"src_dataset": src.name, "brain_key": "plain", "query": "red", "query_field": "q1"}),
    "no_prompts_model": attempt({"src_dataset": src.name, "brain_key": "proj", "query": "red"}),
    "unknown_dataset": attempt({"src_dataset": "brain_ts_no_such_dataset", "brain_key": "clip", "query": "red"}),
    "same_dataset": attempt({"src_dataset": dst.name, "brain_key": "clip", "query": "red"}),
    "unknown_key": attempt({"src_dataset": src.name, "brain_key": "nope", "query": "red"}),
    "bad_query_field": attempt({"src_dataset": src.name, "brain_key": "clip", "query": "red", "query_field": "count"}),
    "no_query": attempt({"src_dataset": src.name, "brain_key": "clip"}),
    "conflict": attempt({"src_dataset": src.name, "brain_key": "clip", "query": "red"}, fo.load_dataset(${JSON.stringify(CONFLICT)})),
    "nested": attempt({"src_dataset": src.name, "brain_key": "clip", "query": "red"}, fo.load_dataset(${JSON.stringify(NESTED)})),
}
# FiftyOne itself refuses the copies (an attribute the source does not declare): its partial work is undone.
undeclared = fo.load_dataset(${JSON.stringify(UNDECLARED)})
undeclared_before = sorted(undeclared.get_field_schema(flat=True).keys())
errors["undeclared"] = attempt({"src_dataset": src.name, "brain_key": "clip", "query": "red", "query_field": "prompt"}, undeclared)
undeclared.reload()
dst.reload()
print(json.dumps({"errors": errors, "before": before, "after": state(),
                  "conflict": len(fo.load_dataset(${JSON.stringify(CONFLICT)})) + len(fo.load_dataset(${JSON.stringify(NESTED)})),
                  "undeclared": {"n": len(undeclared), "same_schema": sorted(undeclared.get_field_schema(flat=True).keys()) == undeclared_before}}))
`);
    const e = out.errors;
    expect(e.no_model).toMatch(/^\[INVALID_PARAMS\] .*'plain'.*does not record the model/);
    expect(e.no_prompts_plain).toMatch(/^\[INVALID_PARAMS\] .*'plain'.*does not support text prompts/);
    expect(e.no_prompts_model).toMatch(/^\[INVALID_PARAMS\] .*'proj'.*does not support text prompts/);
    expect(e.unknown_dataset).toMatch(/^\[DATASET_NOT_FOUND\] Dataset 'brain_ts_no_such_dataset' not found/);
    expect(e.same_dataset).toMatch(/^\[INVALID_PARAMS\] The source dataset must be another dataset/);
    expect(e.unknown_key).toMatch(/^\[BRAIN_KEY_NOT_FOUND\] .*'nope'/);
    expect(e.bad_query_field).toMatch(/^\[INVALID_FIELD_TYPE\] Field 'count' .* has type IntField; query_field needs a StringField/);
    expect(e.no_query).toMatch(/^\[INVALID_PARAMS\] Select samples to search by image, or give a text 'query'/);
    expect(e.conflict).toMatch(/^\[INVALID_FIELD_TYPE\] .*'colour' \(StringField in '.*', IntField in '.*'\)/);
    expect(e.nested).toMatch(/^\[INVALID_FIELD_TYPE\] .*'ground_truth\.rank' \(IntField in '.*', StringField in '.*'\)/);
    expect(e.undeclared).toMatch(/^ValueError: .*ground_truth/);
    expect(out.after).toEqual(out.before);
    expect(out.conflict).toBe(2);
    expect(out.undeclared).toEqual({ n: 1, same_schema: true });
  });
});
