import { MongoClient } from "mongodb";

export default async function globalTeardown(): Promise<void> {
  const held = globalThis.__BRAIN_TS_DB__;
  if (!held) return;
  const client = await MongoClient.connect(held.location.uri);
  await client.db(held.location.name).dropDatabase().catch(() => undefined);
  await client.close();
  await held.release();
  globalThis.__BRAIN_TS_DB__ = undefined;
}
