import { Db, MongoClient } from "mongodb";
import { BrainError } from "../errors";

/** Where FiftyOne's database lives: the URI of its mongod and the database name. */
export interface DatabaseLocation {
  uri: string;
  name: string;
}

const clients = new Map<string, Promise<MongoClient>>();

/** One pooled client per URI, shared by every job of a warm runtime. */
export async function openDatabase(location: DatabaseLocation): Promise<Db> {
  if (!location?.uri) throw new BrainError("INVALID_PARAMS", "No database URI was given");
  let client = clients.get(location.uri);
  if (!client) {
    client = MongoClient.connect(location.uri, { serverSelectionTimeoutMS: 5000 }).catch((err) => {
      clients.delete(location.uri);
      throw new BrainError(
        "DATABASE_UNREACHABLE",
        `Cannot reach FiftyOne's database at ${redact(location.uri)}: ${(err as Error).message}`,
      );
    });
    clients.set(location.uri, client);
  }
  return (await client).db(location.name || "fiftyone");
}

export async function closeDatabases(): Promise<void> {
  const all = [...clients.values()];
  clients.clear();
  await Promise.all(all.map(async (c) => (await c.catch(() => null))?.close()));
}

/** Never print credentials embedded in a URI. */
export function redact(uri: string): string {
  return uri.replace(/\/\/[^@/]*@/, "//***@");
}
