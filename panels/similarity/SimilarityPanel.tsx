import * as React from "react";
import { usePromptOperatorInput } from "@fiftyone/operators";
import * as fos from "@fiftyone/state";
import { useRecoilValue } from "recoil";
import type { SampleFilepathsResult } from "../../src/runtime/jobs/sampleMedia";
import { callRuntime, PLUGIN_NAME, queryRuntime, trigger } from "../../operators/bridge";
import { mediaUrl } from "../duplicates/model";
import type { SortBySimilarityResult } from "../../src/runtime/jobs/similarityParams";
import {
  DEFAULT_DIST_FIELD,
  describeQuery,
  distFieldError,
  IMAGE_QUERY_NOTE,
  latestIndex,
  QueryInput,
  QueryMode,
  readAsBase64,
  resultSamples,
  resultView,
  reverseUnavailable,
  SimilarityIndexInfo,
  sortParams,
  SortParams,
  textUnavailable,
} from "./model";
import { useShowOnTiles } from "./showOnTiles";
import { styles } from "./styles";

interface Results {
  brainKey: string;
  params: SortParams;
  description: string;
  /** Result samples in order (a patch index's labels grouped by sample) and their distances. */
  ids: string[];
  distances: number[];
  /** Patch index results cannot write a distance field on samples. */
  patchesField: string | null;
  filepaths: Record<string, string>;
  /** The view stages the query was restricted to; null = the whole dataset. */
  restrictedTo: unknown[] | null;
}

interface Upload {
  name: string;
  base64: string;
  dataUrl: string;
}

const MODES: { mode: QueryMode; label: string }[] = [
  { mode: "selection", label: "Selected samples" },
  { mode: "text", label: "Text" },
  { mode: "image", label: "Image" },
];

/**
 * Similarity search: pick an index, query it by the grid's selection, a text prompt or an
 * uploaded image, look at the nearest samples with their distances, and send them to the
 * grid in order.
 */
export function SimilarityPanel() {
  const dataset = useRecoilValue(fos.dataset);
  const selected = useRecoilValue(fos.selectedSamples);
  const currentView = useRecoilValue(fos.view);
  const selectedIds = React.useMemo(() => [...(selected?.keys() ?? [])], [selected]);
  const runKeys = (dataset?.brainMethods ?? []).map((m) => m.key).sort().join(",");

  const [indexes, setIndexes] = React.useState<SimilarityIndexInfo[] | null>(null);
  const [brainKey, setBrainKey] = React.useState<string | null>(null);
  const [mode, setMode] = React.useState<QueryMode>("selection");
  const [text, setText] = React.useState("");
  const [upload, setUpload] = React.useState<Upload | null>(null);
  const [k, setK] = React.useState(25);
  const [reverse, setReverse] = React.useState(false);
  const [withinView, setWithinView] = React.useState(false);
  const [distField, setDistField] = React.useState(DEFAULT_DIST_FIELD);
  const [results, setResults] = React.useState<Results | null>(null);
  const [busy, setBusy] = React.useState<string | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const [notice, setNotice] = React.useState<string | null>(null);

  // The index list follows the dataset's runs (a new or deleted index reloads the dataset).
  React.useEffect(() => {
    if (!dataset?.name) return;
    let cancelled = false;
    queryRuntime<{ indexes: SimilarityIndexInfo[] }>("list_similarity_indexes")
      .then((r) => !cancelled && setIndexes(r.indexes))
      .catch((e: Error) => !cancelled && setError(e.message));
    return () => {
      cancelled = true;
    };
  }, [dataset?.name, runKeys]);

  const index = indexes?.find((i) => i.brain_key === brainKey) ?? (indexes ? latestIndex(indexes) : null);
  const input: QueryInput = { mode, selectedIds, text, imageBase64: upload?.base64 ?? null, k, reverse };
  const planned = index ? sortParams(index, input) : null;
  const blocked = planned && "error" in planned ? planned.error : null;
  // Reasons the query row already states (no selection, text unsupported) are not repeated below it.
  const shownInline = (reason: string) =>
    (mode === "selection" && selectedIds.length === 0 && !index?.patches_field) || (mode === "text" && index !== null && reason === textUnavailable(index));

  const showDistField = useShowOnTiles();

  const search = async () => {
    if (!index || !planned || "error" in planned) return;
    setBusy("Searching…");
    setError(null);
    setNotice(null);
    try {
      const restrictedTo = withinView ? currentView : null;
      const found = await runSort(planned, withinView);
      const samples = resultSamples(found);
      const { filepaths } = await queryRuntime<SampleFilepathsResult>("get_sample_filepaths", { sample_ids: samples.ids });
      setResults({
        brainKey: index.brain_key,
        params: planned,
        description: describeQuery(input, upload?.name ?? null),
        ids: samples.ids,
        distances: samples.distances,
        patchesField: found.patches_field,
        filepaths,
        restrictedTo,
      });
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(null);
    }
  };

  const showInGrid = async () => {
    if (!results) return;
    const field = results.patchesField ? "" : distField;
    const fieldError = distFieldError(field);
    if (fieldError) return setError(fieldError);
    setError(null);
    try {
      if (field) {
        setBusy(`Writing distances to '${field}'…`);
        // The panel's own field holds the latest results only; a field the user names keeps
        // older values on other samples, as the reference's dist_field does.
        await queryRuntime("write_distance_field", { field, sample_ids: results.ids, distances: results.distances, replace: field === DEFAULT_DIST_FIELD });
        trigger("reload_dataset");
      }
      trigger("set_view", { view: resultView(results.ids, results.restrictedTo) });
      if (field) await showDistField(field);
      const order = results.params.reverse ? "least similar first" : "nearest first";
      setNotice(`${results.ids.length} samples in the grid, ${order}${field ? `; distances in '${field}'` : ""}`);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(null);
    }
  };

  const chooseImage = async (file: File | undefined) => {
    if (!file) return setUpload(null);
    try {
      const { base64, dataUrl } = await readAsBase64(file);
      setUpload({ name: file.name, base64, dataUrl });
    } catch (e) {
      setError((e as Error).message);
    }
  };

  const promptOperator = usePromptOperatorInput();
  const newIndex = () => promptOperator(`${PLUGIN_NAME}/compute_similarity`);

  if (indexes !== null && indexes.length === 0) {
    return (
      <div style={styles.panel} data-cy="brain-ts-similarity-panel">
        <p style={styles.muted}>No similarity index on this dataset yet.</p>
        <button style={styles.button} onClick={newIndex} data-cy="brain-ts-similarity-new-index">
          Build a similarity index…
        </button>
        {error && <p style={styles.error}>{error}</p>}
      </div>
    );
  }

  return (
    <div style={styles.panel} data-cy="brain-ts-similarity-panel">
      <div style={styles.section}>
        <label>
          Index{" "}
          <select value={index?.brain_key ?? ""} onChange={(e) => setBrainKey(e.target.value)} data-cy="brain-ts-similarity-index">
            {(indexes ?? []).map((i) => (
              <option key={i.brain_key} value={i.brain_key}>
                {i.brain_key}
              </option>
            ))}
          </select>
        </label>
        {index && (
          <span style={styles.muted} data-cy="brain-ts-similarity-index-info">
            {index.backend} · {index.metric}
            {index.size >= 0 ? ` · ${index.size} vectors` : ""}
            {index.dim > 0 ? ` · ${index.dim}-d` : ""}
            {index.model ? ` · model ${index.model}` : index.embeddings_field ? ` · field ${index.embeddings_field}` : ""}
            {index.patches_field ? ` · patches of ${index.patches_field}` : ""}
          </span>
        )}
        {indexes === null && !error && <span style={styles.muted}>Loading indexes…</span>}
        <button style={styles.smallButton} onClick={newIndex} data-cy="brain-ts-similarity-new-index">
          New index…
        </button>
      </div>

      <div style={styles.section} role="tablist">
        <span>Query by</span>
        {MODES.map(({ mode: m, label }) => (
          <button
            key={m}
            role="tab"
            aria-selected={mode === m}
            style={mode === m ? styles.modeTabActive : styles.modeTab}
            onClick={() => setMode(m)}
            data-cy={`brain-ts-similarity-mode-${m}`}
          >
            {label}
          </button>
        ))}
      </div>

      <div style={styles.section}>
        {mode === "selection" && (
          <span data-cy="brain-ts-similarity-selection">
            {selectedIds.length
              ? `${selectedIds.length} sample${selectedIds.length === 1 ? "" : "s"} selected in the grid`
              : "No samples selected: select some in the grid (their checkboxes)"}
          </span>
        )}
        {mode === "text" && index && (textUnavailable(index) ? (
          <span style={styles.reason} data-cy="brain-ts-similarity-reason">{textUnavailable(index)}</span>
        ) : (
          <input
            style={styles.textInput}
            placeholder="e.g. a dog on a beach"
            value={text}
            onChange={(e) => setText(e.target.value)}
            onKeyDown={(e) => e.key === "Enter" && search()}
            data-cy="brain-ts-similarity-text"
          />
        ))}
        {mode === "image" && (
          <>
            <input type="file" accept="image/*" onChange={(e) => chooseImage(e.target.files?.[0])} data-cy="brain-ts-similarity-image" />
            {upload && <img src={upload.dataUrl} style={styles.preview} alt={upload.name} />}
            <span style={styles.reason}>{IMAGE_QUERY_NOTE}</span>
          </>
        )}
      </div>

      <div style={styles.section}>
        <label>
          k{" "}
          <input
            type="number"
            min={1}
            step={1}
            style={styles.numberInput}
            value={Number.isFinite(k) ? k : ""}
            onChange={(e) => setK(Number(e.target.value))}
            data-cy="brain-ts-similarity-k"
          />
        </label>
        <label title={(index && reverseUnavailable(index)) ?? undefined}>
          <input
            type="checkbox"
            checked={reverse}
            disabled={Boolean(index && reverseUnavailable(index)) && !reverse}
            onChange={(e) => setReverse(e.target.checked)}
            data-cy="brain-ts-similarity-reverse"
          />{" "}
          Least similar first
        </label>
        <label title="Search only among the samples of the grid's current view">
          <input type="checkbox" checked={withinView} onChange={(e) => setWithinView(e.target.checked)} /> Only the current view
        </label>
        <button
          style={blocked || !index || busy ? styles.button : styles.primaryButton}
          disabled={Boolean(blocked) || !index || Boolean(busy)}
          title={blocked ?? undefined}
          onClick={search}
          data-cy="brain-ts-similarity-search"
        >
          Search
        </button>
        {busy && <span style={styles.muted}>{busy}</span>}
      </div>
      {blocked && !shownInline(blocked) && <p style={styles.muted} data-cy="brain-ts-similarity-blocked">{blocked}</p>}
      {error && <p style={styles.error} data-cy="brain-ts-similarity-error">{error}</p>}

      {results && (
        <>
          <div style={styles.section}>
            <span data-cy="brain-ts-similarity-summary">
              {results.ids.length} results for {results.description} in '{results.brainKey}'
              {results.params.reverse ? " (least similar first)" : ""}
            </span>
            <button style={styles.primaryButton} onClick={showInGrid} disabled={Boolean(busy)} data-cy="brain-ts-similarity-show">
              Show in grid
            </button>
            {results.patchesField ? (
              <span style={styles.muted}>(label distances are not written to a field)</span>
            ) : (
              <label title="Each result's distance is written to this float field so the grid can show it; empty = do not write">
                distances in field{" "}
                <input style={styles.input} value={distField} onChange={(e) => setDistField(e.target.value.trim())} data-cy="brain-ts-similarity-dist-field" />
              </label>
            )}
          </div>
          {notice && <p style={styles.notice} data-cy="brain-ts-similarity-notice">{notice}</p>}
          <div style={styles.results} data-cy="brain-ts-similarity-results">
            {results.ids.map((id, i) => (
              <figure key={id} style={styles.resultFigure} data-cy="brain-ts-similarity-result" data-id={id} data-distance={results.distances[i]}>
                {results.filepaths[id] ? (
                  <img src={mediaUrl(results.filepaths[id])} style={styles.thumb} alt={results.filepaths[id]} loading="lazy" />
                ) : (
                  <div style={{ ...styles.thumb, ...styles.muted }}>deleted</div>
                )}
                <figcaption style={styles.resultCaption}>
                  #{i + 1} · d = {formatDistance(results.distances[i])}
                </figcaption>
              </figure>
            ))}
          </div>
        </>
      )}
    </div>
  );
}

/** The runtime's query, over the whole dataset or the grid's current view. */
async function runSort(params: SortParams, withinView: boolean): Promise<SortBySimilarityResult> {
  const outcome = await callRuntime<SortBySimilarityResult>({ method: "sort_by_similarity", params: { ...params }, target: withinView ? "CURRENT_VIEW" : "DATASET" });
  if (outcome.delegated) throw new Error("The query was delegated unexpectedly");
  return outcome.result;
}

function formatDistance(d: number | undefined): string {
  if (d === undefined || d === null || !Number.isFinite(d)) return "–";
  return Math.abs(d) >= 1000 || (Math.abs(d) < 0.001 && d !== 0) ? d.toExponential(2) : d.toFixed(3);
}
