import { ExactIndex } from "../../src/index/exactIndex";
import { getBackend } from "../../src/index/backends";
import { cacheKey, cachedIndexCount, forgetRun, LoadedIndex, rekey, withIndex } from "../../src/runtime/indexCache";

function loaded(): LoadedIndex {
  return { index: new ExactIndex("cosine", 2), spec: getBackend("exact"), stored: { config: {}, results: null }, sampleOf: null, bytes: 8 };
}

describe("the warm runtime's index cache", () => {
  it("loads an index once per run version, serialises uses, and drops stale versions", async () => {
    let loads = 0;
    const load = async () => {
      loads++;
      return loaded();
    };
    const k1 = cacheKey("ds", "sim", "v1");
    const order: string[] = [];
    const slow = withIndex(k1, load, async () => {
      await new Promise((r) => setTimeout(r, 30));
      order.push("update");
    });
    const query = withIndex(k1, load, async () => {
      order.push("query");
    });
    await Promise.all([slow, query]);
    expect(order).toEqual(["update", "query"]);
    expect(loads).toBe(1);
    // a new version of the run (changed by another process) is loaded afresh and replaces the old
    await withIndex(cacheKey("ds", "sim", "v2"), load, async () => undefined);
    expect(loads).toBe(2);
    expect(cachedIndexCount()).toBe(1);
    // an update made here moves the entry to the new version without reloading
    rekey(cacheKey("ds", "sim", "v2"), cacheKey("ds", "sim", "v3"));
    await withIndex(cacheKey("ds", "sim", "v3"), load, async () => undefined);
    expect(loads).toBe(2);
    forgetRun("ds", "sim");
    expect(cachedIndexCount()).toBe(0);
  });

  it("a failed load is not cached", async () => {
    const key = cacheKey("ds", "broken", "v1");
    await expect(withIndex(key, async () => { throw new Error("unreadable"); }, async () => undefined)).rejects.toThrow("unreadable");
    await new Promise((r) => setTimeout(r, 0));
    expect(cachedIndexCount()).toBe(0);
  });
});

describe("backend choice and parameters from the brain config", () => {
  const { defaultBackendName, resolveBackendParams } = jest.requireActual("../../src/index/backends") as typeof import("../../src/index/backends");
  const env = (extra: Record<string, string>) => ({ FIFTYONE_BRAIN_CONFIG_PATH: "/nonexistent/brain_config.json", ...extra });

  it("the default backend: the reference's sklearn is the exact backend; unknown names fall back to it", () => {
    expect(defaultBackendName(env({}))).toBe("exact");
    expect(defaultBackendName(env({ FIFTYONE_BRAIN_DEFAULT_SIMILARITY_BACKEND: "hnswlib" }))).toBe("hnswlib");
    expect(defaultBackendName(env({ FIFTYONE_BRAIN_DEFAULT_SIMILARITY_BACKEND: "qdrant" }))).toBe("exact");
  });

  it("FIFTYONE_BRAIN_SIMILARITY_<BACKEND>_<PARAM> sets parameters; the caller's override them", () => {
    const e = env({ FIFTYONE_BRAIN_SIMILARITY_HNSWLIB_EF: "50", FIFTYONE_BRAIN_SIMILARITY_HNSWLIB_M: "8", FIFTYONE_BRAIN_SIMILARITY_SKLEARN_METRIC: "euclidean" });
    expect(resolveBackendParams("hnswlib", { m: 32, ef: undefined }, e)).toEqual({ ef: 50, m: 32 });
    expect(resolveBackendParams("exact", {}, e)).toEqual({ metric: "euclidean" });
    expect(resolveBackendParams("sklearn", { metric: "cosine" }, e)).toEqual({ metric: "cosine" });
  });
});
