/**
 * Which FiftyOne field types can define splits (one split per distinct value): strings,
 * integers and booleans, or lists of them. Pure, so the App's form and the runtime give
 * the same answer.
 */
const SCALARS = ["StringField", "IntField", "BooleanField"];
const PREFIX = "fiftyone.core.fields.";

export function splitFieldTypeError(name: string, ftype: string, subfield: string | null | undefined): string | null {
  const short = (t: string) => (t.startsWith(PREFIX) ? t.slice(PREFIX.length) : t);
  const type = short(ftype);
  if (SCALARS.includes(type)) return null;
  if (type === "ListField" && subfield && SCALARS.includes(short(subfield))) return null;
  const what = type === "ListField" ? `a ListField of ${subfield ? short(subfield) : "unknown values"}` : `a ${type}`;
  return `Split field '${name}' is ${what}; splits need a string, integer or boolean field, or a list of them`;
}
