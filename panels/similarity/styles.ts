import type { CSSProperties } from "react";
import { styles as shared } from "../duplicates/styles";

export const styles: Record<string, CSSProperties> = {
  ...shared,
  section: { display: "flex", gap: 12, alignItems: "center", marginBottom: 10, flexWrap: "wrap" },
  modeTab: { cursor: "pointer", padding: "4px 12px", borderRadius: 4, border: "1px solid #888", background: "transparent", color: "inherit" },
  modeTabActive: { cursor: "pointer", padding: "4px 12px", borderRadius: 4, border: "1px solid #ff6d04", background: "rgba(255,109,4,0.15)", color: "inherit" },
  primaryButton: { cursor: "pointer", padding: "4px 14px", borderRadius: 4, border: "1px solid #ff6d04", background: "#ff6d04", color: "#fff" },
  input: { padding: "3px 6px", borderRadius: 4, border: "1px solid #888", background: "transparent", color: "inherit" },
  textInput: { padding: "3px 6px", borderRadius: 4, border: "1px solid #888", background: "transparent", color: "inherit", minWidth: 260 },
  numberInput: { padding: "3px 6px", borderRadius: 4, border: "1px solid #888", background: "transparent", color: "inherit", width: 64 },
  reason: { opacity: 0.8, fontStyle: "italic", maxWidth: 640 },
  preview: { width: 48, height: 48, objectFit: "cover", borderRadius: 4 },
  results: { display: "flex", gap: 8, flexWrap: "wrap", alignItems: "flex-start" },
  resultFigure: { margin: 0, textAlign: "center", width: 104 },
  resultCaption: { fontSize: 11, opacity: 0.85, fontVariantNumeric: "tabular-nums" },
};
