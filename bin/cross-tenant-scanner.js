#!/usr/bin/env node
require("../dist/src/cli/main.js").run(process.argv.slice(2));
