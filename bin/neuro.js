#!/usr/bin/env node
// Runs the TypeScript sources directly (tsx), so `npx neuro` works right after `npm ci`.
require('tsx/cjs');
require('../src/client/cli.ts').main();
