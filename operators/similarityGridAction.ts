import { ExecutionContext, Operator, OperatorConfig, types, usePromptOperatorInput } from "@fiftyone/operators";
import type { SortBySimilarityResult } from "../src/runtime/jobs/similarityParams";
import { DEFAULT_DIST_FIELD, latestIndex, resultSamples, resultView, SimilarityIndexInfo } from "../panels/similarity/model";
import { useShowOnTiles } from "../panels/similarity/showOnTiles";
import { PLUGIN_NAME, queryRuntime, trigger } from "./bridge";
import { hasSelection } from "./validation";

/** How many nearest samples the grid button shows. */
export const GRID_ACTION_K = 25;

function selectedIds(ctx: ExecutionContext): string[] {
  return [...ctx.selectedSamples.keys()];
}

/**
 * The grid's "Sort by similarity" button, shown while samples are selected: sorts the
 * dataset by similarity to the selection with the newest similarity index, and shows the
 * nearest samples in the grid in order with their distances on the tiles (written to
 * `similarity_distance`, as the Similarity panel does). Without an index it opens the
 * index form instead.
 */
export class SortSelectionBySimilarity extends Operator {
  get config() {
    return new OperatorConfig({
      name: "sort_selection_by_similarity",
      label: "Sort by similarity",
      description: `Show the ${GRID_ACTION_K} samples most similar to the selection, nearest first (newest similarity index)`,
      unlisted: true,
      icon: "image_search",
    });
  }

  useHooks() {
    return { showOnTiles: useShowOnTiles(), promptOperator: usePromptOperatorInput() };
  }

  async resolvePlacement(ctx: ExecutionContext) {
    if (!hasSelection(ctx)) return null;
    // No icon: the App then shows the label as the button's text.
    return new types.Placement(types.Places.SAMPLES_GRID_SECONDARY_ACTIONS, new types.Button({ label: "Sort by similarity", prompt: false }));
  }

  async execute(ctx: ExecutionContext) {
    const ids = selectedIds(ctx);
    if (ids.length === 0) throw new Error("Select one or more samples in the grid first");
    const { indexes } = await queryRuntime<{ indexes: SimilarityIndexInfo[] }>("list_similarity_indexes");
    // Selected samples are items of sample indexes only (a patch index holds labels).
    const index = latestIndex(indexes.filter((i) => !i.patches_field));
    if (!index) {
      const message = indexes.length
        ? "This dataset's similarity indexes hold labels (patches), not samples: build an index of the samples first"
        : "This dataset has no similarity index yet: build one first";
      trigger("notify", { message, variant: "info" });
      (ctx.hooks.promptOperator as ((uri: string) => void) | undefined)?.(`${PLUGIN_NAME}/compute_similarity`);
      return { sorted: false };
    }
    const distField = DEFAULT_DIST_FIELD;
    const found = resultSamples(
      await queryRuntime<SortBySimilarityResult>("sort_by_similarity", { brain_key: index.brain_key, query_ids: ids, k: GRID_ACTION_K }),
    );
    // The field shows the latest results' distances only (replace empties it first).
    await queryRuntime("write_distance_field", { field: distField, sample_ids: found.ids, distances: found.distances, replace: true });
    trigger("reload_dataset");
    trigger("set_view", { view: resultView(found.ids, null) });
    const showOnTiles = ctx.hooks.showOnTiles as ((path: string) => Promise<void>) | undefined;
    await showOnTiles?.(distField);
    trigger("notify", {
      message: `${found.ids.length} samples most similar to ${ids.length} selected (index '${index.brain_key}'), nearest first`,
      variant: "success",
    });
    return { brain_key: index.brain_key, ids: found.ids, distances: found.distances };
  }
}
