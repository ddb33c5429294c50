import { BrainError } from "../errors";

/** Readers for job parameters that arrive as JSON: each failure names the parameter. */
export type RawParams = Record<string, unknown>;

export function asParams(raw: unknown): RawParams {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== "object" || Array.isArray(raw)) throw new BrainError("INVALID_PARAMS", "Parameters must be an object");
  return raw as RawParams;
}

export function optionalString(p: RawParams, name: string): string | undefined {
  const v = p[name];
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v !== "string") throw new BrainError("INVALID_PARAMS", `'${name}' must be a string`);
  return v;
}

export function requiredString(p: RawParams, name: string): string {
  const v = optionalString(p, name);
  if (v === undefined) throw new BrainError("INVALID_PARAMS", `'${name}' is required`);
  return v;
}

export function optionalBoolean(p: RawParams, name: string, fallback: boolean): boolean {
  const v = p[name];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "boolean") throw new BrainError("INVALID_PARAMS", `'${name}' must be true or false`);
  return v;
}

export function optionalInteger(p: RawParams, name: string, fallback: number, min = 0): number {
  const v = p[name];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
    throw new BrainError("INVALID_PARAMS", `'${name}' must be an integer ≥ ${min}`);
  }
  return v;
}
