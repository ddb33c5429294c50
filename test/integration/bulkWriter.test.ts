import { Binary, ObjectId } from "mongodb";
import { closeDatabases, openDatabase } from "../../src/fiftyone/database";
import { BulkWriter } from "../../src/fiftyone/bulkWriter";
import { runPython, testDatabase } from "../support/fiftyone";

jest.setTimeout(60_000);

afterAll(closeDatabases);

describe("BulkWriter on FiftyOne's mongod", () => {
  it("applies every chunk with several in flight and counts the modified documents", async () => {
    // mongod is FiftyOne's own, started by Python
    await runPython("import fiftyone as fo; fo.list_datasets(); print(1)");
    const db = await openDatabase(testDatabase());
    const coll = db.collection(`brain_ts_bulk_${process.pid}`);
    try {
      const ids = Array.from({ length: 2500 }, () => new ObjectId());
      await coll.insertMany(ids.map((_id) => ({ _id })));
      const writer = new BulkWriter(coll, 100, 3);
      for (const [i, _id] of ids.entries()) await writer.add({ filter: { _id }, update: { $set: { v: i } } });
      expect(await writer.flush()).toBe(2500);
      const docs = await coll.find({}, { sort: { _id: 1 } }).toArray();
      expect(docs.map((d) => d.v)).toEqual(ids.map((_, i) => i));

      // a failing chunk: flush rejects with it, and only after every chunk sent has finished
      const failing = new BulkWriter(coll, 100, 3);
      for (const [i, _id] of ids.entries()) {
        const update = i === 150 ? { $set: { _id: new ObjectId() } } : { $set: { w: i } };
        await failing.add({ filter: { _id }, update }).catch(() => undefined);
      }
      await expect(failing.flush()).rejects.toThrow(/_id/);
      const written = await coll.countDocuments({ w: { $exists: true } });
      await new Promise((r) => setTimeout(r, 200));
      expect(await coll.countDocuments({ w: { $exists: true } })).toBe(written);
      expect(written).toBeGreaterThanOrEqual(99); // the failing chunk's other updates (unordered) at least
      expect(written).toBeLessThan(2500);
    } finally {
      await coll.drop();
    }
  });

  it("splits chunks by size: statements of 1 MiB each, more than one command can hold", async () => {
    await runPython("import fiftyone as fo; fo.list_datasets(); print(1)");
    const db = await openDatabase(testDatabase());
    const coll = db.collection(`brain_ts_bulk_big_${process.pid}`);
    try {
      const ids = Array.from({ length: 40 }, () => new ObjectId());
      await coll.insertMany(ids.map((_id) => ({ _id })));
      const writer = new BulkWriter(coll);
      for (const [i, _id] of ids.entries()) {
        await writer.add({ filter: { _id }, update: { $set: { blob: new Binary(Buffer.alloc(1 << 20, i)) } } });
      }
      expect(await writer.flush()).toBe(40);
      const docs = await coll.find({}, { sort: { _id: 1 } }).toArray();
      expect(docs.map((d) => [(d.blob as Binary).position, (d.blob as Binary).buffer[0]])).toEqual(ids.map((_, i) => [1 << 20, i]));
    } finally {
      await coll.drop();
    }
  });
});
