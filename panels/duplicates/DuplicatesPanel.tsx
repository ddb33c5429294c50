import * as React from "react";
import { executeOperator } from "@fiftyone/operators";
import * as fos from "@fiftyone/state";
import { useRecoilValue } from "recoil";
import type { DuplicateGroupView } from "../../src/runtime/jobs/runManagement";
import { PLUGIN_NAME, queryRuntime } from "../../operators/bridge";
import { selectStage } from "../../operators/views";
import { duplicateRuns, mediaUrl } from "./model";
import { styles } from "./styles";

interface GroupsState {
  brainKey: string;
  groups: DuplicateGroupView[];
  missing: number;
}

/**
 * The Duplicates browser: groups of a duplicates run (first sample + its duplicates)
 * with thumbnails; a click narrows the grid to one group.
 */
export function DuplicatesPanel() {
  const dataset = useRecoilValue(fos.dataset);
  const runs = React.useMemo(() => duplicateRuns(dataset), [dataset]);
  const [brainKey, setBrainKey] = React.useState<string | null>(null);
  const [state, setState] = React.useState<GroupsState | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const [loading, setLoading] = React.useState(false);
  const activeKey = brainKey && runs.includes(brainKey) ? brainKey : runs[0] ?? null;

  React.useEffect(() => {
    if (!activeKey) {
      setState(null);
      return;
    }
    let cancelled = false;
    setLoading(true);
    setError(null);
    queryRuntime<GroupsState>("get_duplicate_groups", { brain_key: activeKey })
      .then((s) => !cancelled && setState(s))
      .catch((e: Error) => !cancelled && setError(e.message))
      .finally(() => !cancelled && setLoading(false));
    return () => {
      cancelled = true;
    };
  }, [activeKey, dataset?.name]);

  const showInGrid = (ids: string[]) => executeOperator("set_view", { view: [selectStage(ids, true)] });

  if (runs.length === 0) {
    return (
      <div style={styles.panel} data-cy="brain-ts-duplicates-panel">
        <p style={styles.muted}>No duplicates run on this dataset yet.</p>
        <button style={styles.button} onClick={() => executeOperator(`${PLUGIN_NAME}/compute_exact_duplicates`)}>
          Find exact duplicates
        </button>
      </div>
    );
  }

  const groups = state?.brainKey === activeKey ? state.groups : [];
  const allIds = groups.flatMap((g) => [g.representative.id, ...g.duplicates.map((d) => d.id)]);
  return (
    <div style={styles.panel} data-cy="brain-ts-duplicates-panel">
      <div style={styles.toolbar}>
        <label>
          Run{" "}
          <select value={activeKey ?? ""} onChange={(e) => setBrainKey(e.target.value)} data-cy="brain-ts-run-picker">
            {runs.map((k) => (
              <option key={k} value={k}>{k}</option>
            ))}
          </select>
        </label>
        <span style={styles.muted} data-cy="brain-ts-group-count">
          {loading ? "Loading…" : `${groups.length} groups, ${allIds.length - groups.length} duplicates`}
        </span>
        <button style={styles.button} disabled={!allIds.length} onClick={() => showInGrid(allIds)}>
          Show all in grid
        </button>
      </div>
      {error && <p style={styles.error}>{error}</p>}
      {state && state.missing > 0 && <p style={styles.muted}>{state.missing} samples of this run no longer exist.</p>}
      <div style={styles.groups}>
        {groups.map((g, i) => (
          <div
            key={g.representative.id}
            style={styles.group}
            data-cy="brain-ts-duplicate-group"
            title="Show this group in the grid"
            onClick={() => showInGrid([g.representative.id, ...g.duplicates.map((d) => d.id)])}
          >
            <div style={styles.groupHeader}>
              Group {i + 1} · {g.duplicates.length + 1} samples
            </div>
            <div style={styles.thumbs}>
              {[g.representative, ...g.duplicates].map((s, j) => (
                <figure key={s.id} style={styles.figure}>
                  <img src={mediaUrl(s.filepath)} style={j === 0 ? styles.thumbFirst : styles.thumb} alt={s.filepath} loading="lazy" />
                  <figcaption style={styles.caption}>{j === 0 ? "kept" : "duplicate"}</figcaption>
                </figure>
              ))}
            </div>
          </div>
        ))}
      </div>
    </div>
  );
}
