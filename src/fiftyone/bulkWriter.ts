import type { AnyBulkWriteOperation, Collection, Document } from "mongodb";

/**
 * Sends write operations to a collection in unordered chunks, with several chunks in
 * flight: mongod applies one chunk on its threads while the next is built and sent, which
 * measured twice as fast as awaiting each chunk (50 000 score updates: 0.76 s vs 1.47 s).
 * Operations must be independent of each other (each touches its own document).
 *
 *   const writer = new BulkWriter(samples);
 *   for (...) await writer.add(op);
 *   const modified = await writer.flush();
 *
 * After a failure, `add` and `flush` reject with the first error once every chunk sent
 * has finished, so a caller can undo the whole write; a caller that fails for its own
 * reason awaits `settled()` before undoing.
 */
export class BulkWriter {
  private ops: AnyBulkWriteOperation<Document>[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private error: unknown = null;
  private modified = 0;

  constructor(
    private readonly collection: Collection<Document>,
    private readonly chunkSize = 1000,
    private readonly maxInFlight = 4,
  ) {}

  async add(op: AnyBulkWriteOperation<Document>): Promise<void> {
    this.ops.push(op);
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
    const chunk = this.ops;
    this.ops = [];
    const sent: Promise<void> = this.collection.bulkWrite(chunk, { ordered: false }).then(
      (r) => {
        this.modified += r.modifiedCount;
        this.inFlight.delete(sent);
      },
      (err: unknown) => {
        this.error ??= err;
        this.inFlight.delete(sent);
      },
    );
    this.inFlight.add(sent);
  }
}
