import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findPython } from "../../src/fiftyone/localDatabase";
import { nearDuplicatesQuality, pairQuality } from "../../bench/nearDuplicatesQuality.bench";
import { fiftyoneEnv, testDatabase } from "../support/fiftyone";

jest.setTimeout(300_000);

describe("near-duplicate quality with the default model (small version of the bench)", () => {
  it("scores pairs against the true origins", () => {
    const origin = new Map([["a", 0], ["b", 0], ["c", 1], ["d", 2]]);
    const q = pairQuality({ a: [["b", 0.1]], c: [["d", 0.15]] }, origin, 2);
    expect(q.precision).toBe(0.5);
    expect(q.recall).toBe(0.5);
  });

  it("finds injected near copies and leaks of rendered scenes above a floor", async () => {
    const q = await nearDuplicatesQuality(testDatabase(), findPython(), fiftyoneEnv(), mkdtempSync(join(tmpdir(), "brain-ts-quality-")), "brain_ts_quality", {
      originals: 60,
      nearDuplicates: 15,
      leaks: 10,
    });
    console.log(JSON.stringify(q));
    expect(q.images).toBe(85);
    // Floors a little under what the default model reaches here (see README): a drop
    // means the embedding or the duplicate search got worse.
    expect(q.precision).toBeGreaterThanOrEqual(0.7);
    expect(q.recall).toBeGreaterThanOrEqual(0.5);
    expect(q.leakRecall).toBeGreaterThanOrEqual(0.5);
    expect(q.recallByEdit.brightness).toBe(1);
  });
});
