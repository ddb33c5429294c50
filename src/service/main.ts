import { closeDatabases } from "../fiftyone/database";
import { Server } from "node:net";
import { prepareRuntime } from "../runtime/prepare";
import { startService } from "./server";

/** Entry point the bridge starts: `node lib/src/service/main.js --socket PATH [--idle-timeout SECONDS]`. */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const arg = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const socketPath = arg("--socket");
  if (!socketPath) {
    console.error("usage: main.js --socket PATH [--idle-timeout SECONDS]");
    process.exit(2);
  }
  const idleTimeoutMs = Number(arg("--idle-timeout") ?? "1800") * 1000;
  const log = (line: string) => console.log(`[brain-ts ${new Date().toISOString()}] ${line}`);
  // Reached from a signal and from the server's own "close" (idle timeout); once only:
  // closing an already closed server emits "close" again. Signal handlers go in before
  // the server announces itself, so a signal right after start still exits cleanly.
  let server: Server | null = null;
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server?.close();
    void closeDatabases().finally(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  server = await startService({ socketPath, idleTimeoutMs, log });
  server.on("close", stop);
  // after announcing: jobs are accepted meanwhile and start whatever is not up yet themselves
  prepareRuntime().catch((err: Error) => log(`preparing the runtime failed: ${err.message}`));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
