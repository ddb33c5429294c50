/**
 * Fields that record a similarity query on samples it added (the text prompt, the time):
 * a new field name or an existing field of the right type. Pure, so the App's form and
 * the runtime give the same answer.
 */
export type QueryRecordKind = "StringField" | "DateTimeField";

const PREFIX = "fiftyone.core.fields.";
const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
/** Fields FiftyOne manages itself: never a place to record a query. */
const RESERVED = new Set(["id", "filepath", "tags", "metadata", "created_at", "last_modified_at", "media_type", "frames"]);

export function queryRecordFieldError(
  fields: ReadonlyArray<{ name: string; ftype: string }>,
  datasetName: string,
  name: string,
  kind: QueryRecordKind,
  param: string,
): string | null {
  if (!FIELD_NAME.test(name)) return `Invalid ${param} '${name}': use letters, digits and _ (starting with a letter)`;
  if (RESERVED.has(name)) return `'${name}' is a field FiftyOne manages: choose another ${param}`;
  const existing = fields.find((f) => f.name === name);
  if (existing && existing.ftype !== PREFIX + kind) {
    const type = existing.ftype.startsWith(PREFIX) ? existing.ftype.slice(PREFIX.length) : existing.ftype;
    return `Field '${name}' of dataset '${datasetName}' has type ${type}; ${param} needs a ${kind} (or a new field name)`;
  }
  return null;
}

/** The existing fields of a kind, to offer first. */
export function queryRecordFields(fields: ReadonlyArray<{ name: string; ftype: string }>, kind: QueryRecordKind): string[] {
  return fields.filter((f) => f.ftype === PREFIX + kind && !RESERVED.has(f.name)).map((f) => f.name);
}
