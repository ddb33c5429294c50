import { Binary } from "bson";
import type { Collection, Document } from "mongodb";

/** One single-document update: mongod's update statement (`q`, `u`, optional `arrayFilters`). */
export interface UpdateStatement {
  filter: Document;
  update: Document | Document[];
  arrayFilters?: Document[];
}

/** A chunk's commands stay well under mongod's 16 MiB command size. */
const MAX_CHUNK_BYTES = 8 << 20;

/**
 * Sends single-document updates to a collection as unordered `update` commands, with
 * several in flight: mongod applies one chunk on its threads while the next is built and
 * sent, which measured twice as fast as awaiting each chunk (50 000 score updates: 0.76 s
 * vs 1.47 s). The statements go out as one raw command per chunk rather than through the
 * driver's bulk API, whose per-operation bookkeeping (sizing each document, building
 * statements) was most of the client's time in a fresh process (10 000 score updates:
 * 0.47 s of CPU vs 0.18 s). Updates must be independent (each touches its own document).
 *
 *   const writer = new BulkWriter(samples);
 *   for (...) await writer.add({ filter, update });
 *   const modified = await writer.flush();
 *
 * After a failure, `add` and `flush` reject with the first error once every chunk sent
 * has finished, so a caller can undo the whole write; a caller that fails for its own
 * reason awaits `settled()` before undoing.
 */
export class BulkWriter {
  private ops: Document[] = [];
  private bytes = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private error: unknown = null;
  private modified = 0;

  constructor(
    private readonly collection: Collection<Document>,
    private readonly chunkSize = 1000,
    private readonly maxInFlight = 4,
  ) {}

  async add(op: UpdateStatement): Promise<void> {
    const statement: Document = { q: op.filter, u: op.update };
    if (op.arrayFilters) statement.arrayFilters = op.arrayFilters;
    const size = approxBsonSize(statement);
    if (this.ops.length && this.bytes + size > MAX_CHUNK_BYTES) await this.send();
    this.ops.push(statement);
    this.bytes += size;
    if (this.ops.length >= this.chunkSize) await this.send();
  }

  /** Sends what is buffered, waits for every chunk, and returns the number of documents modified. */
  async flush(): Promise<number> {
    if (this.ops.length) await this.send();
    await this.settled();
    if (this.error) throw this.error;
    return this.modified;
  }

  /** Resolves when no chunk is in flight (failed or not). */
  async settled(): Promise<void> {
    await Promise.all(this.inFlight);
  }

  private async send(): Promise<void> {
    while (this.inFlight.size >= this.maxInFlight) await Promise.race(this.inFlight);
    if (this.error) {
      await this.settled();
      throw this.error;
    }
    const updates = this.ops;
    this.ops = [];
    this.bytes = 0;
    const command = { update: this.collection.collectionName, updates, ordered: false };
    const sent: Promise<void> = this.collection.db.command(command).then(
      (reply) => {
        this.inFlight.delete(sent);
        const failure = (reply.writeErrors as { errmsg?: string; code?: number }[] | undefined)?.[0] ?? reply.writeConcernError;
        if (failure) this.error ??= new Error(`Update failed (code ${failure.code}): ${failure.errmsg}`);
        else this.modified += Number(reply.nModified ?? 0);
      },
      (err: unknown) => {
        this.error ??= err;
        this.inFlight.delete(sent);
      },
    );
    this.inFlight.add(sent);
  }
}

/** An upper bound of a value's BSON size, cheap enough to take for every statement. */
function approxBsonSize(value: unknown): number {
  if (typeof value === "string") return 16 + 3 * value.length;
  if (value === null || typeof value !== "object") return 16;
  if (value instanceof Binary) return 16 + value.position;
  if (ArrayBuffer.isView(value)) return 16 + value.byteLength;
  if (Array.isArray(value)) {
    let size = 16;
    for (const v of value) size += 8 + approxBsonSize(v);
    return size;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return 32; // ObjectId, Double, Date, …
  let size = 16;
  for (const [k, v] of Object.entries(value)) size += 8 + 3 * k.length + approxBsonSize(v);
  return size;
}
