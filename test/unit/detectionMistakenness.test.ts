import { boxIou, DetObject, imageMistakenness, locMistakenness, matchObjects, segmentIou } from "../../src/methods/detectionMistakenness";

const det = (id: string, label: string, box: number[], confidence: number | null = null, extra: Partial<DetObject> = {}): DetObject => ({
  id, label, box, confidence, logits: null, crowd: false, hasMissing: false, ...extra,
});

// The spec's P.5 worked example
const gts = [det("g1", "cat", [0.1, 0.1, 0.4, 0.4]), det("g2", "dog", [0.6, 0.6, 0.2, 0.2]), det("g3", "bird", [0.0, 0.7, 0.1, 0.1])];
const preds = [
  det("p1", "cat", [0.1, 0.1, 0.4, 0.4], 0.9),
  det("p2", "cat", [0.62, 0.6, 0.2, 0.2], 0.8),
  det("p3", "person", [0.3, 0.8, 0.1, 0.1], 0.97),
  det("p4", "car", [0.0, 0.0, 0.05, 0.05], 0.5),
];

describe("detection mistakenness (spec §4.2, P.5)", () => {
  it("matches p1↔g1 and p2↔g2 at IoU ≥ 0.5, leaves p3, p4 and g3 unmatched", () => {
    const { gtMatch, predMatched } = matchObjects(gts, preds);
    expect(gtMatch.get("g1")).toEqual(["p1", 1]);
    expect(gtMatch.get("g2")![0]).toBe("p2");
    expect(gtMatch.get("g2")![1]).toBeCloseTo(0.8181818181818189, 12);
    expect(gtMatch.has("g3")).toBe(false);
    expect([...predMatched].sort()).toEqual(["p1", "p2"]);
  });

  it("scores the worked example: 0.9 for the image, p3 missing (0.97 > 0.95), g3 spurious", () => {
    const r = imageMistakenness(gts, preds, { useLogits: false, copyMissing: false });
    expect(r.gtScores.get("g1")!.mistakenness).toBeCloseTo(0.05, 12);
    expect(r.gtScores.get("g1")!.loc).toBeCloseTo(0.05, 12);
    expect(r.gtScores.get("g2")!.mistakenness).toBeCloseTo(0.9, 12);
    expect(r.gtScores.get("g2")!.loc).toBeCloseTo(0.39090909090908976, 12);
    expect(r.spurious).toEqual(["g3"]);
    expect(r.missing).toEqual(["p3"]);
    expect(r.value).toBe(0.9);
    expect(r.copies).toEqual([]);
  });

  it("copy_missing copies p3 once; on a second run its copy matches it and is skipped", () => {
    const first = imageMistakenness(gts, preds, { useLogits: false, copyMissing: true });
    expect(first.copies).toEqual(["p3"]);
    const withCopy = [...gts, det("p3", "person", [0.3, 0.8, 0.1, 0.1], 0.97, { hasMissing: true })];
    const second = imageMistakenness(withCopy, preds, { useLogits: false, copyMissing: true });
    expect(second.missing).toEqual([]);
    expect(second.copies).toEqual([]);
    expect(second.gtScores.has("p3")).toBe(false);
  });

  it("no match gives −1; exactly 0.95 is not missing; the localisation term follows the spec's table", () => {
    const r = imageMistakenness([det("g", "cat", [0, 0, 0.1, 0.1])], [det("p", "cat", [0.5, 0.5, 0.1, 0.1], 0.95)], { useLogits: false, copyMissing: false });
    expect(r.value).toBe(-1);
    expect(r.missing).toEqual([]);
    expect(r.spurious).toEqual(["g"]);
    expect([1.0, 0.75, 0.6, 0.5].map((iou) => +locMistakenness(0.9, iou).toFixed(12))).toEqual([0.05, 0.5, 0.77, 0.95]);
  });

  it("a crowd's union is the prediction's area, and only its own label matches it", () => {
    expect(boxIou([0, 0, 1, 1], [0, 0, 0.5, 0.5], true)).toBe(1);
    const crowd = det("c", "cat", [0, 0, 1, 1], null, { crowd: true });
    expect(matchObjects([crowd], [det("p", "dog", [0, 0, 0.5, 0.5], 0.9)]).gtMatch.size).toBe(0);
    const m = matchObjects([crowd], [det("p", "cat", [0, 0, 0.5, 0.5], 0.9), det("q", "cat", [0.5, 0.5, 0.5, 0.5], 0.8)]);
    expect(m.gtMatch.get("c")).toEqual(["p", 1]);
    expect(m.predMatched.size).toBe(2); // crowds may be matched again
  });
});

describe("temporal detections (FiftyOne's ActivityNet matching)", () => {
  it("segment IoU: overlap over union of the supports' lengths; two equal points are 1", () => {
    expect(segmentIou([10, 20], [15, 25])).toBeCloseTo(5 / 15, 15);
    expect(segmentIou([10, 20], [20, 30])).toBe(0); // touching supports share no length
    expect(segmentIou([7, 7], [7, 7])).toBe(1);
    expect(segmentIou([7, 7], [8, 8])).toBe(0);
    expect(segmentIou([7, 7], [1, 20])).toBe(0); // a point inside a segment has no length in common
  });

  it("matches by segment IoU, highest confidence first; no crowd rules", () => {
    const g = [det("g1", "run", [10, 20]), det("g2", "walk", [30, 40])];
    const p = [det("p1", "run", [11, 20], 0.6), det("p2", "walk", [10, 19], 0.9), det("p3", "walk", [50, 60], 0.99)];
    const r = imageMistakenness(g, p, { useLogits: false, copyMissing: false, geometry: "segment" });
    // p2 (0.9) takes g1 first (IoU 0.9); p1 finds g1 taken; g2 is unmatched; p3 is confident and unmatched
    expect(r.gtScores.get("g1")!.mistakenness).toBeCloseTo((0.9 + 1) / 2, 12);
    expect(r.spurious).toEqual(["g2"]);
    expect(r.missing).toEqual(["p3"]);
  });
});
