import type { ModelManifest } from "./modelManifest";

/** Images a model could not embed, by position in the request, with the reason. */
export interface ImageFailure {
  index: number;
  error: string;
}

export interface ImageEmbeddings {
  /** indices.length × dim floats, row-major: one row per embedded image. */
  vectors: Float32Array;
  /** Positions (in the request) of the embedded images, in row order. */
  indices: number[];
  failures: ImageFailure[];
}

/**
 * What every caller of an embedding model uses (jobs, the embeddings source,
 * sort_by_similarity): image embedding always, text embedding when `supportsPrompts`.
 * Images are file paths or encoded image bytes; texts are free text (a prompt).
 */
export interface EmbeddingModel {
  readonly name: string;
  readonly dim: number;
  readonly manifest: ModelManifest;
  /** True when `embedTexts` exists: texts and images share one embedding space. */
  readonly supportsPrompts: boolean;
  /** Decodes, preprocesses and embeds images; failures are skipped and reported unless skipFailures is false (then thrown). */
  embedImages(images: ReadonlyArray<string | Buffer>, options?: { skipFailures?: boolean }): Promise<ImageEmbeddings>;
  /** Embeds `count` images already preprocessed as the manifest's input says. */
  embed(batch: Float32Array, count: number): Promise<Float32Array>;
  /** Texts → texts.length × dim floats (image+text models only). */
  embedTexts?(texts: readonly string[]): Promise<Float32Array>;
  close(): Promise<void>;
}
