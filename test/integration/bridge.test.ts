import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { startRuntimeService } from "../support/runtimeService";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { projectRoot } from "../../src/fiftyone/localDatabase";
import { runPython } from "../support/fiftyone";

jest.setTimeout(120_000);

const root = projectRoot();
const work = mkdtempSync(join(tmpdir(), "brain-ts-bridge-"));
const socket = join(work, "run", "runtime.sock");
const DATASET = "brain_ts_bridge";

/** Python code that loads the plugin's bridge module the way FiftyOne does, by path. */
const LOAD_BRIDGE = `
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("brain_ts_bridge", ${JSON.stringify(join(root, "__init__.py"))})
bridge = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bridge)
import fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
def request(method, params, view=None):
    view = view if view is not None else ds
    return {"method": method, "params": params, "database": bridge._database_location(),
            "dataset": ds.name, "target": bridge._describe_target(view), "fiftyone_version": "1.22.1"}
`;

let service: ChildProcess | null = null;

beforeAll(async () => {
  if (!existsSync(join(root, "lib", "src", "service", "main.js"))) throw new Error("Build first: npm run build");
  // Two large sparse files of the same size (so the size pre-pass cannot rule them out)
  // take the runtime many seconds to hash: time to kill it mid-run.
  const bigs = ["big1.png", "big2.png"].map((f) => join(work, f));
  for (const big of bigs) execFileSync("truncate", ["-s", "20G", big]);
  await runPython(`
import json, shutil, fiftyone as fo
from PIL import Image
paths = []
for i in range(4):
    p = ${JSON.stringify(work)} + "/img%d.png" % i
    Image.new("RGB", (8, 8), (60 * i, 0, 0)).save(p)
    paths.append(p)
shutil.copy(paths[0], ${JSON.stringify(work)} + "/copy0.png")
paths.append(${JSON.stringify(work)} + "/copy0.png")
ds = fo.Dataset(${JSON.stringify(DATASET)}, overwrite=True)
ds.persistent = True
ds.add_samples([fo.Sample(filepath=p, tags=["small"]) for p in paths])
ds.add_samples([fo.Sample(filepath=p, tags=["big"]) for p in ${JSON.stringify(bigs)}])
print(json.dumps(len(ds)))
`);
  service = await startRuntimeService(socket);
});

afterAll(() => {
  service?.kill();
});

describe("the Python bridge and the runtime service", () => {
  it("sends a view's pipeline over the Unix socket, relays progress and returns the result", async () => {
    const out = await runPython<{ result: { numSamples: number; numDuplicates: number }; progress: number[] }>(
      `${LOAD_BRIDGE}
progress = []
result = bridge.run_job(request("compute_exact_duplicates", {"brain_key": "bridged"}, ds.match_tags("small")), lambda p, l: progress.append(p))
print(json.dumps({"result": result, "progress": progress}))
`,
      { BRAIN_TS_SOCKET: socket },
    );
    expect(out.result).toMatchObject({ numSamples: 5, numDuplicates: 1 });
    expect(out.progress[out.progress.length - 1]).toBe(1);
  });

  it("turns runtime errors into clear Python errors", async () => {
    const out = await runPython<{ code: string; message: string }>(
      `${LOAD_BRIDGE}
try:
    bridge.run_job(request("compute_exact_duplicates", {"brain_key": "bridged"}))
except bridge.BrainRuntimeError as e:
    print(json.dumps({"code": e.code, "message": str(e)}))
`,
      { BRAIN_TS_SOCKET: socket },
    );
    expect(out).toEqual({ code: "BRAIN_KEY_EXISTS", message: expect.stringContaining("'bridged' already exists") });
  });

  it("passes the plugin's brain secrets per run and masks them in what it reports", async () => {
    const logged: string[] = [];
    service!.stdout!.on("data", (d: Buffer) => logged.push(d.toString()));
    const out = await runPython<{ secrets: Record<string, string>; code: string; message: string }>(
      `${LOAD_BRIDGE}
class Ctx:
    secrets = {"FIFTYONE_BRAIN_SIMILARITY_SKLEARN_METRIC": "s3cr3t-value", "OTHER_SECRET": "x", "FIFTYONE_BRAIN_EMPTY": ""}
secrets = bridge._brain_secrets(Ctx())
req = request("compute_near_duplicates", {"embeddings": "missing"})
req["config_env"] = secrets
try:
    bridge.run_job(req)
    print(json.dumps({"secrets": secrets, "code": "none", "message": ""}))
except bridge.BrainRuntimeError as e:
    print(json.dumps({"secrets": secrets, "code": e.code, "message": str(e)}))
`,
      { BRAIN_TS_SOCKET: socket },
    );
    // Only FIFTYONE_BRAIN_* values travel; the job used the secret as its brain config.
    expect(out.secrets).toEqual({ FIFTYONE_BRAIN_SIMILARITY_SKLEARN_METRIC: "s3cr3t-value" });
    expect(out.code).toBe("INVALID_PARAMS");
    expect(out.message).toBe("Unknown metric '***': use cosine or euclidean");
    await new Promise((r) => setTimeout(r, 200));
    expect(logged.join("")).toContain("compute_near_duplicates failed");
    expect(logged.join("")).not.toContain("s3cr3t-value");
  });

  it("leaves no run and no field behind when the runtime dies mid-run", async () => {
    const pid = service!.pid!;
    const started = join(work, "started");
    const runJob = runPython<{ code: string; message: string }>(
      `${LOAD_BRIDGE}
try:
    bridge.run_job(request("compute_exact_duplicates", {"brain_key": "crashed", "output_field": "crash_group"}),
                   lambda p, l: open(${JSON.stringify(started)}, "w").close())
    print(json.dumps({"code": "none", "message": "finished"}))
except bridge.BrainRuntimeError as e:
    print(json.dumps({"code": e.code, "message": str(e)}))
`,
      { BRAIN_TS_SOCKET: socket },
    );
    // Killed once the run reports progress (it then hashes the big files for many seconds).
    while (!existsSync(started)) await new Promise((r) => setTimeout(r, 50));
    process.kill(pid, "SIGKILL");
    const out = await runJob;
    expect(out.message).toMatch(/stopped before finishing/);
    const state = await runPython<{ runs: string[]; field: boolean; raw: number }>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
print(json.dumps({"runs": ds.list_brain_runs(), "field": ds.has_field("crash_group"), "raw": len(ds.exists("crash_group"))}))
`);
    expect(state).toEqual({ runs: ["bridged"], field: false, raw: 0 });
    service = await startRuntimeService(socket);
  });

  it("exits cleanly when idle and on SIGTERM", async () => {
    const exitCode = (args: string[], signal?: NodeJS.Signals) =>
      new Promise<number | null>((resolve, reject) => {
        const child = spawn(process.execPath, [join(root, "lib", "src", "service", "main.js"), ...args], { stdio: ["ignore", "pipe", "inherit"] });
        const timer = setTimeout(() => {
          child.kill("SIGKILL");
          reject(new Error("the runtime did not exit"));
        }, 10_000);
        child.stdout!.once("data", () => signal && child.kill(signal));
        child.on("exit", (code) => {
          clearTimeout(timer);
          resolve(code);
        });
      });
    await expect(exitCode(["--socket", join(work, "idle", "r.sock"), "--idle-timeout", "1"])).resolves.toBe(0);
    await expect(exitCode(["--socket", join(work, "term", "r.sock")], "SIGTERM")).resolves.toBe(0);
  });
});
