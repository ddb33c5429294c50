import { deflateSync } from "node:zlib";
import { VectorDecoder } from "../../src/fiftyone/vectorDecoder";
import { decodeStoredNumpy } from "../../src/fiftyone/numpy";

jest.setTimeout(30_000);

const DIM = 512;

/** .npy bytes (format 1.0) of a 1-D or 2-D array, as numpy writes them. */
function npy(values: Float32Array | Float64Array | Int32Array, descr: string, shape: number[]): Buffer {
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }`;
  const pad = 64 - ((10 + dict.length + 1) % 64);
  const header = Buffer.from(dict + " ".repeat(pad % 64) + "\n", "latin1");
  const prefix = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]);
  return Buffer.concat([prefix, header, Buffer.from(values.buffer, values.byteOffset, values.byteLength)]);
}

const random32 = (n: number) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);

/** Items, each with whether the decoder should take it (the common case) or leave it to the exact path. */
function items(): { item: Buffer; decoded: boolean }[] {
  const vector = (): { item: Buffer; decoded: boolean } => ({ item: deflateSync(npy(random32(DIM), "<f4", [DIM])), decoded: true });
  const out: { item: Buffer; decoded: boolean }[] = Array.from({ length: 300 }, vector);
  const good = vector().item;
  const withNaN = random32(DIM);
  withNaN[7] = NaN;
  const big = Float64Array.from({ length: DIM }, () => 1e39); // infinite once stored as float32
  const special = [
    { item: good.subarray(0, good.length - 9), decoded: false }, // truncated
    { item: Buffer.from("not zlib at all"), decoded: false },
    { item: npy(random32(DIM), "<f4", [DIM]), decoded: true }, // stored without compression
    { item: deflateSync(npy(Float64Array.from(random32(DIM)), "<f8", [DIM])), decoded: true }, // float64, narrowed
    { item: deflateSync(npy(Int32Array.from({ length: DIM }, (_, i) => i - 100), "<i4", [DIM])), decoded: true },
    { item: Buffer.concat([good, Buffer.from("trailing")]), decoded: false }, // bytes after the stream
    { item: deflateSync(npy(random32(DIM * 40), "<f4", [DIM * 40])), decoded: false }, // another width, larger than the output buffer
    { item: deflateSync(npy(random32(DIM - 1), "<f4", [DIM - 1])), decoded: false }, // another width
    { item: deflateSync(npy(random32(DIM), "<f4", [2, DIM / 2])), decoded: false }, // 2-D
    { item: deflateSync(npy(withNaN, "<f4", [DIM])), decoded: false },
    { item: deflateSync(npy(big, "<f8", [DIM])), decoded: false },
    { item: deflateSync(Buffer.concat([npy(random32(DIM), "<f4", [DIM]).subarray(0, 40)])), decoded: false }, // header cut short
  ];
  // each special item followed by a good one, at the front (the worker's side) and at the back (the caller's)
  special.forEach((s, k) => out.splice(10 + 20 * k, 0, s, vector()));
  return [...out, ...special.flatMap((s) => [s, vector()])];
}

describe("VectorDecoder.decode", () => {
  it("decodes the common case into its row exactly as numpy reads it, on either thread, and leaves everything else", async () => {
    const decoder = VectorDecoder.shared();
    await decoder.ready();
    for (const helped of [true, false]) {
      const batch = items();
      const rows = batch.map((_, i) => batch.length - 1 - i); // rows in any order
      const matrix = new Float32Array(new SharedArrayBuffer(batch.length * DIM * 4)).fill(-7);
      const job = decoder.decode(
        batch.map((b) => b.item),
        rows,
        matrix,
        DIM,
      );
      if (helped) job.help();
      const decoded = await job.result;
      expect(decoded).toEqual(batch.map((b) => b.decoded));
      batch.forEach(({ item, decoded: ok }, i) => {
        const row = matrix.subarray(rows[i] * DIM, (rows[i] + 1) * DIM);
        if (ok) expect(Array.from(row)).toEqual(Array.from(Float32Array.from(decodeStoredNumpy(item).data)));
      });
    }
  });
});
