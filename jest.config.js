// Three suites: unit (pure, fast), integration (FiftyOne's real database and Python),
// browser (the real App in Debian's Chromium). `npm test` runs them all.
const transform = { "^.+\\.(t|j)sx?$": ["@swc/jest", { jsc: { parser: { syntax: "typescript", tsx: true }, transform: { react: { runtime: "classic" } } } }] };
const common = {
  transform,
  // Node's environment with main-realm typed arrays, which onnxruntime-node requires (see the file).
  testEnvironment: "<rootDir>/test/support/nodeEnvironment.js",
  moduleFileExtensions: ["ts", "tsx", "js", "json"],
  // uuid 14 (under the Milvus client) ships only ES modules, which Jest's CommonJS runtime cannot require untransformed.
  transformIgnorePatterns: ["/node_modules/(?!uuid/)"],
  modulePathIgnorePatterns: ["<rootDir>/.venv", "<rootDir>/lib", "<rootDir>/dist", "<rootDir>/test-artifacts"],
};
module.exports = {
  projects: [
    {
      ...common,
      displayName: "unit",
      testMatch: ["<rootDir>/test/unit/**/*.test.ts?(x)"],
    },
    {
      ...common,
      displayName: "integration",
      testMatch: ["<rootDir>/test/integration/**/*.test.ts"],
      globalSetup: "<rootDir>/test/support/globalSetup.ts",
      globalTeardown: "<rootDir>/test/support/globalTeardown.ts",
    },
    {
      ...common,
      displayName: "browser",
      testMatch: ["<rootDir>/test/browser/**/*.test.ts"],
      globalSetup: "<rootDir>/test/support/globalSetup.ts",
      globalTeardown: "<rootDir>/test/support/globalTeardown.ts",
    },
  ],
};
