import type { EmbeddingModel } from "./embeddingModel";
import type { DecodePool } from "./decodePool";
import type { ImageJob, PreparedImage } from "./imagePipeline";
import { nonFiniteRows } from "./onnxModel";

/** One item's result: a vector per output slot (whole image: one), or the reason it failed. */
export type SlotResult = { vector: Float32Array } | { error: string };

export interface EmbedStreamOptions {
  /** Rows per model call (default 16). */
  batchSize?: number;
  /** Items being prepared ahead of the model (default 3 batches' worth). */
  prefetch?: number;
  signal?: AbortSignal;
  /** Called after each model call with the number of items done. */
  onBatch?: (itemsDone: number) => void;
}

/**
 * Embeds a stream of items (each one image, whole or as patches) with `model`, keeping
 * `prefetch` items in preparation on the pool's threads while the model runs, so the
 * model does not wait for decoding. Items come out in input order with one result per
 * slot; memory holds only the items in flight.
 */
export async function* embedStream<T>(
  model: EmbeddingModel,
  pool: DecodePool,
  items: AsyncIterable<T[]> | Iterable<T[]>,
  toJob: (item: T) => ImageJob,
  options: EmbedStreamOptions = {},
): AsyncGenerator<{ item: T; results: SlotResult[] }> {
  const batchSize = options.batchSize ?? 16;
  const prefetch = Math.max(options.prefetch ?? batchSize * 3, batchSize);
  const spec = model.manifest.input;
  const size = 3 * spec.width * spec.height;
  const source = (Symbol.asyncIterator in items ? (items as AsyncIterable<T[]>)[Symbol.asyncIterator]() : (items as Iterable<T[]>)[Symbol.iterator]()) as
    | AsyncIterator<T[]>
    | Iterator<T[]>;
  let buffered: T[] = [];
  let exhausted = false;
  const queue: Array<{ item: T; slots: number; prepared: Promise<PreparedImage> }> = [];

  const fill = async () => {
    while (queue.length < prefetch && !exhausted) {
      if (buffered.length === 0) {
        const next = await source.next();
        if (next.done) {
          exhausted = true;
          break;
        }
        buffered = [...next.value];
        continue;
      }
      const item = buffered.shift() as T;
      const job = toJob(item);
      const prepared = pool.prepare(job, spec);
      prepared.catch(() => undefined); // awaited in order below
      queue.push({ item, slots: job.patches ? job.patches.length : 1, prepared });
    }
  };

  let done = 0;
  await fill();
  while (queue.length > 0) {
    options.signal?.throwIfAborted();
    // Take whole items until the batch holds batchSize rows (an item's patches stay together).
    const taken: Array<{ item: T; slots: number; prepared: PreparedImage }> = [];
    let rows = 0;
    while (queue.length > 0 && (rows < batchSize || taken.length === 0)) {
      const head = queue.shift() as (typeof queue)[number];
      let prepared: PreparedImage;
      try {
        prepared = await head.prepared;
      } catch (err) {
        prepared = { data: new Float32Array(0), slots: [], failures: Array.from({ length: head.slots }, (_, slot) => ({ slot, error: (err as Error).message })) };
      }
      taken.push({ item: head.item, slots: head.slots, prepared });
      rows += prepared.slots.length;
      await fill();
    }
    let out: Float32Array = new Float32Array(0);
    if (rows > 0) {
      const batch = new Float32Array(rows * size);
      let offset = 0;
      for (const t of taken) {
        batch.set(t.prepared.data, offset);
        offset += t.prepared.data.length;
      }
      // The queue keeps preparing on the pool's threads while this runs.
      out = await model.embed(batch, rows);
    }
    const bad = new Set(nonFiniteRows(out, model.dim));
    let row = 0;
    for (const t of taken) {
      const results: SlotResult[] = new Array(t.slots);
      for (const f of t.prepared.failures) results[f.slot] = { error: f.error };
      for (const slot of t.prepared.slots) {
        results[slot] = bad.has(row)
          ? { error: `the model '${model.name}' returned NaN or infinite values` }
          : { vector: out.slice(row * model.dim, (row + 1) * model.dim) };
        row++;
      }
      yield { item: t.item, results };
    }
    done += taken.length;
    options.onBatch?.(done);
  }
}
