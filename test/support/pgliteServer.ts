import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";

/**
 * A real Postgres-protocol server with pgvector (scripts/pgliteServer.mjs: PGlite + pgvector
 * behind pglite-socket) in its own Node process on a free loopback port. Its own process also
 * because PGlite loads its WASM with dynamic imports, which Jest's module sandbox refuses.
 */
export interface PgliteServer {
  connectionString: string;
  stop(): Promise<void>;
}

export async function startPgliteServer(): Promise<PgliteServer> {
  const script = join(__dirname, "..", "..", "scripts", "pgliteServer.mjs");
  const child: ChildProcess = spawn(process.execPath, [script, "--exit-with-stdin"], { stdio: ["pipe", "pipe", "inherit"] });
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once("line", (l) => {
      rl.close();
      resolve(l);
    });
    child.once("exit", (code) => reject(new Error(`the PGlite server exited with ${code} before listening`)));
  });
  const { port } = JSON.parse(line) as { port: number };
  let exited: Promise<void> | null = null;
  return {
    // The password is ignored by PGlite; it is there to check that it is never reported.
    connectionString: `postgresql://postgres:secret-pw@127.0.0.1:${port}/postgres`,
    stop() {
      exited ??= new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      });
      return exited;
    },
  };
}
