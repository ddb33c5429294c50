import { Binary } from "bson";
import type { Collection, Document, ObjectId } from "mongodb";

/** One update: mongod's update statement (`q`, `u`, optional `arrayFilters`, `multi`). */
export interface UpdateStatement {
  filter: Document;
  update: Document | Document[];
  arrayFilters?: Document[];
  multi?: boolean;
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
 * 0.47 s of CPU vs 0.18 s). Updates must be independent (no document touched twice).
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
    if (op.multi) statement.multi = true;
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

/** Documents per statement of a FieldValueWriter: larger groups cost mongod more in finding each id's position. */
const GROUP = 50;

/**
 * Sets one field to its own value in each of many documents, a group of documents per
 * statement: the statement matches the group's ids with `$in` and an update pipeline
 * picks each document's value by the position of its `_id` in the group. Against one
 * `$set` statement per document this measured about half of mongod's CPU and a fifth of
 * the client's (100 000 score updates in a fresh process: ≈ 1.6 s instead of 2.3–3.0 s;
 * groups of 100 were slower again, each lookup being linear in the group). `also` holds
 * constant fields set on every document (e.g. `last_modified_at`). Ids must be distinct.
 *
 *   const writer = new FieldValueWriter(samples, "score", { last_modified_at: new Date() });
 *   for (...) await writer.add(id, value);
 *   const modified = await writer.flush();
 *
 * Errors as BulkWriter's.
 */
export class FieldValueWriter {
  private ids: ObjectId[] = [];
  private values: unknown[] = [];
  private readonly writer: BulkWriter;

  constructor(
    collection: Collection<Document>,
    private readonly field: string,
    private readonly also: Document = {},
  ) {
    // ≈ 1000 documents per command, as BulkWriter's default chunk
    this.writer = new BulkWriter(collection, Math.ceil(1000 / GROUP));
  }

  async add(id: ObjectId, value: unknown): Promise<void> {
    this.ids.push(id);
    this.values.push(value === undefined ? null : value);
    if (this.ids.length >= GROUP) await this.sendGroup();
  }

  async flush(): Promise<number> {
    if (this.ids.length) await this.sendGroup();
    return this.writer.flush();
  }

  settled(): Promise<void> {
    return this.writer.settled();
  }

  private sendGroup(): Promise<void> {
    const ids = this.ids;
    const values = this.values;
    this.ids = [];
    this.values = [];
    const set: Document = { [this.field]: { $arrayElemAt: [{ $literal: values }, { $indexOfArray: [{ $literal: ids }, "$_id"] }] } };
    for (const [k, v] of Object.entries(this.also)) set[k] = { $literal: v };
    return this.writer.add({ filter: { _id: { $in: ids } }, update: [{ $set: set }], multi: true });
  }
}
