import { BrainError } from "../../errors";
import { deleteSampleField, fieldDoc, validateNewFieldName, writeSampleField } from "../../fiftyone/fields";
import { GENERIC_CONFIG_CLS, GENERIC_RESULTS_CLS, assertNewBrainKey, registerBrainRun } from "../../fiftyone/runs";
import { countSamples, streamSamples } from "../../fiftyone/samples";
import { DuplicateGroups, DuplicateGrouper, summarize } from "../../methods/exactDuplicates";
import { hashFiles } from "../../methods/fileHash";
import { Job } from "../job";
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

/**
 * compute_exact_duplicates: hashes each sample's media, streamed in batches with
 * concurrent reads, and groups byte-identical files. Unlike the reference, unreadable
 * files are counted and reported; with skip_failures=false they stop the run before
 * anything is written.
 */
export const exactDuplicatesJob: Job<ExactDuplicatesResult> = {
  name: "compute_exact_duplicates",
  description: "Find samples whose media files are byte-identical",
  async run(ctx, params) {
    const brainKey = optionalString(params, "brain_key") ?? null;
    const outputField = optionalString(params, "output_field") ?? null;
    const skipFailures = optionalBoolean(params, "skip_failures", true);
    const concurrency = optionalInteger(params, "num_workers", 8, 1);
    if (brainKey) assertNewBrainKey(ctx.dataset, brainKey);
    if (outputField) {
      const error = validateNewFieldName(ctx.dataset, outputField);
      if (error) throw new BrainError("FIELD_EXISTS", error);
    }

    const total = await countSamples(ctx.db, ctx.dataset, ctx.target);
    if (total === 0) throw new BrainError("EMPTY_VIEW", "The target view has no samples");

    const grouper = new DuplicateGrouper();
    const failures: MediaFailure[] = [];
    let numFailures = 0;
    let seen = 0;
    ctx.progress(0, `Hashing ${total} files`);
    for await (const batch of streamSamples<{ _id: { toHexString(): string }; filepath: string }>(
      ctx.db, ctx.dataset, ctx.target, { _id: 1, filepath: 1 }, 500,
    )) {
      const { hashes, failures: batchFailures } = await hashFiles(batch.map((s) => s.filepath), {
        concurrency,
        signal: ctx.signal,
      });
      for (const f of batchFailures) {
        numFailures++;
        const sample = batch[f.index];
        if (!skipFailures) {
          throw new BrainError("MEDIA_UNREADABLE", `Cannot read media of sample ${sample._id.toHexString()} (${sample.filepath}): ${f.error}`);
        }
        if (failures.length < MAX_REPORTED_FAILURES) {
          failures.push({ id: sample._id.toHexString(), filepath: sample.filepath, error: f.error });
        }
      }
      batch.forEach((s, i) => {
        const hash = hashes[i];
        if (hash !== null) grouper.add(s._id.toHexString(), hash);
      });
      seen += batch.length;
      ctx.progress(seen / total, `Hashed ${seen}/${total} files`);
    }
    if (seen !== total) throw new BrainError("INTERNAL", `The view changed while it was read (${seen} of ${total} samples)`);

    const duplicates = grouper.result();
    const summary = summarize(duplicates);
    const result: ExactDuplicatesResult = {
      brainKey, duplicates, numSamples: total, ...summary, numFailures, failures, outputField,
    };

    if (outputField) {
      const values: [string, unknown][] = Object.entries(duplicates).flatMap(([rep, dups]) =>
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
            duplicates,
            num_samples: total,
            num_failures: numFailures,
            failures,
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
