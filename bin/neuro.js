#!/usr/bin/env node
// Runs the TypeScript sources directly (tsx), so `npx neuro` works right after `npm ci`.
// On a system Node older than package.json's engines it re-executes itself under the pinned Node
// LTS that npm installed (optional dependency node-<os>-<cpu>), as npm scripts already do.
const { spawn } = require('node:child_process');

const minMajor = Number(/\d+/.exec(require('../package.json').engines.node)[0]);

function pinnedNode() {
  try {
    return require.resolve(`node-${process.platform}-${process.arch}/bin/node`);
  } catch {
    return undefined;
  }
}

const pinned = Number(process.versions.node.split('.')[0]) < minMajor ? pinnedNode() : undefined;
if (pinned) {
  const child = spawn(pinned, [...process.execArgv, __filename, ...process.argv.slice(2)], { stdio: 'inherit' });
  // Ctrl-C reaches the child from the terminal (same process group); other signals are passed on.
  process.on('SIGINT', () => undefined);
  for (const sig of ['SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => {
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
} else {
  if (Number(process.versions.node.split('.')[0]) < minMajor) {
    console.error(`neuro: Node ${process.version} is older than the supported LTS (${require('../package.json').engines.node}) and no pinned Node is installed for ${process.platform}-${process.arch}; run \`npm install\` or install Node ${minMajor}`);
  }
  require('tsx/cjs');
  require('../src/client/cli.ts').main();
}
