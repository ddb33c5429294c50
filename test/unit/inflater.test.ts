import { randomBytes } from "node:crypto";
import { deflateSync, inflateSync } from "node:zlib";
import { Inflater } from "../../src/fiftyone/inflater";

jest.setTimeout(30_000);

const NPY = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);

/** What Node's inflateSync gives for an item (the .npy bytes as they are when not compressed): bytes as base64, or the error's message. */
function expected(item: Buffer): string {
  if (item.subarray(0, NPY.length).equals(NPY)) return item.toString("base64");
  try {
    return inflateSync(item).toString("base64");
  } catch (err) {
    return `error: ${(err as Error).message}`;
  }
}

function items(): Buffer[] {
  const vector = () => deflateSync(Buffer.concat([NPY, randomBytes(2170)]));
  const out: Buffer[] = Array.from({ length: 300 }, vector);
  const good = vector();
  out.splice(17, 0, good.subarray(0, good.length - 9)); // truncated
  out.splice(90, 0, Buffer.from("not zlib at all")); // bad header
  out.splice(150, 0, Buffer.concat([NPY, randomBytes(64)])); // stored without compression
  out.splice(200, 0, Buffer.concat([good, Buffer.from("trailing")])); // bytes after the stream
  out.splice(250, 0, deflateSync(randomBytes(300_000))); // larger than one output buffer
  out.splice(251, 0, vector()); // a good value right after a failed or oversized one
  out.splice(18, 0, vector());
  // the same at the back, which the caller's thread takes when it helps
  return [...out, ...out.slice(15, 22), ...out.slice(88, 92), ...out.slice(198, 202), ...out.slice(248, 253)];
}

describe("Inflater", () => {
  it("gives every item inflateSync's bytes or error, whichever thread inflates it", async () => {
    const inflater = Inflater.shared();
    await inflater.ready();
    for (const helped of [true, false]) {
      const batch = items();
      const job = inflater.inflate(batch);
      if (helped) job.help();
      const out = await job.result;
      expect(out.map((v) => (v instanceof Error ? `error: ${v.message}` : v.toString("base64")))).toEqual(batch.map(expected));
    }
  });
});
