import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { BrainError } from "../errors";
import { projectRoot } from "../fiftyone/localDatabase";
import { type ModelManifest, validateManifest } from "./modelManifest";

/**
 * The model zoo: names → model manifests. The project's `models/zoo.json` is always
 * read (its first entry is the default model); `FIFTYONE_BRAIN_MODEL_ZOO` may name more
 * zoo files (separated by `:`), whose entries come after and may not reuse a name.
 *
 * An entry is either a full manifest (files are URLs, or paths relative to the zoo
 * file's folder) or `{ name, generated }`: a manifest the build writes into the
 * project's `.cache/models` (the default model, converted from nsfwjs at build time).
 */
export interface ZooEntry {
  name: string;
  description?: string;
  /** The zoo file the entry came from. */
  zooFile: string;
  /** Manifest file written by `npm run build`, in `generatedDir`. */
  generated?: string;
  manifest?: ModelManifest;
}

export function builtinZooPath(): string {
  return join(projectRoot(), "models", "zoo.json");
}

/** Where `npm run build` writes generated models and their manifests. */
export function generatedModelsDir(): string {
  return join(projectRoot(), ".cache", "models");
}

export function zooPaths(): string[] {
  const extra = (process.env.FIFTYONE_BRAIN_MODEL_ZOO ?? "").split(":").filter((p) => p.length > 0);
  return [builtinZooPath(), ...extra];
}

function readZoo(path: string): ZooEntry[] {
  if (!existsSync(path)) throw new BrainError("MODEL_NOT_FOUND", `Model zoo file not found: ${path}`);
  let parsed: { models?: unknown };
  try {
    parsed = JSON.parse(readFileSync(path, "utf8")) as { models?: unknown };
  } catch (err) {
    throw new BrainError("MODEL_INVALID", `Model zoo ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(parsed.models)) throw new BrainError("MODEL_INVALID", `Model zoo ${path} has no 'models' list`);
  return parsed.models.map((raw: unknown, i: number) => {
    const where = `${path} entry ${i}`;
    if (typeof raw !== "object" || raw === null) throw new BrainError("MODEL_INVALID", `Model zoo ${where} is not an object`);
    const e = raw as Record<string, unknown>;
    if (typeof e.name !== "string" || !e.name) throw new BrainError("MODEL_INVALID", `Model zoo ${where} has no name`);
    const description = typeof e.description === "string" ? e.description : undefined;
    if (typeof e.generated === "string") return { name: e.name, description, zooFile: path, generated: e.generated };
    const { description: _d, ...manifest } = e;
    return { name: e.name, description, zooFile: path, manifest: validateManifest(manifest, where) };
  });
}

/** All zoo entries, the default model first. */
export function listZoo(paths = zooPaths()): ZooEntry[] {
  const entries: ZooEntry[] = [];
  for (const path of paths) {
    for (const entry of readZoo(path)) {
      if (entries.some((e) => e.name === entry.name)) {
        throw new BrainError("MODEL_INVALID", `Model zoo ${path} defines '${entry.name}' again`);
      }
      entries.push(entry);
    }
  }
  return entries;
}

export function findZooEntry(name: string, paths = zooPaths()): ZooEntry | undefined {
  return listZoo(paths).find((e) => e.name === name);
}

/** The default model's zoo name (the first entry of models/zoo.json). */
export function defaultZooModelName(): string {
  const first = readZoo(builtinZooPath())[0];
  if (!first) throw new BrainError("MODEL_INVALID", `${builtinZooPath()} lists no model`);
  return first.name;
}

/** The folder an entry's relative files resolve against. */
export function entryBaseDir(entry: ZooEntry): string {
  return entry.generated ? generatedModelsDir() : dirname(entry.zooFile);
}
