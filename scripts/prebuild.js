#!/usr/bin/env node
// `npm run prebuild`: builds the addon with node-gyp through prebuildify into
// prebuilds/<platform>-<arch>/ and records what it was built against beside it.
// prebuildify runs `node-gyp rebuild`, which wipes ./build; to keep the cmake-js build
// there intact, node-gyp works in a staging copy of the build inputs.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..');
const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-prebuild-'));
try {
  for (const entry of ['package.json', 'binding.gyp', 'native', 'scripts']) {
    fs.cpSync(path.join(ROOT, entry), path.join(stage, entry), { recursive: true });
  }
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(stage, 'node_modules'), 'dir');
  const bin = require.resolve('prebuildify/bin.js', { paths: [ROOT] });
  const args = [bin, '--napi', '--strip', '--tag-libc', '--cwd', stage, '--out', ROOT];
  // node-gyp compiles one file at a time unless told otherwise.
  const env = { ...process.env, JOBS: process.env.JOBS || String(os.availableParallelism()) };
  const result = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: stage, env });
  if (result.status !== 0) {
    process.stderr.write('autoresearch: prebuildify (node-gyp) failed: see the compiler output above\n');
    process.exit(result.status || 1);
  }
} finally {
  fs.rmSync(stage, { recursive: true, force: true });
}
const { writeBuildInfo } = require('./libtorch');
writeBuildInfo(path.join('prebuilds', `${process.platform}-${process.arch}`));
