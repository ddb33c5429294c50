/**
 * Errors the runtime reports to users. Each has a stable `code` so the bridge and the
 * App can react to it, and a message that says what to do.
 */
export type BrainErrorCode =
  | "INVALID_PARAMS"
  | "DATASET_NOT_FOUND"
  | "FIELD_NOT_FOUND"
  | "FIELD_EXISTS"
  | "INVALID_FIELD_TYPE"
  | "INVALID_DATA"
  | "EMPTY_VIEW"
  | "BRAIN_KEY_INVALID"
  | "BRAIN_KEY_EXISTS"
  | "BRAIN_KEY_NOT_FOUND"
  | "MEDIA_UNREADABLE"
  | "MODEL_NOT_FOUND"
  | "MODEL_INVALID"
  | "DATABASE_UNREACHABLE"
  | "UNKNOWN_METHOD"
  | "CANCELLED"
  | "INTERNAL"
  | "BACKEND_UNAVAILABLE"
  | "MODEL_DOWNLOAD_FAILED";

export class BrainError extends Error {
  constructor(
    readonly code: BrainErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "BrainError";
  }
}

export interface SerializedError {
  code: BrainErrorCode;
  message: string;
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof BrainError) return { code: err.code, message: err.message };
  if (err instanceof Error && err.name === "MongoServerSelectionError") {
    return {
      code: "DATABASE_UNREACHABLE",
      message: `Cannot reach FiftyOne's database: ${err.message}`,
    };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: "INTERNAL", message };
}

/** Brain keys must be valid Python identifiers, as FiftyOne requires. */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PYTHON_KEYWORDS = new Set(
  ("False None True and as assert async await break class continue def del elif else except " +
    "finally for from global if import in is lambda nonlocal not or pass raise return try while with yield").split(" "),
);

export function validateBrainKey(key: unknown): string | null {
  if (typeof key !== "string" || key.length === 0) return "A brain key is required";
  if (!IDENTIFIER.test(key) || PYTHON_KEYWORDS.has(key)) {
    return `Invalid brain key '${key}': keys must be valid Python identifiers (letters, digits and _, not starting with a digit)`;
  }
  return null;
}
