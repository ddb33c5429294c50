// Typed declarations for the part of the App's @fiftyone/* packages this plugin uses.
// The packages are not published; at run time they are the App's window globals
// (__foo__, __fop__, __fos__), which scripts/build.mjs maps them to.

declare module "@fiftyone/operators" {
  export interface OperatorConfigOptions {
    name: string;
    label?: string;
    description?: string;
    dynamic?: boolean;
    unlisted?: boolean;
    icon?: string;
    executeAsGenerator?: boolean;
  }
  export class OperatorConfig {
    constructor(options: OperatorConfigOptions);
    name: string;
    label: string;
  }
  export interface OperatorResult {
    result?: unknown;
    error?: unknown;
    errorMessage?: string;
    delegated?: boolean;
  }
  export class ExecutionContext {
    params: Record<string, unknown>;
    hooks: Record<string, unknown>;
    readonly datasetName: string;
    readonly view: unknown[];
    /** A Map (id -> selection style) in current Apps. */
    readonly selectedSamples: { size: number; keys(): IterableIterator<string> };
    readonly extended: unknown;
    trigger(uri: string, params?: Record<string, unknown>): void;
  }
  export abstract class Operator {
    constructor(pluginName: string, builtIn?: boolean, config?: OperatorConfig | null);
    readonly uri: string;
    readonly pluginName: string;
    abstract get config(): OperatorConfig;
    useHooks(ctx?: ExecutionContext): Record<string, unknown>;
    resolveInput(ctx: ExecutionContext): Promise<types.Property | null>;
    resolveOutput(ctx: ExecutionContext, result: OperatorResult): Promise<types.Property | null>;
    /** Re-resolved by the App whenever its context (view, selection, ...) changes. */
    resolvePlacement(ctx: ExecutionContext): Promise<types.Placement | null | undefined>;
    execute(ctx: ExecutionContext): Promise<unknown>;
  }
  export function registerOperator(cls: new (pluginName: string) => Operator, pluginName: string): void;
  export interface ExecutorOptions {
    callback?: (result: OperatorResult) => void;
    requestDelegation?: boolean;
    skipOutput?: boolean;
  }
  export function executeOperator(uri: string, params?: Record<string, unknown>, options?: ExecutorOptions): void;
  /** A hook: returns a function that opens an operator's input form (prompt) by URI. */
  export function usePromptOperatorInput(): (uri: string) => void;
  export function useOperatorExecutor(uri: string): {
    execute(params?: Record<string, unknown>, options?: ExecutorOptions): void;
    isExecuting: boolean;
    result: unknown;
    error: unknown;
  };

  export namespace types {
    export interface PropertyOptions {
      label?: string;
      description?: string;
      required?: boolean;
      default?: unknown;
      defaultValue?: unknown;
      invalid?: boolean;
      errorMessage?: string;
      error_message?: string;
      view?: View;
    }
    export class BaseType {}
    export class Property {
      constructor(type: BaseType, options?: PropertyOptions);
      type: BaseType;
      invalid?: boolean;
      errorMessage?: string;
      view?: View;
    }
    export class OperatorObject extends BaseType {
      constructor(options?: Record<string, unknown>);
      properties: Map<string, Property>;
      defineProperty(name: string, type: BaseType, options?: PropertyOptions): Property;
      str(name: string, options?: PropertyOptions): Property;
      bool(name: string, options?: PropertyOptions): Property;
      int(name: string, options?: PropertyOptions): Property;
      float(name: string, options?: PropertyOptions): Property;
      enum(name: string, values: string[], options?: PropertyOptions): Property;
      list(name: string, elementType: BaseType, options?: PropertyOptions): Property;
      obj(name: string, options?: PropertyOptions): Property;
    }
    export { OperatorObject as Object };
    export class String extends BaseType {}
    export class Void extends BaseType {}
    export class Boolean extends BaseType {}
    export class Number extends BaseType {
      constructor(options?: { min?: number; max?: number; int?: boolean; float?: boolean });
    }
    export class Enum extends BaseType {
      constructor(values: string[]);
    }
    export class List extends BaseType {
      constructor(elementType: BaseType);
    }
    export class View {
      constructor(options?: Record<string, unknown>);
    }
    export class Choices extends View {
      addChoice(value: string, options: { label: string; description?: string }): void;
    }
    export class RadioGroup extends Choices {}
    export class Dropdown extends Choices {}
    /** A text box with suggestions; free input allowed unless `allow_user_input: false`. */
    export class AutocompleteView extends Choices {}
    export class Notice extends View {}
    export class Warning extends View {}
    export class Header extends View {}
    export class ReadOnlyView extends View {}
    export class JSONView extends View {}
    export class TextView extends View {}
    export class FileView extends View {}
    export class Button extends View {
      constructor(options?: { label?: string; icon?: string; prompt?: boolean } & Record<string, unknown>);
    }
    export enum Places {
      SAMPLES_GRID_ACTIONS = "samples-grid-actions",
      SAMPLES_GRID_SECONDARY_ACTIONS = "samples-grid-secondary-actions",
      SAMPLES_VIEWER_ACTIONS = "samples-viewer-actions",
    }
    export class Placement {
      constructor(place: Places, view?: View | null);
    }
  }
}

declare module "@fiftyone/plugins" {
  import type { ComponentType } from "react";
  export enum PluginComponentType {
    Plot = 1,
    Panel = 2,
    Component = 3,
  }
  export interface PanelOptions {
    surfaces?: "grid" | "modal" | "grid modal";
    priority?: number;
    helpMarkdown?: string;
    allowDuplicates?: boolean;
  }
  export interface PluginComponentRegistration<P = Record<string, unknown>> {
    name: string;
    label: string;
    component: ComponentType<P>;
    type: PluginComponentType;
    activator?: (ctx: Record<string, unknown>) => boolean;
    Icon?: ComponentType;
    panelOptions?: PanelOptions;
  }
  export function registerComponent<P>(registration: PluginComponentRegistration<P>): void;
}

declare module "@fiftyone/state" {
  import type { RecoilState, RecoilValueReadOnly } from "recoil";
  export interface BrainMethod {
    key: string;
    config: { cls: string; type?: string; method?: string | null } & Record<string, unknown>;
  }
  /** A top-level field of the sample schema (the `sampleFields` selector). */
  export interface SampleField {
    name: string;
    path: string;
    ftype: string;
    embeddedDocType?: string | null;
    subfield?: string | null;
  }
  export interface Dataset {
    id: string;
    name: string;
    brainMethods: BrainMethod[];
  }
  export const dataset: RecoilState<Dataset | null>;
  export const datasetName: RecoilValueReadOnly<string | null>;
  export const sampleFields: RecoilValueReadOnly<SampleField[]>;
  /** The frame schema of a video dataset (empty for images). */
  export const frameFields: RecoilValueReadOnly<SampleField[]>;
  /** A Map (id -> selection style) in current Apps; a Set in older ones. Read ids with keys(). */
  export const selectedSamples: RecoilState<Set<string>>;
  export const view: RecoilState<unknown[]>;
  /** Whether a field is shown on the grid's tiles (setting true adds it to the active fields). */
  export const activeField: (param: { modal: boolean; path: string }) => RecoilState<boolean>;
}
