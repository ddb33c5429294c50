import { BrainError } from "../../errors";
import { deleteSampleField, fieldDoc, validateNewFieldName, writeSampleField } from "../../fiftyone/fields";
import { GENERIC_CONFIG_CLS, GENERIC_RESULTS_CLS, assertNewBrainKey, registerBrainRun } from "../../fiftyone/runs";
import { streamSamples } from "../../fiftyone/samples";
import { DuplicateGroups, DuplicateGrouper, summarize } from "../../methods/exactDuplicates";
import { FileHasher, sharedFileHasher } from "../../methods/fileHash";
import { Job, JobContext, requireSamples } from "../job";
import { optionalBoolean, optionalInteger, optionalString } from "../params";

export interface MediaFailure {
  id: string;
  filepath: string;
  error: string;
}

export interface ExactDuplicatesResult {
  brainKey: string | null;
  duplicates: DuplicateGroups;
  numSamples: number;
  numGroups: number;
  numDuplicates: number;
  numFailures: number;
  /** The first failures, for display; numFailures counts them all. */
  failures: MediaFailure[];
  outputField: string | null;
}

const MAX_REPORTED_FAILURES = 100;
const BATCH_SIZE = 1000;

interface HashedView {
  duplicates: DuplicateGroups;
  numSamples: number;
  numFailures: number;
  failures: MediaFailure[];
}

type PathBatch = { _id: { toHexString(): string }; filepath: string }[];

function streamPaths(ctx: JobContext): AsyncGenerator<PathBatch> {
  return streamSamples(ctx.db, ctx.dataset, ctx.target, { _id: 1, filepath: 1 }, BATCH_SIZE);
}

/**
 * Two streaming passes over the view's file paths, each batch on worker threads, so
 * neither the paths nor the files of the whole view are ever held at once. Pass 1 only
 * stats files: a file whose byte size no other file has cannot have an exact duplicate,
 * so pass 2 reads and hashes just the files whose size repeats.
 */
async function hashView(ctx: JobContext, threads: number | undefined, skipFailures: boolean): Promise<HashedView> {
  const total = await requireSamples(ctx);
  // A job-specific pool only when a thread count is asked for; it can then be stopped
  // mid-file on cancel. The shared pool finishes its current batch instead.
  const hasher = threads ? new FileHasher(threads) : sharedFileHasher();
  const onAbort = () => {
    if (threads) void hasher.close();
  };
  ctx.signal.addEventListener("abort", onAbort, { once: true });
  try {
    const filesBySize = new Map<number, number>();
    let seen = 0;
    for await (const batch of streamPaths(ctx)) {
      ctx.signal.throwIfAborted();
      for (const size of await hasher.sizes(batch.map((s) => s.filepath))) {
        if (size >= 0) filesBySize.set(size, (filesBySize.get(size) ?? 0) + 1);
      }
      seen += batch.length;
      ctx.progress((0.2 * seen) / total, `Sized ${seen}/${total} files`);
    }
    if (seen !== total) throw new BrainError("INTERNAL", `The view changed while it was read (${seen} of ${total} samples)`);

    const grouper = new DuplicateGrouper();
    const failures: MediaFailure[] = [];
    let numFailures = 0;
    seen = 0;
    for await (const batch of streamPaths(ctx)) {
      ctx.signal.throwIfAborted();
      const paths = batch.map((s) => s.filepath);
      const sizes = await hasher.sizes(paths);
      // Unreadable files (size -1) go to the hasher too, which reports why they fail.
      const candidates = batch.map((_, i) => i).filter((i) => sizes[i] < 0 || (filesBySize.get(sizes[i]) ?? 0) > 1);
      const { hashes, failures: batchFailures } = await hasher.hash(candidates.map((i) => paths[i]));
      for (const f of batchFailures) {
        const sample = batch[candidates[f.index]];
        const failure = { id: sample._id.toHexString(), filepath: sample.filepath, error: f.error };
        if (!skipFailures) {
          throw new BrainError("MEDIA_UNREADABLE", `Cannot read media of sample ${failure.id} (${failure.filepath}): ${failure.error}`);
        }
        numFailures++;
        if (failures.length < MAX_REPORTED_FAILURES) failures.push(failure);
      }
      candidates.forEach((i, k) => {
        const hash = hashes[k];
        if (hash !== null) grouper.add(batch[i]._id.toHexString(), `${sizes[i]}:${hash}`);
      });
      seen += batch.length;
      ctx.progress(0.2 + (0.8 * seen) / total, `Hashed ${seen}/${total} files`);
    }
    if (seen !== total) throw new BrainError("INTERNAL", `The view changed while it was read (${seen} of ${total} samples)`);
    return { duplicates: grouper.result(), numSamples: total, numFailures, failures };
  } finally {
    ctx.signal.removeEventListener("abort", onAbort);
    if (threads) await hasher.close();
  }
}

/**
 * compute_exact_duplicates: groups samples whose media files are byte-identical. Unlike
 * the reference, unreadable files are counted and reported; with skip_failures=false
 * they stop the run before anything is written.
 */
export const exactDuplicatesJob: Job<ExactDuplicatesResult> = {
  name: "compute_exact_duplicates",
  description: "Find samples whose media files are byte-identical",
  async run(ctx, params) {
    const brainKey = optionalString(params, "brain_key") ?? null;
    const outputField = optionalString(params, "output_field") ?? null;
    const skipFailures = optionalBoolean(params, "skip_failures", true);
    const threads = optionalInteger(params, "num_workers", 0, 0) || undefined;
    if (brainKey) assertNewBrainKey(ctx.dataset, brainKey);
    if (outputField) {
      const error = validateNewFieldName(ctx.dataset, outputField);
      if (error) throw new BrainError("FIELD_EXISTS", error);
    }

    const hashed = await hashView(ctx, threads, skipFailures);
    const result: ExactDuplicatesResult = { brainKey, outputField, ...hashed, ...summarize(hashed.duplicates) };

    if (outputField) {
      const values = Object.entries(result.duplicates).flatMap(([rep, dups]) =>
        [rep, ...dups].map((id): [string, unknown] => [id, rep]),
      );
      await writeSampleField(ctx.db, ctx.dataset, fieldDoc(outputField, "fiftyone.core.fields.StringField"), values);
    }
    if (brainKey) {
      try {
        await registerBrainRun(ctx.db, ctx.dataset, {
          key: brainKey,
          version: ctx.fiftyoneVersion,
          viewStages: ctx.target.viewStages ?? null,
          config: {
            cls: GENERIC_CONFIG_CLS,
            type: "brain",
            method: "exact_duplicates",
            runtime: "brain-ts",
            hash: "sha256",
            output_field: outputField,
          },
          results: {
            cls: GENERIC_RESULTS_CLS,
            duplicates: result.duplicates,
            num_samples: result.numSamples,
            num_failures: result.numFailures,
            failures: result.failures,
          },
        });
      } catch (err) {
        if (outputField) await deleteSampleField(ctx.db, ctx.dataset, outputField);
        throw err;
      }
    }
    return result;
  },
};
