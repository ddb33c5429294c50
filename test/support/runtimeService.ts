import { ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { projectRoot } from "../../src/fiftyone/localDatabase";

/** The built warm runtime (lib/src/service/main.js) listening on `socket`; resolves once it says so. */
export function startRuntimeService(socket: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(projectRoot(), "lib", "src", "service", "main.js"), "--socket", socket, "--idle-timeout", "60"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      if (d.toString().includes("listening")) resolve(child);
    });
    child.on("exit", (code) => reject(new Error(`runtime exited with ${code}`)));
  });
}
