import { Binary } from "bson";
import { Db, Document } from "mongodb";
import { BrainError } from "../errors";
import { DatasetDoc, FieldDoc, findField } from "./datasets";
import { Inflater } from "./inflater";
import { decodeStoredNumpy, NumpyArray, NumpyFormatError, parseNpy } from "./numpy";
import { countSamples, prefetched, streamSamples, ViewTarget } from "./samples";

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

export function storedArray(value: unknown, inflated?: Buffer | Error): StoredArray | null {
  if (value instanceof Binary) {
    try {
      if (inflated instanceof Error) throw new NumpyFormatError(`not a serialized numpy array (${inflated.message})`);
      return fromNumpy(inflated ? parseNpy(inflated) : decodeStoredNumpy(value.buffer.subarray(0, value.position)));
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

/**
 * Pairs each batch of documents with its `field` values' inflated bytes (undefined where
 * the value is not numpy bytes), inflating the next batch on Inflater's worker while the
 * caller decodes this one.
 */
async function* withInflated<D extends Document>(source: AsyncIterable<D[]>, field: string): AsyncGenerator<{ docs: D[]; inflated: Array<Buffer | Error | undefined> }> {
  const inflate = async (docs: D[]) => {
    const slots: number[] = [];
    const items: Uint8Array[] = [];
    docs.forEach((doc, i) => {
      const value = doc[field];
      if (value instanceof Binary) {
        slots.push(i);
        items.push(value.buffer.subarray(0, value.position));
      }
    });
    const out = await Inflater.shared().inflate(items);
    const inflated = new Array<Buffer | Error | undefined>(docs.length);
    slots.forEach((slot, k) => (inflated[slot] = out[k]));
    return { docs, inflated };
  };
  let ahead: ReturnType<typeof inflate> | null = null;
  for await (const docs of source) {
    const next = inflate(docs);
    next.catch(() => undefined); // awaited in order below
    if (ahead) yield await ahead;
    ahead = next;
  }
  if (ahead) yield await ahead;
}

/** The first index in [from, to) whose value is NaN or infinite (also after narrowing to float32), or -1. */
function firstNonFinite(values: Float32Array | Float64Array, from: number, to: number): number {
  for (let k = from; k < to; k++) {
    // v - v is 0 for finite numbers and NaN for NaN and ±Infinity
    const v = values[k];
    if (v - v !== 0) return k;
  }
  return -1;
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
  Inflater.shared().start();
  const total = await countSamples(db, dataset, target);
  const ids: string[] = [];
  let vectors: Float32Array | Float64Array = new Float32Array(0);
  let dim = -1;
  let numMissing = 0;
  let seen = 0;
  type Doc = { _id: { toHexString(): string }; [k: string]: unknown };
  const batches = withInflated(prefetched(streamSamples<Doc>(db, dataset, target, { _id: 1, [field]: 1 }, options.batchSize ?? 1000)), field);
  for await (const { docs: batch, inflated } of batches) {
    options.signal?.throwIfAborted();
    for (const [i, doc] of batch.entries()) {
      const id = doc._id.toHexString();
      let arr: StoredArray | null;
      try {
        arr = storedArray(doc[field], inflated[i]);
      } catch (err) {
        throw new BrainError("INVALID_DATA", `Embeddings field '${field}' of sample '${id}' ${(err as Error).message}`);
      }
      if (arr === null) {
        numMissing++;
        continue;
      }
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
      const row = ids.length * dim;
      vectors.set(arr.data, row);
      const k = firstNonFinite(vectors, row, row + dim);
      if (k >= 0) {
        throw new BrainError("INVALID_DATA", `Embeddings field '${field}' of sample '${id}' contains ${arr.data[k - row]} (element ${k - row})`);
      }
      ids.push(id);
    }
    seen += batch.length;
    options.progress?.(total ? seen / total : 1, `Read ${seen}/${total} embeddings`);
  }
  if (seen !== total) throw new BrainError("INTERNAL", `The view changed while it was read (${seen} of ${total} samples)`);
  return { ids, vectors: vectors.subarray(0, ids.length * Math.max(dim, 0)), dim: Math.max(dim, 0), numMissing };
}
