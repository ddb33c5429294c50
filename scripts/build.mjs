// Builds the artefacts: the native k-means kernels (native/build), the Node runtime
// (tsc -> lib/), the default ONNX embedding model (.cache/models) and the App bundle
// (esbuild -> dist/index.umd.js) whose shared libraries resolve to the App's window globals.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { build } from "esbuild";

const APP_GLOBALS = {
  react: "React",
  "react-dom": "ReactDOM",
  recoil: "recoil",
  "@fiftyone/operators": "__foo__",
  "@fiftyone/plugins": "__fop__",
  "@fiftyone/state": "__fos__",
  "@fiftyone/components": "__foc__",
  "@fiftyone/utilities": "__fou__",
  "@fiftyone/spaces": "__fosp__",
  "@mui/material": "__mui__",
};

/** Maps each shared library to the App's global, so no second React or operator registry is bundled. */
const appGlobals = {
  name: "app-globals",
  setup(b) {
    const filter = new RegExp(`^(${Object.keys(APP_GLOBALS).map((k) => k.replace(/[/]/g, "\\/")).join("|")})$`);
    b.onResolve({ filter }, (args) => ({ path: args.path, namespace: "app-global" }));
    b.onLoad({ filter: /.*/, namespace: "app-global" }, (args) => ({
      contents: `module.exports = window[${JSON.stringify(APP_GLOBALS[args.path])}];`,
      loader: "js",
    }));
  },
};

/**
 * The k-means kernels as a Node-API addon, compiled for this CPU with the system's C
 * compiler against the headers of the Node that runs this script (rebuilt when the source
 * is newer).
 */
function buildKernels() {
  const source = "native/kmeansKernels.c";
  const addon = "native/build/kmeansKernels.node";
  if (existsSync(addon) && statSync(addon).mtimeMs >= statSync(source).mtimeMs) return;
  const headers = join(dirname(process.execPath), "..", "include", "node");
  if (!existsSync(join(headers, "node_api.h"))) throw new Error(`Node's C headers are missing (no ${headers}/node_api.h)`);
  mkdirSync("native/build", { recursive: true });
  const cc = process.env.CC || "cc";
  execFileSync(cc, ["-O3", "-march=native", "-ffp-contract=off", "-shared", "-fPIC", "-Wall", "-Werror", `-I${headers}`, "-o", addon, source, "-lpthread", "-lm"], { stdio: "inherit" });
}

const onlyApp = process.argv.includes("--app");
if (!onlyApp) {
  buildKernels();
  execFileSync("npx", ["tsc", "-p", "tsconfig.runtime.json"], { stdio: "inherit" });
  // The default embedding model: nsfwjs's MobileNetV2 converted to ONNX into .cache/models
  // (skipped when the files are newer than the nsfwjs package and the converter).
  execFileSync(process.execPath, ["lib/scripts/convertMobilenet.js"], { stdio: "inherit" });
}
await build({
  entryPoints: ["plugin.tsx"],
  bundle: true,
  format: "iife",
  outfile: "dist/index.umd.js",
  platform: "browser",
  target: "es2020",
  jsx: "transform",
  jsxFactory: "React.createElement",
  jsxFragment: "React.Fragment",
  plugins: [appGlobals],
  minify: true,
  sourcemap: true,
  logLevel: "warning",
});
console.log("built lib/ and dist/index.umd.js");
