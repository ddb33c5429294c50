import { execFile } from "node:child_process";
import { findPython } from "../../src/fiftyone/localDatabase";
import { patchPixels, relativeBox } from "../../src/embeddings/patches";

type Case = { box: number[]; w: number; h: number; alpha: number | null; square: boolean };

describe("object patches", () => {
  it("cut the same pixels as FiftyOne's extract_patch (eta's box padding, truncation and force_square)", async () => {
    let seed = 7;
    const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const cases: Case[] = [];
    for (let i = 0; i < 300; i++) {
      const x = rand() * 0.9;
      const y = rand() * 0.9;
      const box = [x, y, rand() * (1 - x), rand() * (1 - y)];
      const alphas = [null, 0.1, -0.3, 0.5, 2];
      cases.push({ box, w: 20 + Math.floor(rand() * 300), h: 20 + Math.floor(rand() * 300), alpha: alphas[i % 5], square: i % 3 === 0 });
    }
    const code = `
import json, sys, numpy as np
import eta.core.geometry as etag
out = []
for c in json.loads(sys.stdin.read()):
    x, y, w, h = c["box"]
    bb = etag.BoundingBox.from_coords(x, y, x + w, y + h)
    if c["alpha"] is not None:
        bb = bb.pad_relative(c["alpha"])
    img = np.arange(c["w"] * c["h"]).reshape(c["h"], c["w"])
    p = bb.extract_from(img, force_square=c["square"])
    out.append(None if p.size == 0 else [int(p[0, 0] % c["w"]), int(p[0, 0] // c["w"]), int(p.shape[1]), int(p.shape[0])])
print(json.dumps(out))`;
    const expected = await new Promise<Array<number[] | null>>((resolve, reject) => {
      const child = execFile(findPython(), ["-c", code], (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(JSON.parse(stdout))));
      child.stdin?.end(JSON.stringify(cases));
    });
    const ours = cases.map((c) => {
      const p = patchPixels(c.box, c.w, c.h, { alpha: c.alpha ?? undefined, forceSquare: c.square });
      return p ? [p.left, p.top, p.width, p.height] : null;
    });
    expect(ours).toEqual(expected);
    expect(ours.filter((p) => p && p[2] === p[3]).length).toBeGreaterThan(100);
  });

  it("boxes polylines tightly around all their points, and has no box for other labels", () => {
    expect(relativeBox({ points: [[[0.2, 0.3], [0.7, 0.4]], [[0.4, 0.9]]] })).toEqual([0.2, 0.3, 0.49999999999999994, 0.6000000000000001]);
    expect(relativeBox({ points: [] })).toEqual([0, 0, 0, 0]);
    expect(relativeBox({ bounding_box: [0.1, 0.2, 0.3, 0.4] })).toEqual([0.1, 0.2, 0.3, 0.4]);
    expect(relativeBox({ label: "x" })).toBeNull();
    expect(patchPixels([0.5, 0.5, 0, 0], 100, 100)).toBeNull();
  });
});
