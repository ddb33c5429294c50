import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { BrainError } from "../errors";
import { DatabaseLocation } from "./database";

/**
 * FiftyOne runs its bundled mongod only while a Python client is connected. When no
 * FIFTYONE_DATABASE_URI is set, we keep one small Python process connected for as long
 * as we need the database, and ask it where the database is.
 */
const HOLDER = `
import json, sys
import fiftyone as fo
import fiftyone.core.odm.database as d
if fo.config.database_uri:
    uri = fo.config.database_uri
else:
    host, port = d.get_db_client().address
    uri = "mongodb://%s:%d/" % (host, port)
print("BRAIN_TS_DATABASE " + json.dumps({"uri": uri, "name": fo.config.database_name}), flush=True)
sys.stdin.read()
`;

/** The plugin's folder (holds fiftyone.yml), from source or from lib/. */
const MARKER = "BRAIN_TS_DATABASE ";

export function projectRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, "fiftyone.yml"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("Cannot find the plugin folder (fiftyone.yml)");
    dir = parent;
  }
  return dir;
}

export function findPython(projectDir = projectRoot()): string {
  if (process.env.BRAIN_TS_PYTHON) return process.env.BRAIN_TS_PYTHON;
  const venv = join(projectDir, ".venv", "bin", "python");
  return existsSync(venv) ? venv : "python3";
}

export interface HeldDatabase {
  location: DatabaseLocation;
  release(): Promise<void>;
}

export function holdFiftyOneDatabase(python = findPython(), env: NodeJS.ProcessEnv = process.env): Promise<HeldDatabase> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, ["-c", HOLDER], {
      env: { FIFTYONE_DATABASE_VALIDATION: "false", FIFTYONE_DO_NOT_TRACK: "true", ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", (err) => reject(new BrainError("DATABASE_UNREACHABLE", `Cannot start Python (${python}): ${err.message}`)));
    child.on("exit", (code) => reject(new BrainError("DATABASE_UNREACHABLE", `FiftyOne could not start its database (exit ${code}):\n${stderr.trim()}`)));
    // FiftyOne may print notices of its own first; our line is marked.
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      if (!line.startsWith(MARKER)) return;
      lines.close();
      const location = JSON.parse(line.slice(MARKER.length)) as DatabaseLocation;
      child.removeAllListeners("exit");
      resolve({
        location,
        release: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once("exit", () => done());
            child.stdin.end();
          }),
      });
    });
  });
}
