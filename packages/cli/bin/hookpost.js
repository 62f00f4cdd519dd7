#!/usr/bin/env node
'use strict';
// The `hookpost` command. A compiled build (dist/index.js) is used when there is one; in a checkout the
// TypeScript source runs through tsx, as the services do (`node --import tsx`).
const { existsSync } = require('node:fs');
const path = require('node:path');

const compiled = path.join(__dirname, '..', 'dist', 'index.js');
let entry;
if (existsSync(compiled)) {
  entry = compiled;
} else {
  require('tsx/cjs');
  entry = path.join(__dirname, '..', 'src', 'index.ts');
}
require(entry)
  .main()
  .then((code) => {
    process.exitCode = code;
  });
