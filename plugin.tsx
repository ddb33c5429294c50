// The App bundle's entry: registers this plugin's operators and panels with the App.
// What the plugin contributes is declared in fiftyone.yml; this file only wires it up.
import { registerOperator } from "@fiftyone/operators";
import { PluginComponentType, registerComponent } from "@fiftyone/plugins";
import { PLUGIN_NAME } from "./operators/bridge";
import { ComputeEmbeddings } from "./operators/computeEmbeddings";
import { ComputeExactDuplicates } from "./operators/computeExactDuplicates";
import { ComputeLeakySplits } from "./operators/computeLeakySplits";
import { ComputeNearDuplicates } from "./operators/computeNearDuplicates";
import { ComputeVisualization } from "./operators/computeVisualization";
import { ComputeHardness, ComputeMistakenness, ComputeRepresentativeness, ComputeUniqueness } from "./operators/computeScores";
import { DeleteBrainRun, GetBrainInfo, LoadBrainView, RenameBrainRun } from "./operators/runManagement";
import { ComputeSimilarity } from "./operators/computeSimilarity";
import { SortBySimilarity } from "./operators/sortBySimilarity";
import { DuplicatesPanel } from "./panels/duplicates/DuplicatesPanel";
import { SortSelectionBySimilarity } from "./operators/similarityGridAction";
import { SimilarityPanel } from "./panels/similarity/SimilarityPanel";
import { LeaksPanel } from "./panels/leaks/LeaksPanel";
import { FindUnique } from "./operators/findUnique";
import { EmbeddingsPanel } from "./panels/embeddings/EmbeddingsPanel";
import { AddSimilarSamples } from "./operators/addSimilarSamples";

for (const operator of [
  ComputeEmbeddings,
  ComputeExactDuplicates,
  ComputeNearDuplicates,
  ComputeLeakySplits,
  ComputeUniqueness,
  ComputeHardness,
  ComputeMistakenness,
  GetBrainInfo,
  LoadBrainView,
  RenameBrainRun,
  DeleteBrainRun,
  ComputeSimilarity,
  SortBySimilarity,
  SortSelectionBySimilarity,
  ComputeVisualization,
  ComputeRepresentativeness,
  FindUnique,
  AddSimilarSamples,
]) {
  registerOperator(operator, PLUGIN_NAME);
}

registerComponent({
  name: "brain_ts_duplicates",
  label: "Duplicates",
  component: DuplicatesPanel,
  type: PluginComponentType.Panel,
  activator: () => true,
  panelOptions: { surfaces: "grid", priority: 200, helpMarkdown: "Groups of duplicate samples found by the Brain, with thumbnails." },
});

registerComponent({
  name: "brain_ts_similarity",
  label: "Similarity search",
  component: SimilarityPanel,
  type: PluginComponentType.Panel,
  activator: () => true,
  panelOptions: {
    surfaces: "grid",
    priority: 210,
    helpMarkdown: "Search a similarity index by the grid's selection, a text prompt or an image, and send the nearest samples to the grid in order.",
  },
});

registerComponent({
  name: "brain_ts_leaks",
  label: "Leaks",
  component: LeaksPanel,
  type: PluginComponentType.Panel,
  activator: () => true,
  panelOptions: { surfaces: "grid", priority: 201, helpMarkdown: "Near duplicates across train/test splits found by the Brain, side by side." },
});

registerComponent({
  name: "brain_ts_embeddings",
  label: "Brain embeddings",
  component: EmbeddingsPanel,
  type: PluginComponentType.Panel,
  activator: () => true,
  panelOptions: { surfaces: "grid", priority: 210, helpMarkdown: "Points of a visualization run: lasso, box or click to show samples in the grid; colour by any field." },
});
