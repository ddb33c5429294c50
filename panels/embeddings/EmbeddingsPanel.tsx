import * as React from "react";
import { usePromptOperatorInput } from "@fiftyone/operators";
import * as fos from "@fiftyone/state";
import { useRecoilValue, useSetRecoilState } from "recoil";
import type { PointPreview, VisualizationPayload } from "../../src/runtime/jobs/visualizationQuery";
import { callRuntime, PLUGIN_NAME } from "../../operators/bridge";
import {
  categoryColor,
  colorText,
  decodePlot,
  indicesOfGridSelection,
  mediaUrl,
  MISSING_COLOR,
  Plot,
  SELECTION_SCOPE,
  selectionStage,
  viridisCss,
  visibleIndices,
  visualizationRuns,
} from "./model";
import { Scatter, Scatterplot, SelectMode } from "./Scatter";
import { styles } from "./styles";

/** Exposed on window for the browser tests and the panel benchmark (drive and time the plot). */
export interface EmbeddingsPanelProbe {
  scatterplot: Scatterplot | null;
  plot: Plot | null;
  /** ms from asking for the run to its points drawn; ms of the last draw alone. */
  firstDrawMs: number | null;
  drawMs: number | null;
  /** ms until the runtime's answer arrived; ms to decode it. */
  queryMs: number | null;
  decodeMs: number | null;
  selectedIds: string[];
}
declare global {
  interface Window {
    __brainTsEmbeddings?: EmbeddingsPanelProbe;
  }
}

const COMPUTE_URI = `${PLUGIN_NAME}/compute_visualization`;

/**
 * The Embeddings panel: a visualization run's points (made here or by fiftyone-brain) in
 * a WebGL scatter, restricted to the current view. Lasso, box or click selects points and
 * the grid shows exactly those samples or patches (the App's extended selection, as its
 * own Embeddings panel does); samples selected in the grid are highlighted; colour by any
 * field, hide classes from the legend, hover for a thumbnail.
 */
export function EmbeddingsPanel() {
  // Opens the operator's form (executeOperator would run it without input).
  const promptOperator = usePromptOperatorInput();
  const dataset = useRecoilValue(fos.dataset);
  const view = useRecoilValue(fos.view);
  const filters = useRecoilValue(fos.filters);
  const patchesView = useRecoilValue(fos.isPatchesView);
  const gridSelection = useRecoilValue(fos.selectedSamples);
  const setExtendedSelection = useSetRecoilState(fos.extendedSelection);
  const setOverrideStage = useSetRecoilState(fos.extendedSelectionOverrideStage);
  const setSelectedSamples = useSetRecoilState(fos.selectedSamples);
  const runs = React.useMemo(() => visualizationRuns(dataset), [dataset]);
  const [brainKey, setBrainKey] = React.useState<string | null>(null);
  const activeKey = brainKey && runs.includes(brainKey) ? brainKey : runs[0] ?? null;
  const [colorBy, setColorBy] = React.useState<string>("");
  const [plot, setPlot] = React.useState<Plot | null>(null);
  const [loading, setLoading] = React.useState(false);
  const [error, setError] = React.useState<string | null>(null);
  const [pointSize, setPointSize] = React.useState(4);
  const [mode, setMode] = React.useState<SelectMode>("pan");
  const [hidden, setHidden] = React.useState<ReadonlySet<number>>(new Set());
  const [selected, setSelected] = React.useState<string[]>([]);
  const [hover, setHover] = React.useState<{ index: number; x: number; y: number; preview: PointPreview | null } | null>(null);
  const scatterRef = React.useRef<Scatterplot | null>(null);
  const probe = React.useRef<EmbeddingsPanelProbe>({ scatterplot: null, plot: null, firstDrawMs: null, drawMs: null, queryMs: null, decodeMs: null, selectedIds: [] });
  const requested = React.useRef(0);
  const previews = React.useRef(new Map<string, PointPreview>());
  const viewKey = JSON.stringify([view, filters]);

  React.useEffect(() => {
    window.__brainTsEmbeddings = probe.current;
    return () => {
      if (window.__brainTsEmbeddings === probe.current) delete window.__brainTsEmbeddings;
    };
  }, []);

  React.useEffect(() => {
    if (!activeKey) {
      setPlot(null);
      return;
    }
    let cancelled = false;
    setLoading(true);
    setError(null);
    requested.current = performance.now();
    probe.current.firstDrawMs = null;
    callRuntime<VisualizationPayload>({
      method: "get_visualization",
      params: { brain_key: activeKey, ...(colorBy ? { color_by: colorBy } : {}) },
      target: "VIEW_WITHOUT_SELECTION",
    })
      .then((outcome) => {
        if (cancelled || outcome.delegated) return;
        const t = performance.now();
        probe.current.queryMs = t - requested.current;
        const decoded = decodePlot(outcome.result);
        probe.current.decodeMs = performance.now() - t;
        probe.current.plot = decoded;
        setHidden(new Set());
        setPlot(decoded);
      })
      .catch((e: Error) => {
        if (cancelled) return;
        setError(e.message);
        setPlot(null);
      })
      .finally(() => !cancelled && setLoading(false));
    return () => {
      cancelled = true;
    };
  }, [activeKey, colorBy, dataset?.name, viewKey]);

  const visible = React.useMemo(() => (plot ? visibleIndices(plot, hidden) : null), [plot, hidden]);
  const selection = React.useMemo(
    () => (plot ? selected.map((id) => plot.indexById.get(id)).filter((i): i is number => i !== undefined) : []),
    [plot, selected],
  );

  const clearSelection = React.useCallback(() => {
    setSelected([]);
    probe.current.selectedIds = [];
    setExtendedSelection({ selection: null });
    setOverrideStage(null);
  }, []);

  const onSelect = React.useCallback(
    (indices: number[]) => {
      if (!plot) return;
      const shown = visible ? new Set(visible) : null;
      const ids = [...new Set(indices.filter((i) => !shown || shown.has(i)).map((i) => plot.ids[i]))];
      setSelected(ids);
      probe.current.selectedIds = ids;
      // As the App's own panel: the grid shows the selection; checkbox selections give way.
      setSelectedSamples(new Set());
      setOverrideStage(selectionStage(plot, patchesView, ids));
      setExtendedSelection({ selection: ids, scope: SELECTION_SCOPE });
    },
    [plot, visible, patchesView],
  );

  // Samples (or patches) selected in the grid light up in the plot; when the grid's
  // selection is cleared, the plot shows its own selection again.
  React.useEffect(() => {
    const sp = scatterRef.current;
    if (!sp || !plot) return;
    if (gridSelection.size > 0) sp.select(indicesOfGridSelection(plot, gridSelection, patchesView), { preventEvent: true });
    else if (selection.length) sp.select(selection, { preventEvent: true });
    else sp.deselect({ preventEvent: true });
  }, [gridSelection, plot, patchesView]);

  const onHover = React.useCallback(
    (index: number | null, at: { x: number; y: number } | null) => {
      if (index === null || !plot || !at) {
        setHover(null);
        return;
      }
      const key = plot.ids[index];
      setHover({ index, ...at, preview: previews.current.get(key) ?? null });
      if (previews.current.has(key)) return;
      callRuntime<PointPreview>({
        method: "get_visualization_point",
        params: {
          sample_id: plot.sampleIds[index],
          ...(plot.patchesField ? { label_id: plot.ids[index], patches_field: plot.patchesField } : {}),
        },
      })
        .then((outcome) => {
          if (outcome.delegated) return;
          previews.current.set(key, outcome.result);
          setHover((h) => (h && h.index === index ? { ...h, preview: outcome.result } : h));
        })
        .catch(() => undefined);
    },
    [plot],
  );

  if (runs.length === 0) {
    return (
      <div style={styles.panel} data-cy="brain-ts-embeddings-panel">
        <p style={styles.muted}>This dataset has no visualization run yet.</p>
        <button style={styles.button} data-cy="brain-ts-compute-visualization" onClick={() => promptOperator(COMPUTE_URI)}>
          Compute visualization
        </button>
      </div>
    );
  }

  const color = plot?.color ?? null;
  return (
    <div style={styles.panel} data-cy="brain-ts-embeddings-panel" data-points={plot?.count ?? 0} data-selected={selected.length}>
      <div style={styles.toolbar}>
        <label>
          Run{" "}
          <select value={activeKey ?? ""} onChange={(e) => setBrainKey(e.target.value)} data-cy="brain-ts-embeddings-run">
            {runs.map((k) => (
              <option key={k} value={k}>{k}</option>
            ))}
          </select>
        </label>
        <label>
          Colour by{" "}
          <select value={colorBy} onChange={(e) => setColorBy(e.target.value)} data-cy="brain-ts-embeddings-color-by">
            <option value="">(none)</option>
            {(plot?.colorChoices ?? (colorBy ? [colorBy] : [])).map((c) => (
              <option key={c} value={c}>{c}</option>
            ))}
          </select>
        </label>
        <label>
          Point size{" "}
          <input type="range" min={1} max={12} value={pointSize} onChange={(e) => setPointSize(Number(e.target.value))} data-cy="brain-ts-embeddings-point-size" />
        </label>
        <span style={styles.modes}>
          {(["pan", "lasso", "box"] as const).map((m) => (
            <button key={m} style={m === mode ? styles.activeButton : styles.button} onClick={() => setMode(m)} data-cy={`brain-ts-embeddings-mode-${m}`}
              title={m === "pan" ? "Pan and zoom; click a point to select it; Shift+drag lassos" : m === "lasso" ? "Draw a lasso around points" : "Drag a box around points"}>
              {m === "pan" ? "Pan" : m === "lasso" ? "Lasso" : "Box"}
            </button>
          ))}
        </span>
        <button style={styles.button} disabled={!selected.length} onClick={() => {
          scatterRef.current?.deselect({ preventEvent: true });
          clearSelection();
        }} data-cy="brain-ts-embeddings-clear">
          Clear selection
        </button>
        <span style={styles.muted} data-cy="brain-ts-embeddings-status">
          {loading
            ? "Loading…"
            : plot
              ? `${plot.count} points${selected.length ? `, ${selected.length} selected` : ""}${plot.missingCount ? ` · ${plot.missingCount} in view without a point` : ""}${plot.count < plot.totalCount ? ` · ${plot.totalCount - plot.count} of the run not in view` : ""}${plot.numDims > 2 ? " · first 2 of 3 dimensions" : ""}`
              : ""}
        </span>
      </div>
      {error && <p style={styles.error} data-cy="brain-ts-embeddings-error">{error}</p>}
      <div style={styles.body}>
        <div style={styles.plotArea}>
          {plot && (
            <Scatter
              plot={plot}
              pointSize={pointSize}
              mode={mode}
              visible={visible}
              selection={selection}
              onSelect={onSelect}
              onDeselect={clearSelection}
              onHover={onHover}
              onReady={(sp) => {
                scatterRef.current = sp;
                probe.current.scatterplot = sp;
              }}
              onDrawn={(ms) => {
                probe.current.drawMs = ms;
                if (probe.current.firstDrawMs === null) probe.current.firstDrawMs = performance.now() - requested.current;
              }}
            />
          )}
          {hover && plot && (
            <div style={{ ...styles.hover, left: hover.x + 12, top: hover.y + 12 }} data-cy="brain-ts-embeddings-hover">
              {hover.preview ? (
                <PreviewImage preview={hover.preview} />
              ) : (
                <div style={styles.thumbPlaceholder} />
              )}
              <div style={styles.caption}>
                {hover.preview?.label ?? colorText(plot, hover.index) ?? hover.preview?.filepath.split("/").pop() ?? ""}
                {plot.colorBy && hover.preview?.label && colorText(plot, hover.index) !== hover.preview.label ? ` · ${colorText(plot, hover.index)}` : ""}
              </div>
            </div>
          )}
        </div>
        {color?.kind === "categorical" && (
          <div style={styles.legend} data-cy="brain-ts-embeddings-legend">
            {[...color.categories, "(none)"].map((name, i) => {
              const count = i < color.categories.length ? color.counts[i] : plot!.count - color.counts.reduce((a, b) => a + b, 0);
              if (i === color.categories.length && count === 0) return null;
              const off = hidden.has(i);
              return (
                <div key={name + i} style={{ ...styles.legendEntry, opacity: off ? 0.35 : 1 }} data-cy="brain-ts-embeddings-legend-entry" data-hidden={off}
                  title={off ? "Show this class" : "Hide this class"}
                  onClick={() => setHidden((h) => {
                    const next = new Set(h);
                    if (next.has(i)) next.delete(i);
                    else next.add(i);
                    return next;
                  })}>
                  <span style={{ ...styles.swatch, background: i < color.categories.length ? categoryColor(i) : MISSING_COLOR }} />
                  <span style={{ textDecoration: off ? "line-through" : "none" }}>{name}</span>
                  <span style={styles.muted}>{count}</span>
                </div>
              );
            })}
          </div>
        )}
        {color?.kind === "continuous" && (
          <div style={styles.colorbar} data-cy="brain-ts-embeddings-colorbar">
            <div style={{ ...styles.ramp, background: viridisCss() }} />
            <div style={styles.rampLabels}>
              <span>{color.min.toPrecision(3)}</span>
              <span>{plot!.colorBy}</span>
              <span>{color.max.toPrecision(3)}</span>
            </div>
          </div>
        )}
      </div>
    </div>
  );
}

/** The hovered sample's image; a patch is shown cropped to its box. */
function PreviewImage({ preview }: { preview: PointPreview }) {
  const src = mediaUrl(preview.filepath);
  const box = preview.boundingBox;
  if (!box) return <img src={src} style={styles.thumb} alt={preview.filepath} />;
  const [x, y, w, h] = box;
  const scale = 1 / Math.max(w, h, 1e-6); // the box fills the thumbnail
  return (
    <div style={{ ...styles.thumb, position: "relative", overflow: "hidden" }}>
      <img src={src} alt={preview.filepath}
        style={{ position: "absolute", width: `${scale * 100}%`, height: `${scale * 100}%`, left: `${-x * scale * 100}%`, top: `${-y * scale * 100}%`, maxWidth: "none" }} />
    </div>
  );
}
