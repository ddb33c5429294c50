import { Client } from "pg";
import { BrainError } from "../../src/errors";
import { defaultIndexName } from "../../src/index/indexNames";
import { PgvectorIndex, pgvectorOptionsFromParams, type PgvectorOptions } from "../../src/index/pgvectorIndex";
import type { SimilarityIndex, SimilarityMetric } from "../../src/index/similarityIndex";
import { bruteForce, expectSameRanking, randomVectors } from "../support/bruteForce";
import { startPgliteServer, type PgliteServer } from "../support/pgliteServer";

// A real pgvector server (PGlite + pgvector 0.8 over the wire protocol), started once for the file.
jest.setTimeout(60000);

const N = 300;
const DIM = 16;
const ids = Array.from({ length: N }, (_, i) => `id${String(i).padStart(3, "0")}`);
const vectors = randomVectors(N, DIM, 7);
const queries = randomVectors(4, DIM, 99);
const row = (v: Float32Array, i: number) => v.subarray(i * DIM, (i + 1) * DIM);

let server: PgliteServer;
let sql: Client;
let tableCounter = 0;
const opened: SimilarityIndex[] = [];

async function open(options: Partial<PgvectorOptions> = {}): Promise<PgvectorIndex> {
  const index = await PgvectorIndex.open({ connectionString: server.connectionString, tableName: `t_${++tableCounter}`, dim: DIM, ...options });
  opened.push(index);
  return index;
}

async function tableExists(name: string): Promise<boolean> {
  const { rows } = await sql.query<{ t: string | null }>("SELECT to_regclass($1) AS t", [`"${name}"`]);
  return rows[0].t !== null;
}

async function expectBrainError(p: Promise<unknown>, code: string, message: RegExp): Promise<BrainError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BrainError);
  expect((err as BrainError).code).toBe(code);
  expect((err as BrainError).message).toMatch(message);
  return err as BrainError;
}

beforeAll(async () => {
  server = await startPgliteServer();
  sql = new Client({ connectionString: server.connectionString });
  await sql.connect();
});

afterAll(async () => {
  for (const index of opened) await index.close().catch(() => undefined);
  await sql.end().catch(() => undefined);
  await server.stop().catch(() => undefined);
});

describe("pgvector index on a real server", () => {
  it.each<SimilarityMetric>(["cosine", "euclidean", "dotproduct"])("ranks like brute force with %s", async (metric) => {
    const index = await open({ metric, hnswEfSearch: 200 });
    expect(await index.add({ ids, vectors })).toEqual({ added: N, replaced: 0, skipped: 0 });
    expect(await index.size()).toBe(N);
    // The HNSW index exists with the metric's operator class, so queries can use it.
    const { rows } = await sql.query<{ def: string }>("SELECT indexdef AS def FROM pg_indexes WHERE tablename = $1 AND indexdef LIKE '%hnsw%'", [
      `t_${tableCounter}`,
    ]);
    expect(rows).toHaveLength(1);
    expect(rows[0].def).toContain({ cosine: "vector_cosine_ops", euclidean: "vector_l2_ops", dotproduct: "vector_ip_ops" }[metric]);

    const results = await index.query(queries, { k: 10 });
    expect(results).toHaveLength(4);
    results.forEach((got, q) => {
      const ref = bruteForce(metric, ids, vectors, DIM, row(queries, q), 11);
      expectSameRanking(got, { ids: ref.ids.slice(0, 10), distances: ref.distances.slice(0, 10) }, ref.distances[10]);
    });
  });

  it("restricts queries to the view, small (exact scan) and large (filtered graph walk)", async () => {
    const index = await open({ exactScanRows: 0 });
    await index.add({ ids, vectors });
    const small = new Set(ids.filter((_, i) => i % 7 === 0)); // 43 rows: < 1/4 of the table, scanned exactly
    const large = new Set(ids.filter((_, i) => i % 10 !== 3)); // 270 rows: walks the graph with the filter
    for (const view of [small, large]) {
      const [got] = await index.query(row(queries, 0), { k: 25, restrictTo: view });
      expect(got.ids.every((id) => view.has(id))).toBe(true);
      const ref = bruteForce("cosine", ids, vectors, DIM, row(queries, 0), 26, view);
      expectSameRanking(got, { ids: ref.ids.slice(0, 25), distances: ref.distances.slice(0, 25) }, ref.distances[25]);
    }
    // k undefined = every item of the view; ids outside the index are simply absent
    const [all] = await index.query(row(queries, 1), { restrictTo: new Set([...small, "not-indexed"]) });
    expect(new Set(all.ids)).toEqual(small);
    expectSameRanking(all, bruteForce("cosine", ids, vectors, DIM, row(queries, 1), N, small), undefined);
  });

  it("adds with explicit overwrite semantics, gets, removes", async () => {
    const index = await open({ metric: "euclidean" });
    const first = ids.slice(0, 10);
    expect(await index.add({ ids: first, vectors: vectors.slice(0, 10 * DIM) })).toEqual({ added: 10, replaced: 0, skipped: 0 });
    // ids 5..14: 5 existing, 5 new; the new vectors are rows 100..109
    const next = ids.slice(5, 15);
    const newVectors = vectors.slice(100 * DIM, 110 * DIM);
    expect(await index.add({ ids: next, vectors: newVectors }, { overwrite: false })).toEqual({ added: 5, replaced: 0, skipped: 5 });
    expect((await index.getEmbeddings(["id005"])).vectors).toEqual(row(vectors, 5));
    expect(await index.add({ ids: next, vectors: newVectors })).toEqual({ added: 0, replaced: 10, skipped: 0 });
    expect((await index.getEmbeddings(["id005"])).vectors).toEqual(row(vectors, 100));
    expect(await index.size()).toBe(15);

    const got = await index.getEmbeddings(["id012", "missing", "id001"]);
    expect(got.ids).toEqual(["id012", "id001"]);
    expect(got.sampleIds).toBeUndefined();
    expect(got.vectors).toEqual(Float32Array.from([...row(vectors, 107), ...row(vectors, 1)]));
    expect((await index.getEmbeddings()).ids).toEqual(ids.slice(0, 15));

    expect(await index.remove(["id000", "id001", "unknown"])).toBe(2);
    expect(await index.size()).toBe(13);
    const [q] = await index.query(row(vectors, 0), { k: 13 });
    expect(q.ids).not.toContain("id000");
    expect(q.ids).toHaveLength(13);
  });

  it("keeps patch items' sample ids", async () => {
    const index = await open();
    await index.add({ ids: ["l1", "l2", "l3"], sampleIds: ["s1", "s1", "s2"], vectors: vectors.slice(0, 3 * DIM) });
    const got = await index.getEmbeddings(["l3", "l1"]);
    expect(got.sampleIds).toEqual(["s2", "s1"]);
  });

  it("survives a reconnect: reopening reads the table's dimension and rows", async () => {
    const index = await open();
    await index.add({ ids: ids.slice(0, 20), vectors: vectors.slice(0, 20 * DIM) });
    await index.close();
    const table = `t_${tableCounter}`;
    const again = await PgvectorIndex.open({ connectionString: server.connectionString, tableName: table });
    opened.push(again);
    expect(again.dim).toBe(DIM);
    expect(await again.size()).toBe(20);
    const [got] = await again.query(row(vectors, 3), { k: 1 });
    expect(got.ids).toEqual(["id003"]);
    expect(got.distances[0]).toBeCloseTo(0, 6);
    await expectBrainError(
      PgvectorIndex.open({ connectionString: server.connectionString, tableName: table, dim: 8 }),
      "INVALID_DATA",
      /holds 16-dimensional vectors, not 8/,
    );
  });

  it("refuses bad input and writes nothing", async () => {
    const index = await open();
    await index.add({ ids: ids.slice(0, 5), vectors: vectors.slice(0, 5 * DIM) });
    await expectBrainError(index.add({ ids: ["a", "b"], vectors: new Float32Array(DIM) }), "INVALID_DATA", /16-dimensional.*16 floats.*2 ids/);
    const nan = vectors.slice(0, 2 * DIM);
    nan[DIM + 3] = NaN;
    await expectBrainError(index.add({ ids: ["a", "b"], vectors: nan }), "INVALID_DATA", /'b' contains NaN/);
    await expectBrainError(index.add({ ids: ["a", "a"], vectors: vectors.slice(0, 2 * DIM) }), "INVALID_DATA", /'a' appears twice/);
    await expectBrainError(index.query(new Float32Array(DIM + 1)), "INVALID_DATA", /not a whole number/);
    await expectBrainError(index.query(row(queries, 0), { reverse: true }), "INVALID_PARAMS", /least similar/);
    await expectBrainError(index.query(row(queries, 0), { k: 10001 }), "INVALID_PARAMS", /at most 10000/);
    await expectBrainError(index.query(row(queries, 0), { k: 0 }), "INVALID_PARAMS", /positive integer/);
    // A server-side failure in the second batch (Postgres text cannot hold NUL) rolls back the first.
    const many = ids.map((id) => `new-${id}`).concat(Array.from({ length: 300 }, (_, i) => `more-${i}`));
    const sampleIds = many.map((id, i) => (i === 550 ? "bad\u0000id" : id));
    const bigVectors = new Float32Array(many.length * DIM).fill(0.5);
    await expectBrainError(index.add({ ids: many, sampleIds, vectors: bigVectors }), "INTERNAL", /pgvector table 't_\d+'/);
    expect(await index.size()).toBe(5);
    expect((await index.getEmbeddings()).ids).toEqual(ids.slice(0, 5));
  });

  it("cleanup drops the table", async () => {
    const index = await open();
    await index.add({ ids: ids.slice(0, 3), vectors: vectors.slice(0, 3 * DIM) });
    const table = `t_${tableCounter}`;
    expect(await tableExists(table)).toBe(true);
    await index.cleanup();
    expect(await tableExists(table)).toBe(false);
  });

  it("takes the connection string from the brain config, and parses its parameters", async () => {
    const saved = { ...process.env };
    try {
      process.env.FIFTYONE_BRAIN_CONFIG_PATH = "/nonexistent/brain_config.json";
      process.env.FIFTYONE_BRAIN_SIMILARITY_PGVECTOR_CONNECTION_STRING = server.connectionString;
      const index = await PgvectorIndex.open({ tableName: "from_config", dim: 4 });
      opened.push(index);
      expect(await index.size()).toBe(0);
      await index.cleanup();
      delete process.env.FIFTYONE_BRAIN_SIMILARITY_PGVECTOR_CONNECTION_STRING;
      await expectBrainError(PgvectorIndex.open({ tableName: "x", dim: 4 }), "INVALID_PARAMS", /FIFTYONE_BRAIN_SIMILARITY_PGVECTOR_CONNECTION_STRING/);
    } finally {
      process.env = saved;
    }
    expect(pgvectorOptionsFromParams({ connection_string: ["host=a port=1", "x"], metric: "euclidean", hnsw_m: 32 })).toMatchObject({
      connectionString: "host=a port=1,x",
      metric: "euclidean",
      hnswM: 32,
    });
    expect(() => pgvectorOptionsFromParams({ metric: "manhattan" })).toThrow(/Unsupported pgvector metric 'manhattan'/);
    expect(defaultIndexName("My Dataset!", "sim")).toBe("brain_ts_my_dataset_sim");
    expect(Buffer.byteLength(defaultIndexName("x".repeat(100), "key"))).toBeLessThanOrEqual(63);
  });

  it("reports an unreachable server without revealing the password", async () => {
    const err = await expectBrainError(
      PgvectorIndex.open({ connectionString: "postgresql://u:hunter2-secret@127.0.0.1:1/db", tableName: "t", dim: 4 }),
      "BACKEND_UNAVAILABLE",
      /Cannot connect to the pgvector server: .*ECONNREFUSED/,
    );
    expect(err.message).not.toContain("hunter2-secret");
  });

  it("reports a server that went away mid-session", async () => {
    const index = await open();
    await index.add({ ids: ids.slice(0, 3), vectors: vectors.slice(0, 3 * DIM) });
    await sql.end();
    await server.stop();
    const err = await expectBrainError(index.query(row(queries, 0), { k: 1 }), "BACKEND_UNAVAILABLE", /unreachable/);
    expect(err.message).not.toContain("secret-pw");
  });
});
