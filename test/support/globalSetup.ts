import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { holdFiftyOneDatabase, HeldDatabase } from "../../src/fiftyone/localDatabase";

export const STATE_FILE = join(__dirname, "..", "..", "test-artifacts", "database.json");

declare global {
  // eslint-disable-next-line no-var
  var __BRAIN_TS_DB__: HeldDatabase | undefined;
}

/** Starts FiftyOne's own database once for all suites, in a throwaway database name. */
export default async function globalSetup(): Promise<void> {
  if (globalThis.__BRAIN_TS_DB__) return;
  const name = `brain_ts_test_${process.pid}`;
  const held = await holdFiftyOneDatabase(undefined, { ...process.env, FIFTYONE_DATABASE_NAME: name });
  globalThis.__BRAIN_TS_DB__ = held;
  mkdirSync(join(STATE_FILE, ".."), { recursive: true });
  writeFileSync(STATE_FILE, JSON.stringify(held.location));
}
