import type { CSSProperties } from "react";

export const styles: Record<string, CSSProperties> = {
  panel: { padding: 8, height: "100%", boxSizing: "border-box", fontSize: 13, display: "flex", flexDirection: "column" },
  toolbar: { display: "flex", gap: 12, alignItems: "center", marginBottom: 6, flexWrap: "wrap" },
  modes: { display: "inline-flex", gap: 2 },
  muted: { opacity: 0.7 },
  error: { color: "#e0514b", margin: "4px 0" },
  button: { cursor: "pointer", padding: "3px 10px", borderRadius: 4, border: "1px solid #888", background: "transparent", color: "inherit" },
  activeButton: { cursor: "pointer", padding: "3px 10px", borderRadius: 4, border: "1px solid #ff6d04", background: "rgba(255,109,4,0.2)", color: "inherit" },
  body: { flex: 1, display: "flex", minHeight: 0, gap: 8 },
  plotArea: { flex: 1, position: "relative", minHeight: 200, border: "1px solid rgba(128,128,128,0.3)", borderRadius: 4, overflow: "hidden" },
  legend: { width: 170, overflowY: "auto", display: "flex", flexDirection: "column", gap: 2 },
  legendEntry: { display: "flex", gap: 6, alignItems: "center", cursor: "pointer", padding: "1px 4px", borderRadius: 3, userSelect: "none" },
  swatch: { width: 12, height: 12, borderRadius: 6, flex: "none" },
  colorbar: { width: 170, display: "flex", flexDirection: "column", gap: 4, justifyContent: "flex-start" },
  ramp: { height: 14, borderRadius: 3 },
  rampLabels: { display: "flex", justifyContent: "space-between", fontSize: 11 },
  hover: { position: "absolute", pointerEvents: "none", background: "rgba(20,20,20,0.92)", color: "#eee", padding: 6, borderRadius: 4, zIndex: 10 },
  thumb: { width: 120, height: 120, objectFit: "contain", display: "block", background: "#000" },
  thumbPlaceholder: { width: 120, height: 120, background: "#222" },
  caption: { fontSize: 12, marginTop: 4, maxWidth: 120, overflow: "hidden", textOverflow: "ellipsis", whiteSpace: "nowrap" },
};
