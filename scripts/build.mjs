// Builds the artefacts: the Node runtime (tsc -> lib/), the default ONNX embedding model
// (.cache/models) and the App bundle
// (esbuild -> dist/index.umd.js) whose shared libraries resolve to the App's window globals.
import { execFileSync } from "node:child_process";
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

const onlyApp = process.argv.includes("--app");
if (!onlyApp) {
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
