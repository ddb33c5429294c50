import type { CSSProperties } from "react";

export const styles: Record<string, CSSProperties> = {
  panel: { padding: 12, height: "100%", overflow: "auto", boxSizing: "border-box", fontSize: 14 },
  toolbar: { display: "flex", gap: 12, alignItems: "center", marginBottom: 12, flexWrap: "wrap" },
  muted: { opacity: 0.7 },
  error: { color: "#e0514b" },
  button: { cursor: "pointer", padding: "4px 10px", borderRadius: 4, border: "1px solid #888", background: "transparent", color: "inherit" },
  groups: { display: "flex", flexDirection: "column", gap: 10 },
  group: { border: "1px solid rgba(128,128,128,0.4)", borderRadius: 6, padding: 8, cursor: "pointer" },
  groupHeader: { fontWeight: 600, marginBottom: 6, display: "flex", justifyContent: "space-between", alignItems: "center" },
  groupActions: { display: "flex", gap: 6 },
  smallButton: { cursor: "pointer", padding: "2px 8px", fontSize: 12, borderRadius: 4, border: "1px solid #888", background: "transparent", color: "inherit" },
  dangerButton: { cursor: "pointer", padding: "4px 10px", borderRadius: 4, border: "1px solid #e0514b", background: "transparent", color: "#e0514b" },
  confirm: { display: "flex", gap: 10, alignItems: "center", padding: 8, marginBottom: 10, border: "1px solid #e0514b", borderRadius: 6 },
  notice: { color: "#4caf50" },
  thumbs: { display: "flex", gap: 8, flexWrap: "wrap" },
  figure: { margin: 0, textAlign: "center" },
  thumb: { width: 96, height: 96, objectFit: "cover", borderRadius: 4, border: "2px solid transparent" },
  thumbFirst: { width: 96, height: 96, objectFit: "cover", borderRadius: 4, border: "2px solid #ff6d04" },
  caption: { fontSize: 11, opacity: 0.7 },
  input: { background: "transparent", color: "inherit", border: "1px solid #888", borderRadius: 4, padding: "2px 6px" },
};
