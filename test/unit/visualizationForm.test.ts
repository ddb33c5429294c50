import { visualizationFormError, visualizationRuntimeParams } from "../../operators/visualizationParams";

describe("compute_visualization form", () => {
  it("sends only the chosen method's parameters, with the reference's defaults", () => {
    expect(visualizationRuntimeParams({ method: "umap", embeddings: "emb", seed: 4, perplexity: 5 }, "viz", "other")).toEqual({
      brain_key: "viz", method: "umap", embeddings: "emb", num_dims: 2, seed: 4, num_neighbors: 15, min_dist: 0.1, metric: "euclidean",
    });
    expect(visualizationRuntimeParams({ method: "tsne", num_dims: 3 }, "t", "emb")).toEqual({
      brain_key: "t", method: "tsne", embeddings: "emb", num_dims: 3, perplexity: 30, learning_rate: 200, max_iters: 1000, pca_dims: 50,
    });
    // the automatic learning rate replaces the number
    expect(visualizationRuntimeParams({ method: "tsne", auto_learning_rate: true, learning_rate: 0 }, "t", "emb")).toMatchObject({ learning_rate: "auto" });
    expect(visualizationRuntimeParams({ method: "pca", embeddings: "e", num_neighbors: 3 }, "p", "x")).toEqual({ brain_key: "p", method: "pca", embeddings: "e", num_dims: 2 });
    expect(visualizationRuntimeParams({ method: "manual", manual_points: "xy", embeddings: "e" }, "m", "x")).toEqual({ brain_key: "m", method: "manual", points: "xy" });
    // a spatial index: the points field defaults to the brain key, 2-D samples only
    expect(visualizationRuntimeParams({ method: "pca", embeddings: "e", create_index: true }, "p", "x")).toEqual({
      brain_key: "p", method: "pca", embeddings: "e", num_dims: 2, create_index: true, points_field: "p",
    });
    expect(visualizationRuntimeParams({ method: "pca", embeddings: "e", create_index: true, points_field: "xy2" }, "p", "x")).toMatchObject({ create_index: true, points_field: "xy2" });
    expect(visualizationRuntimeParams({ method: "pca", embeddings: "e", create_index: true, num_dims: 3 }, "p", "x")).not.toHaveProperty("create_index");
    expect(visualizationRuntimeParams({ method: "pca", embeddings: "e", use_patches: true, patches_field: "gt", patch_embeddings: "emb" }, "p", "x")).toEqual({
      brain_key: "p", method: "pca", patches_field: "gt", embeddings: "emb", num_dims: 2,
    });
    // patches: an optional points attribute of the labels (no spatial index)
    expect(visualizationRuntimeParams({ method: "pca", use_patches: true, patches_field: "gt", patch_embeddings: "emb", points_field: "xy", create_index: true }, "p", "x")).toEqual({
      brain_key: "p", method: "pca", patches_field: "gt", embeddings: "emb", num_dims: 2, points_field: "xy",
    });
  });

  it("says what is wrong before Execute", () => {
    expect(visualizationFormError({ method: "umap", num_neighbors: 1 })).toBe("Neighbours must be at least 2");
    expect(visualizationFormError({ method: "umap", num_neighbors: 2.5 })).toBe("Neighbours must be a whole number");
    expect(visualizationFormError({ method: "tsne", perplexity: 0 })).toBe("Perplexity must be greater than 0");
    expect(visualizationFormError({ method: "tsne", learning_rate: 0 })).toBe("Learning rate must be greater than 0");
    expect(visualizationFormError({ method: "tsne", learning_rate: 0, auto_learning_rate: true })).toBeNull();
    expect(visualizationFormError({ method: "pca", num_dims: 4 })).toBe("num_dims must be 2 or 3");
    expect(visualizationFormError({ method: "umap", seed: -1 })).toMatch(/seed/);
    expect(visualizationFormError({ method: "umap" }, 10)).toMatch(/needs more than 15 samples/);
    expect(visualizationFormError({ method: "tsne", perplexity: 30 }, 30)).toMatch(/perplexity/);
    expect(visualizationFormError({ method: "umap", num_neighbors: 5, seed: 0 }, 100)).toBeNull();
    expect(visualizationFormError({ method: "pca", use_patches: true, patch_embeddings: "" })).toMatch(/embedding attribute/);
    expect(visualizationFormError({ method: "pca", use_patches: true, patch_embeddings: "emb" })).toBeNull();
    expect(visualizationFormError({ method: "pca", use_patches: true, patch_embeddings: "emb", points_field: "x y" })).toMatch(/points attribute/);
  });
});
