import { Binary, deserialize } from "bson";
import { Db } from "mongodb";
import { BrainError } from "../errors";
import { DatasetDoc, FieldDoc, findField } from "./datasets";
import { VectorDecoder } from "./vectorDecoder";
import { decodeStoredNumpy, firstNonFinite, NumpyArray } from "./numpy";
import { countSamples, prefetched, streamRawSamples, ViewTarget } from "./samples";

/** Field classes whose values are vectors: numpy arrays stored as bytes, or plain lists of numbers. */
const ARRAY_FTYPES = new Set(["fiftyone.core.fields.VectorField", "fiftyone.core.fields.ArrayField"]);
const LIST_FTYPE = "fiftyone.core.fields.ListField";
const NUMBER_SUBFIELDS = new Set(["fiftyone.core.fields.FloatField", "fiftyone.core.fields.IntField"]);

export interface EmbeddingsMatrix<V extends Float32Array | Float64Array = Float32Array> {
  /** Ids of the samples that have an embedding, in the view's order. */
  ids: string[];
  /** Row-major `ids.length × dim` matrix (float64 only when asked for and stored so). */
  vectors: V;
  dim: number;
  /** Samples of the view without a value (None / missing); they are skipped, as the reference does. */
  numMissing: number;
}

export interface ReadOptions {
  signal?: AbortSignal;
  progress?: (fraction: number, label?: string) => void;
  batchSize?: number;
  /** Keep float64 values as float64 (for methods whose results depend on raw magnitudes). */
  float64?: boolean;
  /** The view's number of samples, when the caller has just counted them (saves counting again). */
  total?: number;
}

/** Checks the field exists at the top level and holds vectors; returns its schema entry. */
export function embeddingsFieldDoc(dataset: DatasetDoc, field: string): FieldDoc {
  if (typeof field !== "string" || !field) throw new BrainError("INVALID_PARAMS", "An embeddings field name is required");
  if (field.includes(".")) {
    throw new BrainError("INVALID_PARAMS", `Embeddings field '${field}': only top-level sample fields are supported`);
  }
  const doc = findField(dataset, field);
  if (!doc) throw new BrainError("FIELD_NOT_FOUND", `Embeddings field '${field}' does not exist on dataset '${dataset.name}'`);
  const ok = ARRAY_FTYPES.has(doc.ftype) || (doc.ftype === LIST_FTYPE && (!doc.subfield || NUMBER_SUBFIELDS.has(doc.subfield)));
  if (!ok) {
    const type = doc.ftype.split(".").pop();
    throw new BrainError(
      "INVALID_FIELD_TYPE",
      `Field '${field}' of dataset '${dataset.name}' is a ${type}${doc.embedded_doc_type ? ` (${doc.embedded_doc_type.split(".").pop()})` : ""}, not an embeddings field (VectorField, ArrayField or a list of numbers)`,
    );
  }
  return doc;
}

/**
 * A stored array value as numbers: FiftyOne's serialized numpy bytes (decoded exactly), or
 * a plain list of numbers. `null` for a missing value. Throws a plain Error saying what is
 * wrong with anything else; callers add the field and sample.
 */
export interface StoredArray {
  shape: number[];
  data: ArrayLike<number>;
  /** Stored as float32 (numpy reads it back as float32). */
  float32: boolean;
}

export function storedArray(value: unknown): StoredArray | null {
  if (value instanceof Binary) {
    try {
      return fromNumpy(decodeStoredNumpy(value.buffer.subarray(0, value.position)));
    } catch (err) {
      throw notNumpy(err);
    }
  }
  if (value instanceof Uint8Array) return storedArray(new Binary(value));
  if (value === undefined || value === null) return null;
  if (Array.isArray(value)) {
    const data = value.map((v) => (typeof v === "number" ? v : typeof v === "boolean" ? Number(v) : NaN));
    const bad = value.findIndex((v) => typeof v !== "number" && typeof v !== "boolean");
    if (bad >= 0) throw new Error(`holds a list whose element ${bad} is not a number (${JSON.stringify(value[bad])})`);
    return { shape: [data.length], data, float32: false };
  }
  throw new Error(`holds a ${typeof value} value, not an array`);
}

/** A sample's id and the value of the field read. */
interface SampleValue {
  id: string;
  value: unknown;
}

/**
 * The `_id` and `field` of a projected sample document, read from its BSON bytes in place:
 * binary values (numpy bytes) become Binary views of those bytes, without the full
 * deserialization the driver would do (most of a fresh process's read time at 10 000 ×
 * 512). Any other layout is deserialized as usual.
 */
function rawSampleValue(doc: Buffer, field: string): SampleValue {
  let id: string | null = null;
  let value: unknown = undefined;
  let pos = 4;
  while (pos < doc.length && doc[pos] !== 0) {
    const type = doc[pos++];
    const nameEnd = doc.indexOf(0, pos);
    const name = doc.toString("utf8", pos, nameEnd);
    pos = nameEnd + 1;
    if (type === 0x07 && name === "_id") {
      id = doc.toString("hex", pos, pos + 12);
      pos += 12;
    } else if (type === 0x05 && name === field && doc[pos + 4] === 0x00) {
      const length = doc.readInt32LE(pos);
      value = new Binary(doc.subarray(pos + 5, pos + 5 + length));
      pos += 5 + length;
    } else if ((type === 0x0a || type === 0x06) && name === field) {
      value = null;
    } else {
      const parsed = deserialize(doc);
      return { id: (parsed._id as { toHexString(): string }).toHexString(), value: parsed[field] };
    }
  }
  if (id === null) throw new BrainError("INTERNAL", "A sample document without an ObjectId '_id'");
  return { id, value };
}

async function* sampleValues(source: AsyncIterable<Buffer[]>, field: string): AsyncGenerator<SampleValue[]> {
  for await (const docs of source) yield docs.map((doc) => rawSampleValue(doc, field));
}

const fromNumpy = (arr: NumpyArray): StoredArray => ({ shape: arr.shape, data: arr.data, float32: /^[<>|=]?f4$/.test(arr.dtype) });
const notNumpy = (err: unknown) => new Error(`holds bytes that are not a serialized numpy array: ${(err as Error).message}`);

/**
 * Reads an embeddings field of the view, streamed in batches, into one Float32Array
 * matrix (float64 values are narrowed to float32, as the matrix would otherwise double
 * in size). Samples without a value are skipped and counted. Errors name the field and
 * the first offending sample: mixed dimensions, NaN or infinite values, non-vectors.
 */
export async function readEmbeddings(
  db: Db,
  dataset: DatasetDoc,
  target: ViewTarget,
  field: string,
  options: ReadOptions & { float64: true },
): Promise<EmbeddingsMatrix<Float32Array | Float64Array>>;
export async function readEmbeddings(
  db: Db,
  dataset: DatasetDoc,
  target: ViewTarget,
  field: string,
  options?: ReadOptions & { float64?: false },
): Promise<EmbeddingsMatrix>;
export async function readEmbeddings(
  db: Db,
  dataset: DatasetDoc,
  target: ViewTarget,
  field: string,
  options: ReadOptions = {},
): Promise<EmbeddingsMatrix<Float32Array | Float64Array>> {
  embeddingsFieldDoc(dataset, field);
  const decoder = VectorDecoder.shared();
  decoder.start();
  // counted while the first batch is fetched
  const counted = options.total !== undefined ? Promise.resolve(options.total) : countSamples(db, dataset, target);
  counted.catch(() => undefined); // awaited below
  let total = -1;
  const ids: string[] = [];
  // allocated at the first value (its size and type)
  let vectors: Float32Array | Float64Array = new Float32Array(0);
  let dim = -1;
  let numMissing = 0;
  let seen = 0;
  let nextRow = 0;

  /** A value through every check, into its row: the first value, and whatever the decoder left. */
  const exact = (id: string, value: unknown, row: number) => {
    let arr: StoredArray | null;
    try {
      arr = storedArray(value);
    } catch (err) {
      throw new BrainError("INVALID_DATA", `Embeddings field '${field}' of sample '${id}' ${(err as Error).message}`);
    }
    if (arr === null) throw new BrainError("INTERNAL", `Embeddings field '${field}' of sample '${id}' changed while it was read`);
    if (arr.shape.length !== 1) {
      throw new BrainError(
        "INVALID_DATA",
        `Embeddings field '${field}' of sample '${id}' holds an array of shape (${arr.shape.join(", ")}); embeddings must be 1-D vectors`,
      );
    }
    const d = arr.shape[0];
    if (dim < 0) {
      if (d === 0) throw new BrainError("INVALID_DATA", `Embeddings field '${field}' of sample '${id}' holds an empty vector`);
      dim = d;
      // numpy reads float32 back as float32 and everything else as float64, and so do we when asked
      const wide = options.float64 === true && !arr.float32;
      vectors = wide ? new Float64Array(total * dim) : new Float32Array(total * dim);
    } else if (d !== dim) {
      throw new BrainError(
        "INVALID_DATA",
        `Embeddings in field '${field}' have different dimensions: sample '${id}' has ${d}, earlier samples have ${dim}`,
      );
    }
    vectors.set(arr.data, row * dim);
    const k = firstNonFinite(vectors, row * dim, (row + 1) * dim);
    if (k >= 0) {
      throw new BrainError("INVALID_DATA", `Embeddings field '${field}' of sample '${id}' contains ${arr.data[k - row * dim]} (element ${k - row * dim})`);
    }
  };

  /**
   * Gives the batch's values their rows (in view order) and starts decoding its numpy bytes
   * into a block shared with the worker (the matrix itself stays an ordinary buffer, as
   * onnxruntime takes no shared memory). The read's first value goes through the exact
   * path first: it sets the matrix's size and type.
   */
  const start = async (docs: SampleValue[]) => {
    if (total < 0) total = await counted;
    const firstRow = nextRow;
    const rows = docs.map(({ value }) => (value === null || value === undefined ? -1 : nextRow++));
    if (nextRow > total) throw new BrainError("INTERNAL", `The view changed while it was read (more than ${total} samples)`);
    const first = dim < 0 ? rows.findIndex((r) => r >= 0) : -1;
    if (first >= 0) exact(docs[first].id, docs[first].value, rows[first]);
    if (dim < 0) return { docs, rows, firstRow, slots: [], block: null, job: null };
    const slots: number[] = [];
    docs.forEach(({ value }, i) => {
      if (value instanceof Binary) slots.push(i);
    });
    const shared = new SharedArrayBuffer((nextRow - firstRow) * dim * vectors.BYTES_PER_ELEMENT);
    const block = vectors instanceof Float64Array ? new Float64Array(shared) : new Float32Array(shared);
    const items = slots.map((i) => (docs[i].value as Binary).buffer.subarray(0, (docs[i].value as Binary).position));
    const job = decoder.decode(
      items,
      slots.map((i) => rows[i] - firstRow),
      block,
      dim,
    );
    return { docs, rows, firstRow, slots, block, job };
  };

  /** Waits for (and helps with) a batch's decoding; the values it left go through the exact path, in order. */
  const finish = async ({ docs, rows, firstRow, slots, block, job }: Awaited<ReturnType<typeof start>>) => {
    const decoded = new Array<boolean>(docs.length).fill(false);
    if (job && block) {
      job.help();
      (await job.result).forEach((ok, k) => (decoded[slots[k]] = ok));
      vectors.set(block, firstRow * dim);
    }
    docs.forEach(({ id, value }, i) => {
      if (rows[i] < 0) {
        numMissing++;
        return;
      }
      if (!decoded[i]) exact(id, value, rows[i]);
      ids.push(id);
    });
    seen += docs.length;
    options.progress?.(total ? seen / total : 1, `Read ${seen}/${total} embeddings`);
  };

  const raw = prefetched(streamRawSamples(db, dataset, target, { _id: 1, [field]: 1 }, options.batchSize ?? 1000));
  // a batch is decoded on the worker while the next one is found in its documents; this thread then helps
  let ahead: Awaited<ReturnType<typeof start>> | null = null;
  for await (const docs of sampleValues(raw, field)) {
    options.signal?.throwIfAborted();
    const next = await start(docs);
    if (ahead) await finish(ahead);
    ahead = next;
  }
  if (ahead) await finish(ahead);
  if (total < 0) total = await counted;
  if (seen !== total) throw new BrainError("INTERNAL", `The view changed while it was read (${seen} of ${total} samples)`);
  return { ids, vectors: vectors.subarray(0, ids.length * Math.max(dim, 0)), dim: Math.max(dim, 0), numMissing };
}
