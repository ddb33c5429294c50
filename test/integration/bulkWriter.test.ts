import { Binary, ObjectId } from "mongodb";
import { closeDatabases, openDatabase } from "../../src/fiftyone/database";
import { BulkWriter, FieldValueWriter } from "../../src/fiftyone/bulkWriter";
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

  it("FieldValueWriter gives each document its own value, of any kind, in groups", async () => {
    await runPython("import fiftyone as fo; fo.list_datasets(); print(1)");
    const db = await openDatabase(testDatabase());
    const coll = db.collection(`brain_ts_bulk_values_${process.pid}`);
    try {
      const ids = Array.from({ length: 2537 }, () => new ObjectId());
      // an existing embedded document is replaced, not merged into
      await coll.insertMany(ids.map((_id, i) => ({ _id, v: { keep: i }, other: i })));
      const kinds = (i: number): unknown =>
        [i + 0.5, null, `$not.a.path ${i}`, [i, { $x: i }], new Binary(Buffer.from([i & 255])), { a: i }, true][i % 7];
      // listed out of order, a few ids not in the collection, some documents not listed
      const order = ids.map((_, i) => i).filter((i) => i % 11 !== 3).reverse();
      const when = new Date(2020, 0, 1);
      const writer = new FieldValueWriter(coll, "v", { at: when });
      for (const i of order) await writer.add(ids[i], kinds(i));
      for (let k = 0; k < 7; k++) await writer.add(new ObjectId(), 1);
      await writer.add(ids[3], undefined); // a document not listed above
      expect(await writer.flush()).toBe(order.length + 1);
      const docs = await coll.find({}, { sort: { _id: 1 } }).toArray();
      docs.forEach((d, i) => {
        if (i === 3) expect([d.v, d.at]).toEqual([null, when]);
        else if (i % 11 === 3) expect([d.v, d.at]).toEqual([{ keep: i }, undefined]);
        else {
          const want = kinds(i);
          if (want instanceof Binary) expect((d.v as Binary).buffer[0]).toBe(want.buffer[0]);
          else expect(d.v).toEqual(want);
          expect(d.at).toEqual(when);
        }
        expect(d.other).toBe(i);
      });
      expect(await coll.countDocuments()).toBe(ids.length);
    } finally {
      await coll.drop();
    }
  });
});
