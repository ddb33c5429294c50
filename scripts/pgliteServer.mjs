// A Postgres-protocol server with pgvector, in one Node process: PGlite (Postgres compiled to
// WASM) with its pgvector extension, served on loopback by pglite-socket. The tests start it;
// it also lets anyone try the pgvector backend without installing Postgres:
//   node scripts/pgliteServer.mjs [--port 5433] [--data-dir DIR]
// It prints one JSON line {"port": N, "connectionString": "..."} once it accepts connections,
// and stops on SIGINT/SIGTERM, or with --exit-with-stdin when its standard input closes (so a
// parent that dies takes it along; the tests use this).
import { PGlite } from "@electric-sql/pglite";
import { vector } from "@electric-sql/pglite-pgvector";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

const arg = (name) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const port = Number(arg("--port") ?? 0);
const dataDir = arg("--data-dir");

const db = await PGlite.create({ extensions: { vector }, ...(dataDir ? { dataDir } : {}) });
const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port, maxConnections: 16 });
await server.start();
const actual = Number(server.getServerConn().split(":").pop());
process.stdout.write(JSON.stringify({ port: actual, connectionString: `postgresql://postgres@127.0.0.1:${actual}/postgres` }) + "\n");

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await server.stop().catch(() => undefined);
  await db.close().catch(() => undefined);
  process.exit(0);
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
if (process.argv.includes("--exit-with-stdin")) {
  process.stdin.on("end", stop);
  process.stdin.on("close", stop);
  process.stdin.resume();
}
