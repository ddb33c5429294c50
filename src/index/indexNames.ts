import { createHash } from "node:crypto";

/**
 * The table / collection name of a run's external index: `brain_ts_<dataset slug>_<brain key>`,
 * valid as a Postgres identifier, a LanceDB table and a Milvus collection name; names longer
 * than Postgres's 63 bytes are cut and suffixed with a hash so they stay unique.
 */
export function defaultIndexName(datasetName: string, brainKey: string): string {
  const slug = datasetName.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "");
  const name = `brain_ts_${slug}_${brainKey}`;
  if (Buffer.byteLength(name) <= 63) return name;
  const hash = createHash("sha1").update(name).digest("hex").slice(0, 10);
  return `${name.slice(0, 52)}_${hash}`;
}
