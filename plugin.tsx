// The App bundle's entry: registers this plugin's operators and panels with the App.
// What the plugin contributes is declared in fiftyone.yml; this file only wires it up.
import { registerOperator } from "@fiftyone/operators";
import { PluginComponentType, registerComponent } from "@fiftyone/plugins";
import { PLUGIN_NAME } from "./operators/bridge";
import { ComputeEmbeddings } from "./operators/computeEmbeddings";
import { ComputeExactDuplicates } from "./operators/computeExactDuplicates";
import { ComputeLeakySplits } from "./operators/computeLeakySplits";
import { ComputeNearDuplicates } from "./operators/computeNearDuplicates";
import { ComputeHardness, ComputeMistakenness, ComputeUniqueness } from "./operators/computeScores";
import { DeleteBrainRun, GetBrainInfo, LoadBrainView, RenameBrainRun } from "./operators/runManagement";
import { DuplicatesPanel } from "./panels/duplicates/DuplicatesPanel";
import { EmbeddingsPanel } from "./panels/embeddings/EmbeddingsPanel";

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
  name: "brain_ts_embeddings",
  label: "Brain embeddings",
  component: EmbeddingsPanel,
  type: PluginComponentType.Panel,
  activator: () => true,
  panelOptions: { surfaces: "grid", priority: 210, helpMarkdown: "Points of a visualization run: lasso, box or click to show samples in the grid; colour by any field." },
});
