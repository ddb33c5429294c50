import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { DatabaseLocation } from "../../src/fiftyone/database";
import { findPython } from "../../src/fiftyone/localDatabase";
import { STATE_FILE } from "./globalSetup";

/** The database globalSetup started (FiftyOne's bundled mongod). */
export function testDatabase(): DatabaseLocation {
  return JSON.parse(readFileSync(STATE_FILE, "utf8")) as DatabaseLocation;
}

export function fiftyoneEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const db = testDatabase();
  return {
    ...process.env,
    FIFTYONE_DATABASE_URI: db.uri,
    FIFTYONE_DATABASE_NAME: db.name,
    FIFTYONE_DATABASE_VALIDATION: "false",
    FIFTYONE_DO_NOT_TRACK: "true",
    ...extra,
  };
}

/**
 * Runs Python code against the test database and returns what it prints last as JSON:
 * tests create datasets with real FiftyOne and read back what the runtime wrote.
 */
export function runPython<T = unknown>(code: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile(findPython(), ["-c", code], { env: fiftyoneEnv(extraEnv), maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`Python failed: ${err.message}\n${stderr}`));
      const lines = stdout.trim().split("\n");
      try {
        resolve(JSON.parse(lines[lines.length - 1]) as T);
      } catch {
        reject(new Error(`Python printed no JSON:\n${stdout}\n${stderr}`));
      }
    });
  });
}
