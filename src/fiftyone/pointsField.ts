import { Db, Double } from "mongodb";
import { DatasetDoc, samplesCollection } from "./datasets";
import { deleteSampleField, fieldDoc, writeSampleField } from "./fields";

/**
 * A visualization's 2-D points stored on the samples, as fiftyone-brain's `points_field`
 * does: a `ListField(FloatField)` of [x, y] per sample, and with `createIndex` a MongoDB
 * "2d" index whose bounds are the smallest and largest coordinate, so the App's
 * Embeddings panel can select a lasso's samples with `$geoWithin` in the database.
 */
export async function writePointsField(
  db: Db,
  dataset: DatasetDoc,
  name: string,
  ids: readonly string[],
  points: Float32Array,
  createIndex: boolean,
): Promise<void> {
  const values = function* (): Generator<[string, Double[]]> {
    for (let i = 0; i < ids.length; i++) yield [ids[i], [new Double(points[2 * i]), new Double(points[2 * i + 1])]];
  };
  await writeSampleField(db, dataset, fieldDoc(name, "fiftyone.core.fields.ListField", "fiftyone.core.fields.FloatField"), values());
  if (!createIndex) return;
  let min = Infinity;
  let max = -Infinity;
  for (const v of points) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  try {
    await samplesCollection(db, dataset).createIndex({ [name]: "2d" }, { min, max });
  } catch (err) {
    await deleteSampleField(db, dataset, name);
    throw err;
  }
}
