#!/usr/bin/env node
require("../lib/src/cli/main.js")
  .runCli(process.argv.slice(2))
  .then((code) => process.exit(code));
