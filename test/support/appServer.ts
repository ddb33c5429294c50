import { ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findPython, projectRoot } from "../../src/fiftyone/localDatabase";
import { fiftyoneEnv } from "./fiftyone";

export interface AppServer {
  url: string;
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), 5000).unref();
  });
}

/**
 * A real FiftyOne App server on the test database, with this plugin (the checkout,
 * built) in FIFTYONE_PLUGINS_DIR and its own runtime socket.
 */
export async function startAppServer(databaseEnv: NodeJS.ProcessEnv = fiftyoneEnv()): Promise<AppServer> {
  const root = projectRoot();
  const work = mkdtempSync(join(tmpdir(), "brain-ts-app-"));
  const pluginsDir = join(work, "plugins");
  mkdirSync(pluginsDir);
  symlinkSync(root, join(pluginsDir, "brain-ts"));
  const port = await freePort();
  const env = {
    ...databaseEnv,
    FIFTYONE_PLUGINS_DIR: pluginsDir,
    BRAIN_TS_SOCKET: join(work, "runtime", "runtime.sock"),
    BRAIN_TS_IDLE_TIMEOUT: "120",
  };
  const python = findPython(root);
  const main = join(root, ".venv", "lib", "python3.11", "site-packages", "fiftyone", "server", "main.py");
  const child = spawn(python, [main, "--address", "127.0.0.1", "--port", String(port)], { env, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout!.on("data", (d: Buffer) => (log += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (log += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`The App server exited:\n${log}`);
    try {
      const res = await fetch(`${url}/plugins`);
      if (res.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      await stopProcess(child);
      throw new Error(`The App server did not start:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return {
    url,
    env,
    stop: async () => {
      await stopProcess(child);
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** Runs `fiftyone delegated launch` until stopped, as an operator's worker would. */
export function startDelegatedWorker(env: NodeJS.ProcessEnv): { stop(): Promise<void>; log(): string } {
  const fiftyone = join(projectRoot(), ".venv", "bin", "fiftyone");
  const child = spawn(fiftyone, ["delegated", "launch"], { env, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout!.on("data", (d: Buffer) => (log += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (log += d.toString()));
  return { stop: () => stopProcess(child), log: () => log };
}
