import { EJSON } from "bson";
import { BrainError, serializeError } from "../errors";
import { closeDatabases, DatabaseLocation } from "../fiftyone/database";
import { HeldDatabase, holdFiftyOneDatabase } from "../fiftyone/localDatabase";
import { executeJob } from "../runtime/execute";
import { listJobs } from "../runtime/registry";

const USAGE = `usage: brain-ts <method> --dataset NAME [options]

Runs a Brain method of the brain-ts runtime on a FiftyOne dataset, headless.

options:
  --dataset NAME         the dataset (required)
  --ids ID,ID,...        only these samples (default: the whole dataset)
  --param KEY=VALUE      a method parameter (repeatable; VALUE is parsed as JSON when it can be)
  --params JSON          all method parameters as one JSON object
  --database-uri URI     FiftyOne's MongoDB (default: FIFTYONE_DATABASE_URI, else FiftyOne's bundled database)
  --database-name NAME   default: FIFTYONE_DATABASE_NAME or "fiftyone"
  --json                 print the result as JSON on stdout
  --quiet                no progress on stderr

methods:
${listJobs().map((j) => `  ${j.name.padEnd(26)} ${j.description}`).join("\n")}
`;

interface CliArgs {
  method: string;
  dataset: string;
  ids?: string[];
  params: Record<string, unknown>;
  databaseUri?: string;
  databaseName?: string;
  json: boolean;
  quiet: boolean;
}

export function parseArgs(argv: string[]): CliArgs {
  const [method, ...rest] = argv;
  if (!method || method === "--help" || method === "-h") throw new BrainError("INVALID_PARAMS", USAGE);
  const args: CliArgs = { method, dataset: "", params: {}, json: false, quiet: false };
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i];
    const value = () => {
      const v = rest[++i];
      if (v === undefined) throw new BrainError("INVALID_PARAMS", `${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case "--dataset": args.dataset = value(); break;
      case "--ids": args.ids = value().split(",").filter(Boolean); break;
      case "--param": {
        const v = value();
        const eq = v.indexOf("=");
        if (eq < 1) throw new BrainError("INVALID_PARAMS", `--param expects KEY=VALUE, got '${v}'`);
        args.params[v.slice(0, eq)] = parseValue(v.slice(eq + 1));
        break;
      }
      case "--params": Object.assign(args.params, JSON.parse(value())); break;
      case "--database-uri": args.databaseUri = value(); break;
      case "--database-name": args.databaseName = value(); break;
      case "--json": args.json = true; break;
      case "--quiet": args.quiet = true; break;
      default: throw new BrainError("INVALID_PARAMS", `Unknown option '${flag}'\n\n${USAGE}`);
    }
  }
  if (!args.dataset) throw new BrainError("INVALID_PARAMS", `--dataset is required\n\n${USAGE}`);
  return args;
}

function parseValue(v: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

function progressPrinter(quiet: boolean) {
  if (quiet) return () => undefined;
  const tty = process.stderr.isTTY;
  let last = "";
  return (fraction: number, label?: string) => {
    const pct = Math.round(fraction * 100);
    const width = 30;
    const filled = Math.round(fraction * width);
    const line = `[${"#".repeat(filled)}${" ".repeat(width - filled)}] ${String(pct).padStart(3)}% ${label ?? ""}`;
    if (line === last) return;
    last = line;
    process.stderr.write(tty ? `\r${line}\x1b[K${fraction >= 1 ? "\n" : ""}` : `${line}\n`);
  };
}

export async function runCli(argv: string[]): Promise<number> {
  let held: HeldDatabase | null = null;
  let args: CliArgs;
  try {
    args = parseArgs(argv);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  try {
    let location: DatabaseLocation;
    const uri = args.databaseUri ?? process.env.FIFTYONE_DATABASE_URI;
    const name = args.databaseName ?? process.env.FIFTYONE_DATABASE_NAME ?? "fiftyone";
    if (uri) {
      location = { uri, name };
    } else {
      held = await holdFiftyOneDatabase();
      location = held.location;
    }
    const result = await executeJob(
      {
        method: args.method,
        params: args.params,
        database: location,
        dataset: args.dataset,
        target: args.ids ? { sample_ids: args.ids, view_stages: null } : undefined,
      },
      progressPrinter(args.quiet || !process.stderr.writable),
    );
    process.stdout.write(args.json ? `${EJSON.stringify(result as object, { relaxed: true })}\n` : `${summarizeResult(result)}\n`);
    return 0;
  } catch (err) {
    const e = serializeError(err);
    process.stderr.write(`error [${e.code}]: ${e.message}\n`);
    return 1;
  } finally {
    await closeDatabases();
    await held?.release();
  }
}

function summarizeResult(result: unknown): string {
  if (!result || typeof result !== "object") return String(result);
  return Object.entries(result as Record<string, unknown>)
    .filter(([, v]) => v === null || typeof v !== "object")
    .map(([k, v]) => `${k}: ${v}`)
    .join("\n");
}

if (require.main === module) {
  void runCli(process.argv.slice(2)).then((code) => process.exit(code));
}
