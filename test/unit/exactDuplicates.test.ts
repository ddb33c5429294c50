import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuplicateGrouper, groupByHash, orderedIds, summarize } from "../../src/methods/exactDuplicates";
import { hashFiles } from "../../src/methods/fileHash";

describe("groupByHash", () => {
  it("groups byte-identical contents under the first id seen (spec P.9)", () => {
    const ids = ["s0", "s1", "s2", "s3", "s4", "s5"];
    const hashes = ["A", "B", "A", "C", "B", "A"];
    expect(groupByHash(ids, hashes)).toEqual({ s0: ["s2", "s5"], s1: ["s4"] });
  });

  it("returns no groups when nothing repeats, and ignores unreadable media", () => {
    expect(groupByHash(["a", "b"], ["x", "y"])).toEqual({});
    expect(groupByHash(["a", "b", "c"], [null, "x", null])).toEqual({});
  });

  it("orders groups by their representative's position, not by when the group formed", () => {
    const g = new DuplicateGrouper();
    [["a", "1"], ["b", "2"], ["c", "2"], ["d", "1"]].forEach(([id, h]) => g.add(id, h));
    expect(Object.keys(g.result())).toEqual(["a", "b"]);
    expect(orderedIds(g.result())).toEqual(["a", "d", "b", "c"]);
    expect(summarize(g.result())).toEqual({ numGroups: 2, numDuplicates: 2 });
  });

  it("rejects mismatched inputs", () => {
    expect(() => groupByHash(["a"], [])).toThrow(/1 ids but 0 hashes/);
  });
});

describe("hashFiles", () => {
  it("hashes on worker threads in input order and reports unreadable files", async () => {
    const dir = mkdtempSync(join(tmpdir(), "brain-ts-hash-"));
    const paths = ["A", "B", "A"].map((content, i) => {
      const p = join(dir, `${i}.bin`);
      writeFileSync(p, content.repeat(300_000)); // several read chunks per file
      return p;
    });
    paths.push(join(dir, "missing.bin"));
    const { hashes, failures } = await hashFiles(paths, 2);
    expect(hashes[0]).toBe(hashes[2]);
    expect(hashes[0]).not.toBe(hashes[1]);
    expect(hashes[3]).toBeNull();
    expect(failures).toHaveLength(1);
    expect(failures[0].index).toBe(3);
    expect(failures[0].error).toMatch(/ENOENT/);
  });
});
