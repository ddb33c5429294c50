import type { JobRequest } from "../../src/runtime/execute";
import { testDatabase } from "./fiftyone";

/** A runtime request on the test database, as the bridge sends it. */
export const jobRequest = (dataset: string, method: string, params: Record<string, unknown>): JobRequest => ({
  method,
  params,
  database: testDatabase(),
  dataset,
  fiftyone_version: "1.22.1",
});

/**
 * Compares nested lists of numbers / booleans / strings / None as Python reads them:
 * numbers within `tol`, everything else exactly; the error names the first differing path.
 */
export function expectClose(ours: unknown, ref: unknown, path = "", tol = 1e-6): void {
  if (Array.isArray(ref)) {
    if (!Array.isArray(ours) || ours.length !== ref.length) {
      throw new Error(`${path}: ours ${JSON.stringify(ours)}, reference ${JSON.stringify(ref)}`);
    }
    ref.forEach((r, i) => expectClose(ours[i], r, `${path}[${i}]`, tol));
  } else if (typeof ref === "number" && typeof ours === "number") {
    if (Math.abs(ours - ref) > tol) throw new Error(`${path}: ours ${ours}, reference ${ref}`);
  } else if (ours !== ref) {
    throw new Error(`${path}: ours ${JSON.stringify(ours)}, reference ${JSON.stringify(ref)}`);
  }
}
