import * as React from "react";
import { usePromptOperatorInput } from "@fiftyone/operators";
import * as fos from "@fiftyone/state";
import { useRecoilValue } from "recoil";
import type { DuplicateFieldParam, WriteDuplicateFieldsResult } from "../../src/runtime/jobs/duplicateFields";
import type { DuplicateGroupsResult } from "../../src/runtime/jobs/runManagement";
import { PLUGIN_NAME, queryRuntime, trigger } from "../../operators/bridge";
import { DUPLICATE_TAG } from "../../operators/duplicateResults";
import { selectStage } from "../../operators/views";
import { duplicateIds, duplicateRuns, GroupOrder, groupIds, mediaUrl, regroup, sortGroups } from "./model";
import { styles } from "./styles";

type GroupsState = DuplicateGroupsResult;

// (the runtime's modules stay out of the browser bundle: only their types are imported)
const FIELD_PARAMS: DuplicateFieldParam[] = ["type_field", "id_field", "dist_field"];
const DEFAULT_FIELD_NAMES: Record<DuplicateFieldParam, string> = { type_field: "dup_type", id_field: "dup_nearest", dist_field: "dup_dist" };
const FIELD_LABELS: Record<DuplicateFieldParam, string> = { type_field: "Type", id_field: "Nearest id", dist_field: "Distance" };

/**
 * The Duplicates browser: groups of a duplicates run (first sample + its duplicates)
 * with thumbnails. A click narrows the grid to one group; duplicates can be tagged
 * (the default) or deleted after an explicit confirmation that says how many.
 */
export function DuplicatesPanel() {
  // Opens the operator's form (executeOperator would run it without input).
  const promptOperator = usePromptOperatorInput();
  const dataset = useRecoilValue(fos.dataset);
  const runs = React.useMemo(() => duplicateRuns(dataset), [dataset]);
  const [brainKey, setBrainKey] = React.useState<string | null>(null);
  const [state, setState] = React.useState<GroupsState | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const [notice, setNotice] = React.useState<string | null>(null);
  const [loading, setLoading] = React.useState(false);
  const [version, setVersion] = React.useState(0);
  const [pendingDelete, setPendingDelete] = React.useState<string[] | null>(null);
  const [threshold, setThreshold] = React.useState<number | null>(null);
  const [order, setOrder] = React.useState<GroupOrder>("size");
  // The duplicates view's fields at the slider's threshold (near-duplicate runs).
  const [fieldNames, setFieldNames] = React.useState<Record<DuplicateFieldParam, string> | null>(null);
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
      .then((s) => {
        if (cancelled) return;
        setState(s);
        setThreshold(s.threshold ?? null);
      })
      .catch((e: Error) => !cancelled && setError(e.message))
      .finally(() => !cancelled && setLoading(false));
    return () => {
      cancelled = true;
    };
  }, [activeKey, dataset?.name, version]);

  const showInGrid = (ids: string[]) => trigger("set_view", { view: [selectStage(ids, true)] });
  const act = async (action: () => Promise<string>) => {
    setError(null);
    try {
      setNotice(await action());
      trigger("reload_dataset");
      setVersion((v) => v + 1);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const tag = (ids: string[]) =>
    act(async () => {
      const { tagged } = await queryRuntime<{ tagged: number }>("tag_samples", { sample_ids: ids, tag: DUPLICATE_TAG });
      return `Tagged ${tagged} samples '${DUPLICATE_TAG}'`;
    });
  const remove = (ids: string[]) =>
    act(async () => {
      setPendingDelete(null);
      const { deleted } = await queryRuntime<{ deleted: number }>("delete_samples", { sample_ids: ids, confirm: ids.length });
      return `Deleted ${deleted} samples`;
    });

  const saveFields = (names: Record<DuplicateFieldParam, string>, at: number) =>
    act(async () => {
      const { fields, numDuplicates } = await queryRuntime<WriteDuplicateFieldsResult>("write_duplicate_fields", {
        brain_key: activeKey,
        threshold: at,
        ...Object.fromEntries(Object.entries(names).filter(([, v]) => v.trim() !== "")),
      });
      setFieldNames(null);
      return `Wrote ${fields.map((f) => `'${f}'`).join(", ")} at threshold ${at.toPrecision(3)} (${numDuplicates} duplicates); deleting run '${activeKey}' removes them`;
    });

  const current = state?.brainKey === activeKey ? state : null;
  // Near-duplicate runs regroup live from their stored neighbour graph. (Hooks stay above
  // the early return below: React needs the same hooks on every render.)
  const groups = React.useMemo(() => {
    if (!current) return [];
    const base =
      current.graph && current.filepaths && threshold !== null && threshold !== current.threshold
        ? regroup(current.graph, current.filepaths, threshold)
        : current.groups;
    return sortGroups(base, order);
  }, [current, threshold, order]);

  if (runs.length === 0) {
    return (
      <div style={styles.panel} data-cy="brain-ts-duplicates-panel">
        <p style={styles.muted}>No duplicates run on this dataset yet.</p>
        <button style={styles.button} onClick={() => promptOperator(`${PLUGIN_NAME}/compute_exact_duplicates`)}>
          Find exact duplicates
        </button>
      </div>
    );
  }

  const allDuplicates = duplicateIds(groups);
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
        <label>
          Sort{" "}
          <select value={order} onChange={(e) => setOrder(e.target.value as GroupOrder)} data-cy="brain-ts-group-order">
            <option value="size">largest groups first</option>
            <option value="distance">closest duplicates first</option>
          </select>
        </label>
        <span style={styles.muted} data-cy="brain-ts-group-count">
          {loading ? "Loading…" : `${groups.length} groups, ${allDuplicates.length} duplicates`}
        </span>
        <button style={styles.button} disabled={!groups.length} onClick={() => showInGrid(groups.flatMap(groupIds))}>
          Show all in grid
        </button>
        <button style={styles.button} disabled={!allDuplicates.length} onClick={() => tag(allDuplicates)} data-cy="brain-ts-tag-all">
          Keep first, tag the rest
        </button>
        <button style={styles.dangerButton} disabled={!allDuplicates.length} onClick={() => setPendingDelete(allDuplicates)} data-cy="brain-ts-delete-all">
          Keep first, delete the rest…
        </button>
      </div>
      {current?.graph && threshold !== null && (
        <div style={styles.toolbar}>
          <label htmlFor="brain-ts-threshold">Threshold</label>
          <input
            id="brain-ts-threshold"
            data-cy="brain-ts-threshold"
            type="range"
            min={current.graph.radius / 200}
            max={current.graph.radius}
            step={current.graph.radius / 200}
            value={threshold}
            onChange={(e) => setThreshold(Number(e.target.value))}
          />
          <span data-cy="brain-ts-threshold-value">{threshold.toPrecision(3)}</span>
          <span style={styles.muted}>(run: {current.threshold?.toPrecision(3)}; regrouped from stored distances up to {current.graph.radius.toPrecision(3)})</span>
          <button style={styles.button} onClick={() => setFieldNames(fieldNames ? null : { ...DEFAULT_FIELD_NAMES })} data-cy="brain-ts-save-fields">
            Save as fields…
          </button>
        </div>
      )}
      {fieldNames && threshold !== null && (
        <div style={styles.toolbar} data-cy="brain-ts-fields-form">
          {FIELD_PARAMS.map((p) => (
            <label key={p}>
              {FIELD_LABELS[p]}{" "}
              <input value={fieldNames[p]} onChange={(e) => setFieldNames({ ...fieldNames, [p]: e.target.value })} data-cy={`brain-ts-${p}`} size={12} style={styles.input} />
            </label>
          ))}
          <button style={styles.button} onClick={() => saveFields(fieldNames, threshold)} data-cy="brain-ts-save-fields-yes">
            Write at {threshold.toPrecision(3)}
          </button>
          <span style={styles.muted}>new fields; leave a name empty to skip it</span>
        </div>
      )}
      {pendingDelete && (
        <div style={styles.confirm} data-cy="brain-ts-confirm-delete">
          <span>
            Delete {pendingDelete.length} duplicate samples from dataset '{dataset?.name}'? The first sample of each group is kept. This
            cannot be undone.
          </span>
          <button style={styles.dangerButton} onClick={() => remove(pendingDelete)} data-cy="brain-ts-confirm-delete-yes">
            Delete {pendingDelete.length} samples
          </button>
          <button style={styles.button} onClick={() => setPendingDelete(null)}>
            Cancel
          </button>
        </div>
      )}
      {notice && <p style={styles.notice} data-cy="brain-ts-notice">{notice}</p>}
      {error && <p style={styles.error}>{error}</p>}
      {state && state.missing > 0 && <p style={styles.muted}>{state.missing} samples of this run no longer exist.</p>}
      <div style={styles.groups}>
        {groups.map((g, i) => (
          <div
            key={g.representative.id}
            style={styles.group}
            data-cy="brain-ts-duplicate-group"
            title="Show this group in the grid"
            onClick={() => showInGrid(groupIds(g))}
          >
            <div style={styles.groupHeader}>
              <span>Group {i + 1} · {g.duplicates.length + 1} samples</span>
              <span onClick={(e) => e.stopPropagation()} style={styles.groupActions}>
                <button style={styles.smallButton} onClick={() => showInGrid(groupIds(g))}>Open in grid</button>
                <button style={styles.smallButton} onClick={() => tag(g.duplicates.map((d) => d.id))}>Keep first, tag the rest</button>
                <button style={styles.smallButton} onClick={() => setPendingDelete(g.duplicates.map((d) => d.id))}>Keep first, delete the rest…</button>
              </span>
            </div>
            <div style={styles.thumbs}>
              <figure style={styles.figure}>
                <img src={mediaUrl(g.representative.filepath)} style={styles.thumbFirst} alt={g.representative.filepath} loading="lazy" />
                <figcaption style={styles.caption}>kept</figcaption>
              </figure>
              {g.duplicates.map((d) => (
                <figure key={d.id} style={styles.figure}>
                  <img src={mediaUrl(d.filepath)} style={styles.thumb} alt={d.filepath} loading="lazy" />
                  <figcaption style={styles.caption}>{d.distance === undefined ? "duplicate" : `d = ${d.distance.toPrecision(3)}`}</figcaption>
                </figure>
              ))}
            </div>
          </div>
        ))}
      </div>
    </div>
  );
}
