import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { writeMnistImages } from "../bench/data/mnistImages";
import { findPython, projectRoot } from "../src/fiftyone/localDatabase";

/**
 * Creates the demo dataset `brain-ts-demo`: MNIST digits with injected exact duplicates,
 * near duplicates and train→test leaks, recorded in an `injected` field as ground truth;
 * `pixel_embedding` and nearest-centroid `predictions` (with logits) for the score operators.
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

# Inputs for the score operators: predictions of a nearest-centroid classifier on 7x7
# mean-pooled grayscale pixels, fit on the train split, with logits (negative
# distances to the class centroids) and confidences.
import numpy as np
from PIL import Image
def embed(path):
    a = np.asarray(Image.open(path).convert("L").resize((28, 28)), dtype=np.float64) / 255.0
    return a.reshape(7, 4, 7, 4).mean(axis=(1, 3)).ravel()
emb = [embed(p) for p in ds.values("filepath")]
labels = ds.values("ground_truth.label")
train = [i for i, t in enumerate(ds.values("tags")) if "train" in t] or list(range(len(ds)))
classes = sorted(set(labels))
centroids = np.stack([np.mean([emb[i] for i in train if labels[i] == c], axis=0) for c in classes])
preds = []
for e in emb:
    logits = -np.linalg.norm(centroids - e, axis=1) * 10.0
    p = np.exp(logits - logits.max())
    p /= p.sum()
    k = int(np.argmax(logits))
    preds.append(fo.Classification(label=classes[k], confidence=float(p[k]), logits=logits))
ds.set_values("predictions", preds)
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
