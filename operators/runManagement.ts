import { ExecutionContext, Operator, OperatorConfig, OperatorResult, types } from "@fiftyone/operators";
import type { BrainInfo } from "../src/runtime/jobs/runManagement";
import { queryRuntime, trigger } from "./bridge";
import { hooksInfo, useDatasetInfo } from "./datasetInfo";
import { addExistingBrainKeyInput } from "./forms";
import { chosenBrainKey, newBrainKeyError } from "./validation";

/**
 * Managing brain runs from the App, whichever tool made them: this plugin's runtime or
 * Python's fiftyone-brain. All four read and write FiftyOne's own run records.
 */
abstract class BrainRunOperator extends Operator {
  useHooks() {
    return { info: useDatasetInfo() };
  }

  protected runInputs(ctx: ExecutionContext): { inputs: types.Object; ok: boolean } {
    const inputs = new types.Object();
    const ok = addExistingBrainKeyInput(inputs, "brain_key", hooksInfo(ctx.hooks).brainRuns);
    return { inputs, ok };
  }

  protected brainKey(ctx: ExecutionContext): string {
    return chosenBrainKey(ctx.params, "brain_key", hooksInfo(ctx.hooks).brainRuns);
  }
}

export class GetBrainInfo extends BrainRunOperator {
  get config() {
    return new OperatorConfig({ name: "get_brain_info", label: "Brain: get run info", dynamic: true, icon: "info" });
  }

  async resolveInput(ctx: ExecutionContext) {
    return new types.Property(this.runInputs(ctx).inputs);
  }

  async execute(ctx: ExecutionContext) {
    return queryRuntime<BrainInfo>("get_brain_info", { brain_key: this.brainKey(ctx) });
  }

  async resolveOutput(_ctx: ExecutionContext, _result: OperatorResult) {
    const outputs = new types.Object();
    outputs.str("key", { label: "Brain key" });
    outputs.str("timestamp", { label: "Created (UTC)" });
    outputs.str("version", { label: "FiftyOne version" });
    outputs.obj("config", { label: "Config", view: new types.JSONView() });
    outputs.list("viewStages", new types.String(), { label: "View stages (none = whole dataset)" });
    return new types.Property(outputs);
  }
}

export class LoadBrainView extends BrainRunOperator {
  get config() {
    return new OperatorConfig({ name: "load_brain_view", label: "Brain: load run view", dynamic: true, icon: "visibility" });
  }

  async resolveInput(ctx: ExecutionContext) {
    return new types.Property(this.runInputs(ctx).inputs);
  }

  async execute(ctx: ExecutionContext) {
    const { view } = await queryRuntime<{ view: unknown[] }>("load_brain_view", { brain_key: this.brainKey(ctx) });
    trigger("set_view", { view });
    return { num_stages: view.length };
  }
}

export class RenameBrainRun extends BrainRunOperator {
  get config() {
    return new OperatorConfig({ name: "rename_brain_run", label: "Brain: rename run", dynamic: true, icon: "edit" });
  }

  async resolveInput(ctx: ExecutionContext) {
    const { inputs, ok } = this.runInputs(ctx);
    if (ok) {
      const keys = hooksInfo(ctx.hooks).brainRuns.map((r) => r.key);
      const error = ctx.params.new_brain_key ? newBrainKeyError(ctx.params.new_brain_key, keys) : null;
      inputs.str("new_brain_key", {
        label: "New brain key",
        required: true,
        invalid: error !== null,
        errorMessage: error ?? undefined,
      });
    }
    return new types.Property(inputs);
  }

  async execute(ctx: ExecutionContext) {
    const newKey = ctx.params.new_brain_key;
    const error = newBrainKeyError(newKey, hooksInfo(ctx.hooks).brainRuns.map((r) => r.key));
    if (error) throw new Error(error);
    await queryRuntime("rename_brain_run", { brain_key: this.brainKey(ctx), new_brain_key: newKey });
    trigger("reload_dataset");
    return { key: newKey };
  }
}

export class DeleteBrainRun extends BrainRunOperator {
  get config() {
    return new OperatorConfig({ name: "delete_brain_run", label: "Brain: delete run", dynamic: true, icon: "delete" });
  }

  async resolveInput(ctx: ExecutionContext) {
    const { inputs, ok } = this.runInputs(ctx);
    if (ok) {
      const warning = new types.Warning({
        label: "Deleting a run removes its record, its stored results and the score fields it wrote. This cannot be undone.",
      });
      inputs.defineProperty("warning", new types.Void(), { view: warning });
    }
    return new types.Property(inputs);
  }

  async execute(ctx: ExecutionContext) {
    const result = await queryRuntime<{ deletedFields: string[] }>("delete_brain_run", { brain_key: this.brainKey(ctx) });
    trigger("reload_dataset");
    return result;
  }
}
