import { BrainError } from "../errors";
import { Job } from "./job";
import { computeEmbeddingsJob } from "./jobs/computeEmbeddings";
import { exactDuplicatesJob } from "./jobs/exactDuplicates";
import { leakySplitsJob } from "./jobs/leakySplits";
import { nearDuplicatesJob } from "./jobs/nearDuplicates";
import {
  deleteBrainRunJob,
  getBrainInfoJob,
  getDuplicateGroupsJob,
  listBrainRunsJob,
  loadBrainViewJob,
  renameBrainRunJob,
} from "./jobs/runManagement";
import { deleteSamplesJob, tagSamplesJob } from "./jobs/sampleActions";
import { sampleFilepathsJob } from "./jobs/sampleMedia";
import { writeDistanceFieldJob } from "./jobs/distanceField";
import { writeDuplicateFieldsJob } from "./jobs/duplicateFields";
import { SIMILARITY_JOBS } from "./jobs/similarity";
import { visualizationJob } from "./jobs/visualization";
import { hardnessJob, mistakennessJob, representativenessJob, uniquenessJob } from "./jobs/scores";
import { findUniqueJob } from "./jobs/findUnique";
import { getLeakRunJob } from "./jobs/leakRuns";
import { getVisualizationJob, getVisualizationPointJob, listVisualizationRunsJob } from "./jobs/visualizationQuery";
import { findSimilarSamplesJob, listSimilaritySourcesJob } from "./jobs/similarSamples";

/** Every method the runtime serves, by the name operators and the CLI use. */
const JOBS: Job[] = [
  computeEmbeddingsJob,
  exactDuplicatesJob,
  nearDuplicatesJob,
  leakySplitsJob,
  uniquenessJob,
  hardnessJob,
  mistakennessJob,
  listBrainRunsJob,
  getBrainInfoJob,
  loadBrainViewJob,
  renameBrainRunJob,
  deleteBrainRunJob,
  getDuplicateGroupsJob,
  tagSamplesJob,
  deleteSamplesJob,
  ...SIMILARITY_JOBS,
  sampleFilepathsJob,
  visualizationJob,
  representativenessJob,
  findUniqueJob,
  getLeakRunJob,
  listVisualizationRunsJob,
  getVisualizationJob,
  getVisualizationPointJob,
  writeDistanceFieldJob,
  findSimilarSamplesJob,
  listSimilaritySourcesJob,
  writeDuplicateFieldsJob,
];

const byName = new Map(JOBS.map((j) => [j.name, j]));

export function getJob(name: string): Job {
  const job = byName.get(name);
  if (!job) throw new BrainError("UNKNOWN_METHOD", `Unknown method '${name}'. Known: ${[...byName.keys()].join(", ")}`);
  return job;
}

export function listJobs(): Job[] {
  return [...JOBS];
}
