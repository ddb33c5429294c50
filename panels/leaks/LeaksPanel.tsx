import * as React from "react";
import { usePromptOperatorInput } from "@fiftyone/operators";
import * as fos from "@fiftyone/state";
import { useRecoilValue } from "recoil";
import type { LeakRunView } from "../../src/runtime/jobs/leakRuns";
import { PLUGIN_NAME, queryRuntime, trigger } from "../../operators/bridge";
import { LEAK_TAG } from "../../operators/computeLeakySplits";
import { selectStage } from "../../operators/views";
import { mediaUrl } from "../duplicates/model";
import { styles } from "../duplicates/styles";
import { leakIds, leakRuns, leaksAt, noLeaksStages, sliderRange } from "./model";

const pairStyles: Record<string, React.CSSProperties> = {
  pair: { display: "flex", gap: 12, alignItems: "center" },
  arrow: { fontSize: 12, opacity: 0.8, minWidth: 90, textAlign: "center" },
  split: { fontSize: 11, fontWeight: 600 },
};

/**
 * The Leaks browser: samples that are near duplicates across splits, shown side by side
 * with their distance. The threshold slider regroups from the neighbour graph stored
 * with the run; leaks can be tagged, shown in the grid, or excluded from a split.
 */
export function LeaksPanel() {
  // Opens the operator's form (executeOperator would run it without input).
  const promptOperator = usePromptOperatorInput();
  const dataset = useRecoilValue(fos.dataset);
  const runs = React.useMemo(() => leakRuns(dataset), [dataset]);
  const [brainKey, setBrainKey] = React.useState<string | null>(null);
  const [run, setRun] = React.useState<LeakRunView | null>(null);
  const [threshold, setThreshold] = React.useState<number | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const [notice, setNotice] = React.useState<string | null>(null);
  const [loading, setLoading] = React.useState(false);
  const activeKey = brainKey && runs.includes(brainKey) ? brainKey : runs[0] ?? null;

  React.useEffect(() => {
    if (!activeKey) {
      setRun(null);
      return;
    }
    let cancelled = false;
    setLoading(true);
    setError(null);
    queryRuntime<LeakRunView>("get_leak_run", { brain_key: activeKey })
      .then((r) => {
        if (cancelled) return;
        setRun(r);
        setThreshold(sliderRange(r).initial);
      })
      .catch((e: Error) => !cancelled && setError(e.message))
      .finally(() => !cancelled && setLoading(false));
    return () => {
      cancelled = true;
    };
  }, [activeKey, dataset?.name]);

  const current = run && run.brainKey === activeKey ? run : null;
  const groups = React.useMemo(() => (current && threshold !== null ? leaksAt(current, threshold) : []), [current, threshold]);
  const leaking = React.useMemo(() => leakIds(groups), [groups]);

  if (runs.length === 0) {
    return (
      <div style={styles.panel} data-cy="brain-ts-leaks-panel">
        <p style={styles.muted}>No leaky-splits run on this dataset yet.</p>
        <button style={styles.button} onClick={() => promptOperator(`${PLUGIN_NAME}/compute_leaky_splits`)}>
          Find leaks between splits
        </button>
      </div>
    );
  }

  const tagLeaks = async (ids: string[]) => {
    setError(null);
    try {
      const { tagged } = await queryRuntime<{ tagged: number }>("tag_samples", { sample_ids: ids, tag: LEAK_TAG });
      setNotice(`Tagged ${tagged} samples '${LEAK_TAG}'`);
      trigger("reload_dataset");
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const range = current ? sliderRange(current) : null;
  return (
    <div style={styles.panel} data-cy="brain-ts-leaks-panel">
      <div style={styles.toolbar}>
        <label>
          Run{" "}
          <select value={activeKey ?? ""} onChange={(e) => setBrainKey(e.target.value)} data-cy="brain-ts-leak-run-picker">
            {runs.map((k) => (
              <option key={k} value={k}>{k}</option>
            ))}
          </select>
        </label>
        <span style={styles.muted} data-cy="brain-ts-leak-count">
          {loading ? "Loading…" : `${groups.reduce((s, g) => s + g.leaks.length, 0)} pairs, ${leaking.length} leaking samples`}
        </span>
        <button style={styles.button} disabled={!leaking.length} onClick={() => trigger("set_view", { view: [selectStage(leaking, true)] })} data-cy="brain-ts-show-leaks">
          Show leaks in grid
        </button>
        <button style={styles.button} disabled={!leaking.length} onClick={() => tagLeaks(leaking)} data-cy="brain-ts-tag-leaks">
          Tag all '{LEAK_TAG}'
        </button>
      </div>
      {current && range && threshold !== null && (
        <div style={styles.toolbar}>
          <label htmlFor="brain-ts-leak-threshold">Threshold</label>
          <input
            id="brain-ts-leak-threshold"
            data-cy="brain-ts-leak-threshold"
            type="range"
            min={range.min}
            max={range.max}
            step={range.step}
            value={threshold}
            onChange={(e) => setThreshold(Number(e.target.value))}
          />
          <span data-cy="brain-ts-leak-threshold-value">{threshold.toPrecision(3)}</span>
          <span style={styles.muted}>
            (run: {current.thresh.toPrecision(3)} {current.metric}; regrouped from stored distances up to {range.max.toPrecision(3)})
          </span>
        </div>
      )}
      {current && (
        <div style={styles.toolbar}>
          <span>Without leaks:</span>
          {current.splits.map((s, i) => (
            <button key={s} style={styles.smallButton} data-cy="brain-ts-no-leaks" onClick={() => trigger("set_view", { view: noLeaksStages(current, i, leaking) })}>
              {s}
            </button>
          ))}
        </div>
      )}
      {notice && <p style={styles.notice} data-cy="brain-ts-leak-notice">{notice}</p>}
      {error && <p style={styles.error}>{error}</p>}
      {current && current.missing > 0 && <p style={styles.muted}>{current.missing} samples of this run no longer exist.</p>}
      <div style={styles.groups}>
        {groups.map((g) => (
          <div key={g.kept.id} style={styles.group} data-cy="brain-ts-leak-group" title="Show these samples in the grid"
            onClick={() => trigger("set_view", { view: [selectStage([g.kept.id, ...g.leaks.map((l) => l.id)], true)] })}>
            {g.leaks.map((l) => (
              <div key={l.id} style={pairStyles.pair} data-cy="brain-ts-leak-pair">
                <figure style={styles.figure}>
                  <img src={mediaUrl(g.kept.filepath)} style={styles.thumbFirst} alt={g.kept.filepath} loading="lazy" />
                  <figcaption style={pairStyles.split}>{g.kept.split}</figcaption>
                </figure>
                <span style={pairStyles.arrow}>⟷ d = {l.distance.toPrecision(3)}</span>
                <figure style={styles.figure}>
                  <img src={mediaUrl(l.filepath)} style={styles.thumb} alt={l.filepath} loading="lazy" />
                  <figcaption style={pairStyles.split}>{l.split}</figcaption>
                </figure>
                <span onClick={(e) => e.stopPropagation()}>
                  <button style={styles.smallButton} onClick={() => tagLeaks([g.kept.id, l.id])}>Tag pair</button>
                </span>
              </div>
            ))}
          </div>
        ))}
      </div>
    </div>
  );
}
