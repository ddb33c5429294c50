import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

/**
 * Milvus Lite's gRPC server (PyPI `milvus-lite`, installed into .venv-milvus by
 * scripts/setup.sh) on a free loopback port with a throwaway data folder.
 */
export interface MilvusLiteServer {
  uri: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export async function startMilvusLite(): Promise<MilvusLiteServer> {
  const bin = join(__dirname, "..", "..", ".venv-milvus", "bin", "milvus-lite");
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run scripts/setup.sh (it installs Milvus Lite into .venv-milvus)`);
  const dataDir = mkdtempSync(join(tmpdir(), "brain-ts-milvus-"));
  const port = await freePort();
  const child = spawn(bin, ["server", "--data-dir", dataDir, "--host", "127.0.0.1", "--port", String(port)], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Milvus Lite did not start within 120 s: ${stderr}`)), 120000);
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (/listening on/.test(line)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`Milvus Lite exited with ${code}: ${stderr}`));
    });
  });
  let exited: Promise<void> | null = null;
  return {
    uri: `127.0.0.1:${port}`,
    stop() {
      exited ??= new Promise<void>((resolve) => {
        const done = () => {
          rmSync(dataDir, { recursive: true, force: true });
          resolve();
        };
        if (child.exitCode !== null) return done();
        child.once("exit", done);
        child.kill("SIGTERM");
      });
      return exited;
    },
  };
}
