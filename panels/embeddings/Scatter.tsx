import * as React from "react";
import createScatterplot from "regl-scatterplot";
import { categoryColor, continuousRamp, MISSING_COLOR, Plot, UNCOLORED } from "./model";

export type Scatterplot = ReturnType<typeof createScatterplot>;
export type SelectMode = "pan" | "lasso" | "box";

export interface ScatterProps {
  plot: Plot;
  pointSize: number;
  mode: SelectMode;
  /** Selected points, re-applied when the points are drawn again (e.g. new colours). */
  selection: number[];
  /** Points to show (hidden legend classes removed); null shows all. */
  visible: number[] | null;
  onSelect(indices: number[]): void;
  onDeselect(): void;
  onHover(index: number | null, at: { x: number; y: number } | null): void;
  /** Called with the scatterplot once it exists, and with the time its first points were drawn. */
  onReady(scatterplot: Scatterplot | null): void;
  onDrawn(ms: number): void;
}

/**
 * The WebGL scatter (regl-scatterplot): points in [-1, 1], colour in the z (categories)
 * or w (continuous, [0, 1]) value of each point. Pan/zoom with the mouse; lasso or box
 * select by mode (or with Shift held in pan mode); click selects one point.
 */
/** Shows all points (they lie in [-0.95, 0.95]) whatever the canvas's shape. */
function fit(sp: Scatterplot): void {
  sp.zoomToArea({ x: -1.1, y: -1.1, width: 2.2, height: 2.2 }, { transition: false });
}

export function Scatter(props: ScatterProps) {
  const container = React.useRef<HTMLDivElement>(null);
  const canvas = React.useRef<HTMLCanvasElement>(null);
  const scatter = React.useRef<Scatterplot | null>(null);
  const drawn = React.useRef(0);
  const handlers = React.useRef(props);
  handlers.current = props;

  React.useEffect(() => {
    const el = container.current!;
    const { width, height } = el.getBoundingClientRect();
    const sp = createScatterplot({
      canvas: canvas.current!,
      width: Math.max(1, width),
      height: Math.max(1, height),
      pointSize: props.pointSize,
      // The size slider decides, not the zoom level.
      pointScaleMode: "constant",
      pointSizeSelected: 2,
      pointOutlineWidth: 2,
      opacityInactiveMax: 0.5,
      backgroundColor: [0, 0, 0, 0],
      lassoColor: [1, 0.43, 0.02, 1],
      pointColorActive: [1, 1, 1, 1],
      deselectOnDblClick: true,
      deselectOnEscape: true,
    });
    scatter.current = sp;
    sp.subscribe("select", ({ points }: { points: number[] }) => handlers.current.onSelect(points));
    sp.subscribe("deselect", () => handlers.current.onDeselect());
    sp.subscribe("pointOver", (i: number) => {
      const [x, y] = sp.getScreenPosition(i) ?? [0, 0];
      handlers.current.onHover(i, { x, y });
    });
    sp.subscribe("pointOut", () => handlers.current.onHover(null, null));
    const resize = new ResizeObserver(([entry]) => {
      const { width: w, height: h } = entry.contentRect;
      if (w > 0 && h > 0) {
        // The new aspect ratio applies on the next frame, when set() resolves.
        void sp.set({ width: w, height: h }).then(() => fit(sp));
      }
    });
    resize.observe(el);
    handlers.current.onReady(sp);
    return () => {
      resize.disconnect();
      handlers.current.onReady(null);
      sp.destroy();
      scatter.current = null;
    };
  }, []);

  // New points (or new colours): one draw with the colour encoding set first.
  React.useEffect(() => {
    const sp = scatter.current;
    if (!sp) return;
    const { plot } = props;
    const n = plot.count;
    const z = new Float32Array(n);
    const w = new Float32Array(n);
    const color = plot.color;
    if (color?.kind === "categorical") {
      for (let i = 0; i < n; i++) z[i] = color.codes[i] === color.missingCode ? color.categories.length : color.codes[i];
      sp.set({ colorBy: "valueA", pointColor: [...color.categories.map((_, i) => categoryColor(i)), MISSING_COLOR] });
    } else if (color?.kind === "continuous") {
      const span = color.max - color.min || 1;
      for (let i = 0; i < n; i++) {
        const v = color.values[i];
        w[i] = Number.isNaN(v) ? 0 : Math.min(1, Math.max(0, (v - color.min) / span));
      }
      sp.set({ colorBy: "valueB", pointColor: continuousRamp() });
    } else {
      sp.set({ colorBy: null, pointColor: UNCOLORED });
    }
    const t0 = performance.now();
    void sp
      .draw({ x: plot.x, y: plot.y, z, w }, { zDataType: "categorical", wDataType: "continuous" })
      .then(() => {
        drawn.current = n;
        fit(sp);
        if (handlers.current.visible) sp.filter(handlers.current.visible, { preventEvent: true });
        if (handlers.current.selection.length) sp.select(handlers.current.selection, { preventEvent: true });
        else sp.deselect({ preventEvent: true });
        requestAnimationFrame(() => handlers.current.onDrawn(performance.now() - t0));
      });
  }, [props.plot]);

  React.useEffect(() => {
    scatter.current?.set({ pointSize: props.pointSize });
  }, [props.pointSize]);

  React.useEffect(() => {
    const sp = scatter.current;
    if (!sp) return;
    // `lassoType` (freeform | rectangle | brush) is a 1.16 property its typings do not list yet.
    type Settings = Parameters<Scatterplot["set"]>[0];
    const lassoType = props.mode === "box" ? "rectangle" : "freeform";
    sp.set({ mouseMode: props.mode === "pan" ? "panZoom" : "lasso", lassoType } as Settings);
  }, [props.mode]);

  React.useEffect(() => {
    const sp = scatter.current;
    if (!sp || drawn.current !== props.plot.count) return;
    if (props.visible) sp.filter(props.visible, { preventEvent: true });
    else sp.unfilter({ preventEvent: true });
  }, [props.visible]);

  return (
    <div ref={container} style={{ position: "absolute", inset: 0 }} data-cy="brain-ts-embeddings-canvas">
      <canvas ref={canvas} style={{ width: "100%", height: "100%", display: "block" }} />
    </div>
  );
}
