#!/usr/bin/env node
// Builds the native addon inside this package, where it is installed: the install fallback
// (`npm install` with no usable prebuild, or npm_config_build_from_source) and
// `npx autoresearch rebuild` both come here. It builds with every core, says what it is doing
// and why it takes minutes, and writes the build record (autoresearch.build.json) that the
// loader checks.
//
// cmake-js (a dependency; Node-API headers from the node-api-headers package, so no download)
// when `cmake` is on the PATH, else node-gyp (binding.gyp) with JOBS set.
//
// Usage: node scripts/build-addon.js [--install]
//   --install  the install hook: do nothing when a prebuild or a local build loads-to-be is
//              present (unless npm_config_build_from_source asks for a build)
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn, spawnSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..');

function cores() {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

/** Make jobs: JOBS when it is a positive integer, else every core. */
function jobs() {
  const n = Number(process.env.JOBS);
  return Number.isInteger(n) && n > 0 ? n : cores();
}

function buildFromSourceRequested() {
  const v = process.env.npm_config_build_from_source;
  return v === 'true' || v === 'autoresearch';
}

/** A binary node-gyp-build would pick (a matching prebuild, or build/Release), or null. */
function existingBinary() {
  try {
    return require('node-gyp-build').path(ROOT);
  } catch {
    return null;
  }
}

/** Says something even where npm hides install-script output: also on the terminal when there is one. */
function announce(text, { install }) {
  process.stderr.write(text + '\n');
  if (!install) return;
  try {
    const fd = fs.openSync('/dev/tty', 'w');
    fs.writeSync(fd, text + '\n');
    fs.closeSync(fd);
  } catch {
    // no terminal (CI): npm prints the output above if the build fails
  }
}

function hasCmake() {
  const r = spawnSync('cmake', ['--version'], { stdio: 'ignore' });
  return r.status === 0;
}

/** node-gyp: npm's own (npm_config_node_gyp during npm scripts), else one next to this node. */
function nodeGypScript() {
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js', { paths: [ROOT] }));
  } catch {
    // not installed as a package
  }
  return candidates.find((c) => c && fs.existsSync(c)) || null;
}

function run(command, args, env) {
  return new Promise((resolve) => {
    // The compiler's output is progress: stderr, so stdout stays free for a report.
    const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 2, 2], env });
    child.on('error', (err) => resolve({ code: 1, error: err }));
    child.on('exit', (code, signal) => resolve({ code: code === null ? 1 : code, signal }));
  });
}

/**
 * Builds the addon into build/Release and writes its build record. Resolves with
 * { ok, seconds, binary, record, message }; never throws.
 */
async function buildAddon({ install = false } = {}) {
  const started = Date.now();
  const n = jobs();
  // libtorch first: its absence is the common failure, and the message names the fix.
  const probe = spawnSync(process.execPath, [path.join(__dirname, 'libtorch.js'), 'info'], { cwd: ROOT, encoding: 'utf8' });
  if (probe.status !== 0) {
    return {
      ok: false,
      seconds: 0,
      message:
        `libtorch was not found, so the addon cannot be built:\n${(probe.stderr || probe.stdout || '').trim()}\n` +
        'Install it (Debian/Ubuntu: sudo apt-get install libtorch-dev libopenblas0-openmp libpcre2-dev cmake g++), ' +
        'or point Torch_DIR at a libtorch, then run: npx autoresearch rebuild',
    };
  }
  const info = JSON.parse(probe.stdout);
  const useCmake = hasCmake();
  const gyp = useCmake ? null : nodeGypScript();
  if (!useCmake && !gyp) {
    return { ok: false, seconds: 0, message: 'neither cmake nor node-gyp was found: install cmake (sudo apt-get install cmake g++), then run: npx autoresearch rebuild' };
  }
  announce(
    `autoresearch: compiling the native addon against libtorch ${info.version} (${info.cuda ? 'CUDA' : 'CPU'}, ${info.libDir}) ` +
      `with ${n} parallel job${n === 1 ? '' : 's'} using ${useCmake ? 'cmake-js' : 'node-gyp'}. ` +
      `The libtorch headers are large: this takes several minutes (about ${Math.max(1, Math.round(8 / n))}-${Math.max(2, Math.round(16 / n))} min on ${n} core${n === 1 ? '' : 's'}).`,
    { install },
  );
  const env = { ...process.env, JOBS: String(n), CMAKE_BUILD_PARALLEL_LEVEL: String(n) };
  const result = useCmake
    ? // The release addon only: the test addon (native/testing/) is for the project's own tests.
      await run(process.execPath, [require.resolve('cmake-js/bin/cmake-js', { paths: [ROOT] }), 'rebuild', '--parallel', String(n), '--target', 'autoresearch'], env)
    : await run(process.execPath, [gyp, 'rebuild', '--jobs', String(n)], env);
  const seconds = (Date.now() - started) / 1000;
  if (result.code !== 0) {
    return { ok: false, seconds, message: `the compiler failed after ${seconds.toFixed(0)} s (exit ${result.code}${result.signal ? `, ${result.signal}` : ''}): see its output above` };
  }
  const out = path.join(ROOT, 'build', 'Release');
  require('./libtorch').writeBuildInfo(out);
  const recordFile = path.join(out, 'autoresearch.build.json');
  return {
    ok: true,
    seconds,
    binary: path.join(out, 'autoresearch.node'),
    record: JSON.parse(fs.readFileSync(recordFile, 'utf8')),
    message: `autoresearch: built ${path.join(out, 'autoresearch.node')} in ${seconds.toFixed(0)} s; build record ${recordFile}`,
  };
}

module.exports = { buildAddon, jobs, existingBinary };

if (require.main === module) {
  const install = process.argv.includes('--install');
  if (install && !buildFromSourceRequested() && existingBinary()) process.exit(0);
  if (install) {
    announce(
      `autoresearch: no prebuilt addon for ${process.platform}-${process.arch} (Node-API) in this package` +
        (buildFromSourceRequested() ? ' is used (npm_config_build_from_source)' : '') +
        ': building it from source.',
      { install },
    );
  }
  buildAddon({ install }).then((r) => {
    announce(r.ok ? r.message : `autoresearch: ${r.message}`, { install });
    process.exit(r.ok ? 0 : 2);
  });
}
