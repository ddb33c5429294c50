import { endianness } from "node:os";
import { deflateSync, inflateSync } from "node:zlib";

/**
 * FiftyOne stores numpy arrays (VectorField / ArrayField values, label logits) as
 * `zlib.compress(np.save(array))` in a BSON binary (fiftyone.core.utils.serialize_numpy_array).
 * This decodes those bytes exactly: the .npy header (format 1.0, 2.0 and 3.0), its dtype
 * (little or big endian floats, signed and unsigned integers, booleans), shape and order.
 */
export interface NumpyArray {
  /** numpy's `descr`, e.g. `<f8`. */
  dtype: string;
  shape: number[];
  fortranOrder: boolean;
  /**
   * The values in C order: little-endian float32/float64 as they are stored (a view of the
   * decoded bytes, no copy), every other dtype as float64 (exact, except int64s above 2^53).
   */
  data: Float64Array | Float32Array;
}

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

/** The bytes are an uncompressed .npy (FiftyOne's older values), not zlib-compressed ones. */
export function isNpy(bytes: Buffer): boolean {
  return bytes.subarray(0, MAGIC.length).equals(MAGIC);
}

/** The first index in [from, to) whose value is NaN or infinite (also after narrowing to float32), or -1. */
export function firstNonFinite(values: Float32Array | Float64Array, from: number, to: number): number {
  for (let k = from; k < to; k++) {
    // v - v is 0 for finite numbers and NaN for NaN and ±Infinity
    const v = values[k];
    if (v - v !== 0) return k;
  }
  return -1;
}

export class NumpyFormatError extends Error {}

/** Decodes FiftyOne's stored bytes: zlib-compressed .npy, or an uncompressed .npy. */
export function decodeStoredNumpy(bytes: Uint8Array): NumpyArray {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const raw = isNpy(buf) ? buf : inflate(buf);
  return parseNpy(raw);
}

const LITTLE_ENDIAN_HOST = endianness() === "LE";

function inflate(buf: Buffer): Buffer {
  try {
    return inflateSync(buf);
  } catch (err) {
    throw new NumpyFormatError(`not a serialized numpy array (${(err as Error).message})`);
  }
}

export function parseNpy(raw: Buffer): NumpyArray {
  if (raw.length < 10 || !raw.subarray(0, 6).equals(MAGIC)) throw new NumpyFormatError("not a .npy array (bad magic)");
  const major = raw[6];
  let headerLen: number;
  let offset: number;
  if (major === 1) {
    headerLen = raw.readUInt16LE(8);
    offset = 10;
  } else if (major === 2 || major === 3) {
    headerLen = raw.readUInt32LE(8);
    offset = 12;
  } else {
    throw new NumpyFormatError(`unsupported .npy format version ${major}`);
  }
  const header = raw.subarray(offset, offset + headerLen).toString(major === 3 ? "utf8" : "latin1");
  let parsed = headers.get(header);
  if (!parsed) {
    parsed = parseHeader(header);
    if (headers.size < 64) headers.set(header, parsed);
  }
  const { descr, fortranOrder, shape, size } = parsed;
  const body = raw.subarray(offset + headerLen);
  const flat = readValues(descr, body, size);
  return { dtype: descr, shape: [...shape], fortranOrder, data: fortranOrder && shape.length > 1 ? toCOrder(flat, shape) : flat };
}

/** Parsed .npy headers: a field's vectors all share one, so each is parsed once. */
const headers = new Map<string, { descr: string; fortranOrder: boolean; shape: number[]; size: number }>();

function parseHeader(header: string): { descr: string; fortranOrder: boolean; shape: number[]; size: number } {
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new NumpyFormatError(`cannot read .npy header ${JSON.stringify(header.trim())}`);
  }
  const shape = shapeText
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => Number(s));
  if (shape.some((s) => !Number.isInteger(s) || s < 0)) throw new NumpyFormatError(`bad .npy shape (${shapeText})`);
  return { descr, fortranOrder: fortran === "True", shape, size: shape.reduce((a, b) => a * b, 1) };
}

function readValues(descr: string, body: Buffer, size: number): Float64Array | Float32Array {
  const order = descr[0];
  const kind = descr[1];
  const width = Number(descr.slice(2));
  if (!"<>|=".includes(order) || !Number.isInteger(width)) throw new NumpyFormatError(`unsupported dtype '${descr}'`);
  if (body.length < size * width) throw new NumpyFormatError(`truncated .npy data (${body.length} bytes for ${size} × ${descr})`);
  const le = order !== ">";
  if (le && LITTLE_ENDIAN_HOST && kind === "f" && (width === 4 || width === 8)) {
    // the common case (little-endian floats): a view of the bytes; unaligned bytes are copied to align them
    const bytes = body.byteOffset % width === 0 ? body : new Uint8Array(body.subarray(0, size * width));
    return width === 4 ? new Float32Array(bytes.buffer, bytes.byteOffset, size) : new Float64Array(bytes.buffer, bytes.byteOffset, size);
  }
  const out = new Float64Array(size);
  const view = new DataView(body.buffer, body.byteOffset, size * width);
  const read = reader(kind, width, view, le, descr);
  for (let i = 0; i < size; i++) out[i] = read(i * width);
  return out;
}

function reader(kind: string, width: number, v: DataView, le: boolean, descr: string): (at: number) => number {
  if (kind === "f" && width === 8) return (at) => v.getFloat64(at, le);
  if (kind === "f" && width === 4) return (at) => v.getFloat32(at, le);
  if (kind === "f" && width === 2) return (at) => half(v.getUint16(at, le));
  if (kind === "i" && width === 1) return (at) => v.getInt8(at);
  if (kind === "i" && width === 2) return (at) => v.getInt16(at, le);
  if (kind === "i" && width === 4) return (at) => v.getInt32(at, le);
  if (kind === "i" && width === 8) return (at) => Number(v.getBigInt64(at, le));
  if ((kind === "u" || kind === "b") && width === 1) return (at) => v.getUint8(at);
  if (kind === "u" && width === 2) return (at) => v.getUint16(at, le);
  if (kind === "u" && width === 4) return (at) => v.getUint32(at, le);
  if (kind === "u" && width === 8) return (at) => Number(v.getBigUint64(at, le));
  throw new NumpyFormatError(`unsupported dtype '${descr}'`);
}

/** IEEE 754 half precision to double. */
function half(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

function toCOrder(flat: Float64Array | Float32Array, shape: number[]): Float64Array {
  const out = new Float64Array(flat.length);
  const nd = shape.length;
  const idx = new Array<number>(nd).fill(0);
  // Fortran strides: first axis fastest.
  const fStride = new Array<number>(nd);
  fStride[0] = 1;
  for (let k = 1; k < nd; k++) fStride[k] = fStride[k - 1] * shape[k - 1];
  for (let c = 0; c < flat.length; c++) {
    let f = 0;
    for (let k = 0; k < nd; k++) f += idx[k] * fStride[k];
    out[c] = flat[f];
    for (let k = nd - 1; k >= 0; k--) {
      if (++idx[k] < shape[k]) break;
      idx[k] = 0;
    }
  }
  return out;
}

/**
 * Encodes a float32 vector as FiftyOne stores it (fiftyone.core.utils.serialize_numpy_array):
 * zlib-compressed `np.save` bytes of a C-order `<f4` array of shape (dim,).
 */
export function encodeStoredFloat32(values: Float32Array): Buffer {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${values.length},), }`;
  // The header, with its 10-byte prefix and a final newline, pads to a multiple of 64.
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, " ") + "\n";
  const prefix = Buffer.alloc(10);
  MAGIC.copy(prefix, 0);
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  const data = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  return deflateSync(Buffer.concat([prefix, Buffer.from(header, "latin1"), data]));
}

/** A C-order array to encode as .npy: float32/float64 numbers or fixed-width unicode strings. */
export type NpyArray =
  | { dtype: "<f4"; shape: number[]; data: Float32Array }
  | { dtype: "<f8"; shape: number[]; data: Float64Array }
  | { dtype: "<U"; shape: [number]; data: string[] };

/** `np.save` bytes (format 1.0) of the array; strings become numpy's `<U{max length}` (UTF-32LE). */
export function encodeNpy(array: NpyArray): Buffer {
  const shape = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(", ")})`;
  let body: Buffer;
  let descr: string;
  if (array.dtype === "<U") {
    const width = Math.max(1, ...array.data.map((s) => [...s].length));
    descr = `<U${width}`;
    body = Buffer.alloc(array.data.length * width * 4);
    array.data.forEach((s, i) => {
      let at = i * width * 4;
      for (const ch of s) {
        body.writeUInt32LE(ch.codePointAt(0)!, at);
        at += 4;
      }
    });
  } else {
    descr = array.dtype;
    body = Buffer.from(array.data.buffer, array.data.byteOffset, array.data.byteLength);
  }
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, " ") + "\n";
  const prefix = Buffer.alloc(10);
  MAGIC.copy(prefix, 0);
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  return Buffer.concat([prefix, Buffer.from(header, "latin1"), body]);
}

/** FiftyOne's ASCII form of an array (`serialize_numpy_array(..., ascii=True)`): base64 of zlib-compressed .npy bytes. */
export function serializeNumpyAscii(array: NpyArray): string {
  return deflateSync(encodeNpy(array)).toString("base64");
}

/**
 * Decodes a stored numpy array of fixed-width unicode strings (`<U24`, `>U8`, ...), such
 * as the sample and label ids of visualization results. numpy stores each character as
 * a 4-byte code point, padded with zeros to the width.
 */
export function parseNpyStrings(raw: Buffer): string[] {
  if (raw.length < 10 || !raw.subarray(0, 6).equals(MAGIC)) throw new NumpyFormatError("not a .npy array (bad magic)");
  const major = raw[6];
  const headerLen = major === 1 ? raw.readUInt16LE(8) : raw.readUInt32LE(8);
  const offset = major === 1 ? 10 : 12;
  const header = raw.subarray(offset, offset + headerLen).toString(major === 3 ? "utf8" : "latin1");
  const descr = /'descr':\s*'([<>|=]?)U(\d+)'/.exec(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || shapeText === undefined) throw new NumpyFormatError(`not a .npy array of strings (${JSON.stringify(header.trim())})`);
  const width = Number(descr[2]);
  const le = descr[1] !== ">";
  const size = shapeText.split(",").filter((s) => s.trim()).reduce((a, s) => a * Number(s), 1);
  const body = raw.subarray(offset + headerLen);
  if (body.length < size * width * 4) throw new NumpyFormatError(`truncated .npy data (${body.length} bytes for ${size} × U${width})`);
  // Code points below 256 (ids, names) take one byte each: read them as latin1 in one go.
  const count = size * width;
  const narrow = Buffer.alloc(count);
  let wide = false;
  for (let k = 0; k < count && !wide; k++) {
    const code = le ? body.readUInt32LE(k * 4) : body.readUInt32BE(k * 4);
    if (code > 0xff) wide = true;
    else narrow[k] = code;
  }
  const out = new Array<string>(size);
  for (let i = 0; i < size; i++) {
    if (!wide) {
      const item = narrow.subarray(i * width, (i + 1) * width);
      const end = item.indexOf(0);
      out[i] = item.toString("latin1", 0, end === -1 ? width : end);
      continue;
    }
    let s = "";
    for (let c = 0; c < width; c++) {
      const at = (i * width + c) * 4;
      const code = le ? body.readUInt32LE(at) : body.readUInt32BE(at);
      if (code === 0) break;
      s += String.fromCodePoint(code);
    }
    out[i] = s;
  }
  return out;
}
