import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { writeMnistImages } from "../bench/data/mnistImages";
import { findPython, projectRoot } from "../src/fiftyone/localDatabase";

/**
 * Creates the demo dataset `brain-ts-demo`: MNIST digits with injected exact duplicates,
 * near duplicates and train→test leaks, recorded in an `injected` field as ground truth.
 */
export const DEMO_DATASET = "brain-ts-demo";

const CREATE = `
import json, sys
import numpy as np
import fiftyone as fo
records = json.load(open(sys.argv[1]))
ds = fo.Dataset(sys.argv[2], overwrite=True)
ds.persistent = True
samples = []
for i, r in enumerate(records):
    s = fo.Sample(filepath=r["filepath"], tags=[r["split"]])
    s["ground_truth"] = fo.Classification(label=r["label"])
    s["injected"] = r["injected"]["kind"] if r["injected"] else None
    s["source_index"] = r["injected"]["of"] if r["injected"] else i
    s["pixel_embedding"] = np.array(r["pixels"], dtype=np.float32)
    samples.append(s)
ds.add_samples(samples)
ds.compute_metadata()
print("created dataset '%s' with %d samples" % (ds.name, len(ds)))
`;

async function pixelEmbedding(path: string): Promise<Uint8Array> {
  return sharp(path).greyscale().resize(16, 16, { fit: "fill" }).raw().toBuffer();
}

async function main(): Promise<void> {
  const root = projectRoot();
  const dir = join(root, ".cache", "demo-images");
  mkdirSync(dir, { recursive: true });
  const records = await writeMnistImages(dir, { perClass: 30, exactDuplicates: 12, nearDuplicates: 12, leaks: 8 });
  // Until a model has embedded the dataset, 16×16 grey thumbnails give every sample a
  // simple embedding (field `pixel_embedding`), enough for near duplicates to be found.
  const withPixels = await Promise.all(records.map(async (r) => ({ ...r, pixels: [...(await pixelEmbedding(r.filepath))] })));
  const manifest = join(dir, "manifest.json");
  writeFileSync(manifest, JSON.stringify(withPixels));
  const out = execFileSync(findPython(root), ["-c", CREATE, manifest, process.argv[2] ?? DEMO_DATASET], {
    env: { FIFTYONE_DATABASE_VALIDATION: "false", FIFTYONE_DO_NOT_TRACK: "true", ...process.env },
    encoding: "utf8",
  });
  process.stdout.write(out);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
