import { chmodSync, mkdirSync, rmSync } from "node:fs";
import { createServer, Server, Socket } from "node:net";
import { dirname } from "node:path";
import { serializeError } from "../errors";
import { executeJob, JobRequest, redact, secretValues } from "../runtime/execute";
import { encode, ServiceMessage } from "./protocol";

export interface ServiceOptions {
  socketPath: string;
  /** Exit after this long without a connection (ms); 0 = never. */
  idleTimeoutMs?: number;
  log?: (line: string) => void;
}

/**
 * The warm runtime: serves jobs on a Unix socket that only this machine's user can open
 * (the socket's folder is 0700), so the runtime is never reachable from the network.
 */
export function startService(options: ServiceOptions): Promise<Server> {
  const log = options.log ?? (() => undefined);
  mkdirSync(dirname(options.socketPath), { recursive: true, mode: 0o700 });
  chmodSync(dirname(options.socketPath), 0o700);
  rmSync(options.socketPath, { force: true });

  let active = 0;
  let idleTimer: NodeJS.Timeout | null = null;
  const server = createServer((socket) => {
    active++;
    if (idleTimer) clearTimeout(idleTimer);
    socket.on("close", () => {
      active--;
      armIdleTimer();
    });
    handleConnection(socket, log);
  });
  const armIdleTimer = () => {
    if (!options.idleTimeoutMs || active > 0) return;
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      log("idle: shutting down");
      server.close();
    }, options.idleTimeoutMs);
    idleTimer.unref();
  };
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.socketPath, () => {
      chmodSync(options.socketPath, 0o600);
      armIdleTimer();
      log(`listening on ${options.socketPath}`);
      resolve(server);
    });
  });
}

function handleConnection(socket: Socket, log: (line: string) => void): void {
  const abort = new AbortController();
  let buffer = "";
  let started = false;
  let finished = false;
  const send = (m: ServiceMessage) => {
    if (!socket.destroyed) socket.write(encode(m));
  };
  socket.setEncoding("utf8");
  socket.on("close", () => {
    if (!finished) abort.abort(new Error("The client went away"));
  });
  socket.on("error", () => undefined);
  socket.on("data", (chunk: string) => {
    if (started) return;
    buffer += chunk;
    const newline = buffer.indexOf("\n");
    if (newline < 0) return;
    started = true;
    let request: JobRequest;
    try {
      request = JSON.parse(buffer.slice(0, newline)) as JobRequest;
    } catch {
      finished = true;
      send({ type: "error", error: { code: "INVALID_PARAMS", message: "The request is not valid JSON" } });
      socket.end();
      return;
    }
    const t0 = Date.now();
    let lastProgress = 0;
    executeJob(
      request,
      (progress, label) => {
        // Throttle: progress is for people, a few updates a second is plenty.
        const now = Date.now();
        if (progress < 1 && now - lastProgress < 200) return;
        lastProgress = now;
        send({ type: "progress", progress, label });
      },
      abort.signal,
    )
      .then((result) => send({ type: "result", result }))
      .catch((err) => {
        const error = serializeError(err);
        error.message = redact(error.message, secretValues(request));
        log(`${request.method} failed: ${error.code} ${error.message}`);
        send({ type: "error", error });
      })
      .finally(() => {
        finished = true;
        log(`${request.method} on '${request.dataset}' finished in ${Date.now() - t0} ms`);
        socket.end();
      });
  });
}
