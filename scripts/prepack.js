#!/usr/bin/env node
// `npm pack` / `npm publish` run this first: what ships is built here, from the sources, every
// time (never whatever dist/ a previous build left): dist/ is removed and compiled again
// (no source maps: the TypeScript sources do not ship). A prebuilt addon ships only when
// prebuilds/ holds one with its build record; otherwise consumers compile it at install.
'use strict';

const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..');
fs.rmSync(path.join(ROOT, 'dist'), { recursive: true, force: true });
const tsc = require.resolve('typescript/bin/tsc', { paths: [ROOT] });
const built = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
if (built.status !== 0) {
  process.stderr.write('prepack: the TypeScript build failed: nothing was packed\n');
  process.exit(built.status || 1);
}
fs.chmodSync(path.join(ROOT, 'dist', 'bin', 'autoresearch.js'), 0o755);

const prebuilds = path.join(ROOT, 'prebuilds');
const flavours = fs.existsSync(prebuilds) ? fs.readdirSync(prebuilds) : [];
const shipped = [];
for (const flavour of flavours) {
  const dir = path.join(prebuilds, flavour);
  const binaries = fs.readdirSync(dir).filter((f) => f.endsWith('.node'));
  if (binaries.length === 0) continue;
  if (!fs.existsSync(path.join(dir, 'autoresearch.build.json'))) {
    process.stderr.write(`prepack: ${dir} has no autoresearch.build.json: rebuild it with \`npm run prebuild\` or remove it\n`);
    process.exit(1);
  }
  const record = JSON.parse(fs.readFileSync(path.join(dir, 'autoresearch.build.json'), 'utf8'));
  shipped.push(`${flavour} (libtorch ${record.libtorchVersion} ${record.cuda ? 'CUDA' : 'CPU'} in ${record.libDir})`);
}
process.stderr.write(
  shipped.length > 0
    ? `prepack: shipping the prebuilt addon for ${shipped.join(', ')}\n`
    : 'prepack: no prebuilt addon in prebuilds/ (`npm run prebuild` makes one): installs will compile the addon from source\n',
);
