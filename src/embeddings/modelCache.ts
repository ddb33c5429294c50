import { createHash, randomBytes } from "node:crypto";
import { createReadStream, existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { open } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, join } from "node:path";
import { BrainError } from "../errors";

/**
 * The local cache of downloaded model files: `$FIFTYONE_BRAIN_MODELS_DIR`, else
 * `~/fiftyone/__models__/brain-ts` (next to FiftyOne's own model zoo folder).
 * A file is stored as `<sha256[:12]>-<name>`, so two models whose files share a name
 * never collide, and a cached file is reused only when its hash is the expected one.
 */
export function modelsCacheDir(): string {
  const env = process.env.FIFTYONE_BRAIN_MODELS_DIR;
  return env && env.length > 0 ? env : join(homedir(), "fiftyone", "__models__", "brain-ts");
}

export function isUrl(ref: string): boolean {
  return /^https?:\/\//i.test(ref);
}

export interface DownloadProgress {
  url: string;
  bytes: number;
  /** From Content-Length; null when the server does not say. */
  totalBytes: number | null;
}

export interface DownloadOptions {
  /** Expected sha256 (hex); required: an unchecked download is never cached. */
  sha256: string;
  cacheDir?: string;
  progress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
  /** No byte for this long → the download fails (default 30 s). */
  idleTimeoutMs?: number;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

function fileNameOf(url: string): string {
  const name = basename(new URL(url).pathname) || "model";
  return name.replace(/[^A-Za-z0-9._-]/g, "_");
}

/** Where `url` with hash `sha256` is (or would be) cached. */
export function cachedPath(url: string, sha256: string, cacheDir = modelsCacheDir()): string {
  return join(cacheDir, `${sha256.slice(0, 12)}-${fileNameOf(url)}`);
}

/**
 * Returns the local path of `url`'s file, downloading it first unless the cache holds it.
 * The bytes stream to a temporary file in the cache folder while being hashed; only a
 * complete file with the expected sha256 is renamed into place (atomic on one file
 * system), so an interrupted or wrong download never leaves a usable-looking file.
 */
export async function downloadModelFile(url: string, options: DownloadOptions): Promise<string> {
  const { sha256 } = options;
  if (!/^[0-9a-f]{64}$/.test(sha256 ?? "")) {
    throw new BrainError("MODEL_INVALID", `Downloading ${url} needs its sha256 (64 lowercase hex digits) in the model manifest`);
  }
  const cacheDir = options.cacheDir ?? modelsCacheDir();
  const dest = cachedPath(url, sha256, cacheDir);
  if (existsSync(dest) && statSync(dest).isFile()) {
    if ((await sha256File(dest)) === sha256) return dest;
    rmSync(dest, { force: true }); // corrupted cache entry: fetch again
  }
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${dest}.part-${process.pid}-${randomBytes(4).toString("hex")}`;
  const idleMs = options.idleTimeoutMs ?? 30_000;
  const controller = new AbortController();
  const onAbort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  let idle = setTimeout(() => controller.abort(new Error(`no data for ${idleMs / 1000} s`)), idleMs);
  const touch = () => {
    clearTimeout(idle);
    idle = setTimeout(() => controller.abort(new Error(`no data for ${idleMs / 1000} s`)), idleMs);
  };
  const file = await open(tmp, "w");
  try {
    let response: Response;
    try {
      response = await fetch(url, { signal: controller.signal, redirect: "follow" });
    } catch (err) {
      throw unreachable(url, err, options.signal);
    }
    if (!response.ok || !response.body) {
      throw new BrainError("MODEL_DOWNLOAD_FAILED", `Cannot download model file ${url}: the server answered ${response.status} ${response.statusText}`);
    }
    const length = Number(response.headers.get("content-length"));
    const totalBytes = Number.isFinite(length) && length > 0 ? length : null;
    const hash = createHash("sha256");
    let bytes = 0;
    let lastReport = 0;
    options.progress?.({ url, bytes, totalBytes });
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        touch();
        hash.update(chunk);
        await file.write(chunk);
        bytes += chunk.length;
        const now = Date.now();
        if (now - lastReport > 200) {
          lastReport = now;
          options.progress?.({ url, bytes, totalBytes });
        }
      }
    } catch (err) {
      throw unreachable(url, err, options.signal, bytes);
    }
    options.progress?.({ url, bytes, totalBytes });
    if (totalBytes !== null && bytes !== totalBytes) {
      throw new BrainError("MODEL_DOWNLOAD_FAILED", `Download of ${url} ended after ${bytes} of ${totalBytes} bytes`);
    }
    const got = hash.digest("hex");
    if (got !== sha256) {
      throw new BrainError("MODEL_INVALID", `Downloaded ${url} (${bytes} bytes) has sha256 ${got}, but the manifest expects ${sha256}; the file was not kept`);
    }
    await file.sync();
    await file.close();
    renameSync(tmp, dest);
    return dest;
  } finally {
    clearTimeout(idle);
    options.signal?.removeEventListener("abort", onAbort);
    await file.close().catch(() => undefined);
    rmSync(tmp, { force: true });
  }
}

/** Fetches a small text document (a manifest) without caching it. */
export async function fetchText(url: string, signal?: AbortSignal, timeoutMs = 30_000): Promise<string> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  let response: Response;
  try {
    response = await fetch(url, { signal: combined, redirect: "follow" });
  } catch (err) {
    throw unreachable(url, err, signal);
  }
  if (!response.ok) {
    throw new BrainError("MODEL_NOT_FOUND", `Cannot fetch ${url}: the server answered ${response.status} ${response.statusText}`);
  }
  try {
    return await response.text();
  } catch (err) {
    throw unreachable(url, err, signal);
  }
}

function unreachable(url: string, err: unknown, signal?: AbortSignal, bytes?: number): BrainError {
  if (err instanceof BrainError) return err;
  if (signal?.aborted) return new BrainError("CANCELLED", `Download of ${url} cancelled`);
  const e = err as Error & { cause?: { code?: string; message?: string } };
  const cause = e.cause?.code ?? e.cause?.message ?? e.message;
  const after = bytes ? ` after ${bytes} bytes` : "";
  return new BrainError(
    "MODEL_DOWNLOAD_FAILED",
    `Cannot download ${url}${after} (${cause}): the machine may be offline or the host unreachable. ` +
      "Download the file yourself and pass its local path (with its manifest) as the model",
  );
}
