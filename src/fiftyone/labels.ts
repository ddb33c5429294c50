import { BrainError } from "../errors";
import { DatasetDoc, FieldDoc, findField, findFrameField, FRAMES_PREFIX } from "./datasets";
import { storedArray } from "./embeddings";

/** Reading FiftyOne label fields (Classification, Classifications, ...) from sample documents. */

export const LABEL_CLS = "fiftyone.core.labels.";
const EMBEDDED = "fiftyone.core.fields.EmbeddedDocumentField";

/** The label class of a top-level field (`Classification`, `Detections`, ...), or null if it is no label field. */
export function labelType(field: FieldDoc): string | null {
  if (field.ftype !== EMBEDDED || !field.embedded_doc_type?.startsWith(LABEL_CLS)) return null;
  return field.embedded_doc_type.slice(LABEL_CLS.length);
}

/**
 * Checks that `name` is a top-level label field of one of `allowed` types and returns its
 * type. Errors name the field and what was found. Sample-level fields of video datasets are
 * scored as image fields are (as the reference does); frame-level fields (`frames.<name>`)
 * only where `frames` allows them.
 */
export function requireLabelField(dataset: DatasetDoc, name: string, allowed: readonly string[], param: string, frames = false): string {
  const isFrame = name.startsWith(FRAMES_PREFIX);
  if (isFrame && !frames) {
    throw new BrainError("INVALID_PARAMS", `'${param}': frame-level label fields ('${name}') are not supported here; use a sample-level field or a frames view`);
  }
  if (isFrame && dataset.media_type !== "video") {
    throw new BrainError("INVALID_PARAMS", `'${param}': '${name}' is a frame field, but dataset '${dataset.name}' is not a video dataset`);
  }
  const local = isFrame ? name.slice(FRAMES_PREFIX.length) : name;
  if (local.includes(".")) throw new BrainError("INVALID_PARAMS", `'${param}': only top-level label fields are supported ('${name}')`);
  const field = isFrame ? findFrameField(dataset, local) : findField(dataset, name);
  if (!field) throw new BrainError("FIELD_NOT_FOUND", `Field '${name}' does not exist on dataset '${dataset.name}'`);
  const type = labelType(field);
  if (!type || !allowed.includes(type)) {
    const found = type ?? field.ftype.split(".").pop();
    throw new BrainError(
      "INVALID_FIELD_TYPE",
      `Field '${name}' of dataset '${dataset.name}' is a ${found}; '${param}' must be a ${allowed.join(" or ")} field`,
    );
  }
  return type;
}

/** A classification label as stored: one label or a Classifications container. */
export interface StoredClassification {
  labels: string[];
  confidence: number | null;
  logits: ArrayLike<number> | null;
}

interface LabelDoc {
  _cls?: string;
  label?: string | null;
  confidence?: number | null;
  logits?: unknown;
  classifications?: LabelDoc[] | null;
}

/** Parses a stored Classification / Classifications; `where` names the sample and field in errors. */
export function readClassification(value: unknown, where: string): StoredClassification | null {
  if (value === undefined || value === null) return null;
  const doc = value as LabelDoc;
  let logits: ArrayLike<number> | null = null;
  try {
    const arr = storedArray(doc.logits);
    logits = arr ? arr.data : null;
  } catch (err) {
    throw new BrainError("INVALID_DATA", `${where} has logits that ${(err as Error).message}`);
  }
  if (logits !== null && logits.length === 0) throw new BrainError("INVALID_DATA", `${where} has empty logits`);
  const labels =
    doc._cls === "Classifications"
      ? (doc.classifications ?? []).map((c) => String(c.label))
      : [String(doc.label)];
  const confidence = typeof doc.confidence === "number" ? doc.confidence : null;
  return { labels, confidence, logits };
}

/** The list attribute of each object label type (`<field>.<list>` holds its objects). */
export const OBJECT_LISTS = { Detections: "detections", TemporalDetections: "detections", Polylines: "polylines", Keypoints: "keypoints" } as const;
export type ObjectListType = keyof typeof OBJECT_LISTS;
