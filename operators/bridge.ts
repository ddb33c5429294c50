import { executeOperator, OperatorResult } from "@fiftyone/operators";

/** The plugin's name, which prefixes every operator URI. */
export const PLUGIN_NAME = "@brain-ts/brain";
export const BRIDGE_URI = `${PLUGIN_NAME}/run_method`;
/** The bridge's copy step of "add similar samples" (FiftyOne's add_samples, on the Python side). */
export const COPY_SIMILAR_URI = `${PLUGIN_NAME}/copy_similar_samples`;

/** VIEW_WITHOUT_SELECTION: the current view and filters, ignoring the grid's extended selection. */
export type Target = "DATASET" | "CURRENT_VIEW" | "SELECTED_SAMPLES" | "VIEW_WITHOUT_SELECTION";

export interface RuntimeCall {
  method: string;
  params?: Record<string, unknown>;
  target?: Target;
  /** Queue the run for `fiftyone delegated launch` instead of running it now. */
  delegate?: boolean;
}

export type RuntimeOutcome<R> = { delegated: true } | { delegated: false; result: R };

/**
 * Runs a method of the Node runtime through the Python bridge operator, which the App
 * sends the current dataset, view and selection with.
 */
export function callRuntime<R>(call: RuntimeCall): Promise<RuntimeOutcome<R>> {
  return new Promise((resolve, reject) => {
    executeOperator(
      BRIDGE_URI,
      { method: call.method, params: call.params ?? {}, target: call.target ?? "DATASET", delegate: call.delegate ?? false },
      {
        requestDelegation: call.delegate ?? false,
        skipOutput: true,
        callback: (outcome: OperatorResult) => {
          if (outcome.error) {
            reject(new Error(outcome.errorMessage || errorText(outcome.error)));
          } else if (outcome.delegated) {
            resolve({ delegated: true });
          } else {
            const payload = outcome.result as { result?: R } | undefined;
            resolve({ delegated: false, result: payload?.result as R });
          }
        },
      },
    );
  });
}

function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === "string") return error;
  return JSON.stringify(error);
}

/** Runs an immediate, read-only runtime method and returns its result. */
export async function queryRuntime<R>(method: string, params: Record<string, unknown> = {}): Promise<R> {
  const outcome = await callRuntime<R>({ method, params });
  if (outcome.delegated) throw new Error(`${method} was delegated unexpectedly`);
  return outcome.result;
}

/** Runs one of the bridge's Python operators (immediately) and returns its `result`. */
export function callPythonOperator<R>(uri: string, params: Record<string, unknown>): Promise<R> {
  return new Promise((resolve, reject) => {
    executeOperator(uri, params, {
      skipOutput: true,
      callback: (outcome: OperatorResult) => {
        if (outcome.error) reject(new Error(outcome.errorMessage || errorText(outcome.error)));
        else resolve((outcome.result as { result?: R } | undefined)?.result as R);
      },
    });
  });
}

/**
 * Runs one of the App's built-in operators (set_view, reload_dataset, notify, ...).
 * A JS operator's context has no executor to queue on, so this goes through the
 * App's global invocation queue.
 */
export function trigger(uri: string, params: Record<string, unknown> = {}): void {
  executeOperator(uri, params);
}
