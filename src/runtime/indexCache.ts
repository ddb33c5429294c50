import { BackendSpec, StoredIndex } from "../index/backends";
import { SimilarityIndex } from "../index/similarityIndex";

/**
 * Loaded similarity indexes of the warm runtime, so interactive queries do not re-read
 * an index per request. Keyed by dataset, brain key, run id, timestamp and results file:
 * any change to the stored run (by any process) gives a new key, so a stale entry is
 * never used. Bounded by entries and by an estimate of the vectors' bytes
 * (BRAIN_TS_INDEX_CACHE_MB, default 2048); the least recently used entry goes first.
 * Every use of an entry runs under its lock: a query waits while the index is updated.
 */
export interface LoadedIndex {
  index: SimilarityIndex;
  spec: BackendSpec;
  stored: StoredIndex;
  /** For patch indexes, the sample of each label. */
  sampleOf: Map<string, string> | null;
  bytes: number;
}

interface Entry {
  key: string;
  value: Promise<LoadedIndex>;
  lock: Promise<unknown>;
  lastUsed: number;
}

const MAX_ENTRIES = 8;
const entries = new Map<string, Entry>();

function maxBytes(): number {
  const mb = Number(process.env.BRAIN_TS_INDEX_CACHE_MB ?? 2048);
  return (Number.isFinite(mb) && mb > 0 ? mb : 2048) * 1024 * 1024;
}

/** `prefix` identifies the run (dataset + key); `version` its stored state. */
export function cacheKey(datasetId: string, brainKey: string, version: string): string {
  return `${datasetId}/${brainKey}@${version}`;
}

/**
 * Runs `use` on the loaded index of `key`, loading it with `load` when absent; entries of
 * the same run with another version are dropped. Calls for one key run one at a time.
 */
export async function withIndex<R>(key: string, load: () => Promise<LoadedIndex>, use: (loaded: LoadedIndex) => Promise<R>): Promise<R> {
  const runPrefix = key.slice(0, key.indexOf("@") + 1);
  for (const [k, e] of entries) {
    if (k !== key && k.startsWith(runPrefix)) drop(e);
  }
  let entry = entries.get(key);
  if (!entry) {
    const value = load();
    const created: Entry = { key, value, lock: Promise.resolve(), lastUsed: Date.now() };
    entry = created;
    entries.set(key, created);
    value.then(
      (loaded) => {
        sizes.set(created, loaded.bytes);
        evict();
      },
      () => entries.delete(created.key),
    );
  }
  entry.lastUsed = Date.now();
  const current = entry;
  const run = current.lock.then(async () => use(await current.value));
  current.lock = run.catch(() => undefined);
  return run;
}

/** Moves a run's entry to a new version after the run was updated in place (its index stays loaded). */
export function rekey(oldKey: string, newKey: string): void {
  const entry = entries.get(oldKey);
  if (!entry || oldKey === newKey) return;
  entries.delete(oldKey);
  entry.key = newKey;
  entries.set(newKey, entry);
}

/** Forgets every entry of a run (deleted or renamed). */
export function forgetRun(datasetId: string, brainKey: string): void {
  const prefix = `${datasetId}/${brainKey}@`;
  for (const [k, e] of entries) if (k.startsWith(prefix)) drop(e);
}

function drop(entry: Entry): void {
  entries.delete(entry.key);
  void entry.lock.then(() => entry.value).then((l) => l.index.close(), () => undefined);
}

function evict(): void {
  const settled: Array<[Entry, number]> = [];
  let total = 0;
  for (const e of entries.values()) {
    const size = sizes.get(e) ?? 0;
    total += size;
    settled.push([e, size]);
  }
  settled.sort((a, b) => a[0].lastUsed - b[0].lastUsed);
  while (settled.length > 1 && (settled.length > MAX_ENTRIES || total > maxBytes())) {
    const [e, size] = settled.shift()!;
    total -= size;
    drop(e);
  }
}

const sizes = new WeakMap<Entry, number>();

/** Number of loaded entries (tests and diagnostics). */
export function cachedIndexCount(): number {
  return entries.size;
}
