// The package as a consumer gets it: `npm pack` (prepack builds dist/), the tarball installed
// into a fresh project, then the CLI, require(), ESM import and runExperiment() from there,
// and `init` in a folder outside any project checked with tsc.
//
// Offline: the consumer's lockfile is made from this repository's (the same versions, its
// production entries only), so `npm ci --offline` takes every dependency from the npm cache,
// which `npm ci` here has just filled. Install scripts are skipped and the addon built here is
// named with AUTORESEARCH_ADDON: compiling it again would take minutes (`npx autoresearch
// rebuild` is what a consumer runs for that).
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { loadAddon, packageRoot } from '../../lib/native/load';

const root = packageRoot();
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  license: string;
  bin: Record<string, string>;
  engines: Record<string, string>;
  dependencies: Record<string, string>;
};
let work: string;
let project: string;
let tarball: string;
let files: string[];
let env: NodeJS.ProcessEnv;

function sh(cmd: string, args: string[], cwd: string, extra: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, env: { ...env, ...extra }, encoding: 'utf8', timeout: 300_000 });
}

function ok(result: SpawnSyncReturns<string>): string {
  if (result.status !== 0) throw new Error(`exit ${result.status}\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-pack-'));
  project = path.join(work, 'consumer');
  fs.mkdirSync(project);
  const addon = loadAddon().binary;
  env = { ...process.env, AUTORESEARCH_ADDON: addon, AUTORESEARCH_CACHE_DIR: path.join(work, 'cache'), npm_config_update_notifier: 'false' };
  delete env.npm_config_build_from_source;

  const packed = JSON.parse(ok(sh('npm', ['pack', '--json', '--pack-destination', work], root))) as { filename: string; files: { path: string }[] }[];
  tarball = path.join(work, packed[0]!.filename);
  files = packed[0]!.files.map((f) => f.path);

  const spec = `file:${tarball}`;
  const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  const packages: Record<string, unknown> = {
    '': { name: 'consumer', version: '1.0.0', dependencies: { [pkg.name]: spec } },
    [`node_modules/${pkg.name}`]: {
      version: pkg.version,
      resolved: spec,
      license: pkg.license,
      hasInstallScript: true,
      dependencies: pkg.dependencies,
      bin: pkg.bin,
      engines: pkg.engines,
    },
  };
  for (const [key, entry] of Object.entries(lock.packages)) if (key.startsWith('node_modules/') && !entry.dev) packages[key] = entry;
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, dependencies: { [pkg.name]: spec } }, null, 2));
  fs.writeFileSync(path.join(project, 'package-lock.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', lockfileVersion: 3, requires: true, packages }, null, 2));
  ok(sh('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], project));
}, 600_000);

afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

test('the tarball holds what a consumer needs and nothing else', () => {
  expect(files).toEqual(expect.arrayContaining(['package.json', 'LICENSE', 'README.md', 'dist/lib/index.js', 'dist/lib/index.d.ts', 'dist/lib/internals.js', 'dist/lib/internals.d.ts', 'dist/bin/autoresearch.js']));
  expect(files).toEqual(expect.arrayContaining(['dist/lib/runner/worker.js', 'scripts/build-addon.js', 'scripts/libtorch.js', 'CMakeLists.txt', 'binding.gyp', 'train/config.ts', 'program.md', 'native/model/gpt.cc']));
  // The test hooks' sources stay out: the package builds the release addon only.
  expect(files.filter((f) => f.startsWith('native/testing/'))).toEqual([]);
  expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
  expect(files.filter((f) => /^(test|bench|\.ci)\/|^scripts\/(setup\.sh|prebuild\.js|prepack\.js)$|^dist\/(test|bench)\//.test(f))).toEqual([]);
  expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual(['train/config.ts']);
  // Every file main, types and bin name is in it.
  for (const f of ['dist/lib/index.js', 'dist/lib/index.d.ts', 'dist/lib/internals.js', 'dist/lib/internals.d.ts', 'dist/bin/autoresearch.js']) expect(fs.existsSync(path.join(project, 'node_modules', pkg.name, f))).toBe(true);
});

test('npx autoresearch --version, -h, and a usage error exit 2', () => {
  expect(ok(sh('npx', ['--no-install', 'autoresearch', '--version'], project)).trim()).toBe(pkg.version);
  expect(ok(sh('npx', ['--no-install', 'autoresearch', '-h'], project))).toMatch(/Exit codes: 0 ok, 1 the experiment crashed, 2 usage/);
  const bad = sh('npx', ['--no-install', 'autoresearch', 'run', '--time-budget', 'abc'], project);
  expect(bad.status).toBe(2);
  expect(bad.stderr).toMatch(/--time-budget abc is not a positive number/);
});

test('require() and ESM import give the API; runExperiment() runs a tiny model with overrides', () => {
  const cjs = ok(sh(process.execPath, ['-e', "const a = require('autoresearch'); console.log(typeof a.runExperiment, typeof a.GPT, typeof a.prepare)"], project));
  expect(cjs.trim()).toBe('function function function');
  // The git plumbing is not in the public API but behind the internals subpath, for require(),
  // import and TypeScript (both its older "node" resolution and node16's "exports").
  const internals = ok(sh(process.execPath, ['-e', "const a = require('autoresearch'); const i = require('autoresearch/internals'); console.log(typeof a.openRepo, typeof i.openRepo)"], project));
  expect(internals.trim()).toBe('undefined function');
  fs.writeFileSync(path.join(project, 'internals.mjs'), "import { openRepo } from 'autoresearch/internals';\nconsole.log(typeof openRepo);\n");
  expect(ok(sh(process.execPath, ['internals.mjs'], project)).trim()).toBe('function');
  fs.writeFileSync(
    path.join(project, 'check.ts'),
    "import { GPT } from 'autoresearch';\nimport { openRepo, type RepoInfo } from 'autoresearch/internals';\nexport const used: [typeof GPT, typeof openRepo, RepoInfo | null] = [GPT, openRepo, null];\n",
  );
  const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
  for (const resolution of [['--module', 'commonjs', '--moduleResolution', 'node'], ['--module', 'node16', '--moduleResolution', 'node16']]) {
    const checked = sh(process.execPath, [tsc, '--noEmit', '--strict', '--skipLibCheck', ...resolution, 'check.ts'], project);
    expect(checked.stdout + checked.stderr).toBe('');
  }
  const dir = path.join(work, 'experiment');
  fs.mkdirSync(path.join(dir, 'train'), { recursive: true });
  fs.copyFileSync(path.join(project, 'node_modules', pkg.name, 'train', 'config.ts'), path.join(dir, 'train', 'config.ts'));
  fs.writeFileSync(
    path.join(project, 'run.mjs'),
    `import { prepare, runExperiment } from 'autoresearch';
const cacheDir = process.env.AUTORESEARCH_CACHE_DIR;
await prepare({ dataset: 'sotu', vocabSize: 512, seqLen: 64, evalTokens: 4096, cacheDir, progress: false, log: () => {} });
const result = await runExperiment({ dir: ${JSON.stringify(dir)}, cacheDir, timeBudget: 2, device: 'cpu',
  overrides: { DEPTH: 1, ASPECT_RATIO: 64, HEAD_DIM: 32, TOTAL_BATCH_SIZE: 1024, DEVICE_BATCH_SIZE: 8 } });
console.log(JSON.stringify({ status: result.status, cause: result.cause, depth: result.summary?.depth, bpb: result.summary?.val_bpb }));
`,
  );
  const out = JSON.parse(ok(sh(process.execPath, ['run.mjs'], project)).trim().split('\n').pop()!) as { status: string; cause: string | null; depth: number; bpb: number };
  expect(out).toMatchObject({ status: 'ok', cause: null, depth: 1 });
  expect(out.bpb).toBeGreaterThan(0.5);
  // The config file itself was not edited.
  expect(fs.readFileSync(path.join(dir, 'train', 'config.ts'), 'utf8')).toMatch(/^ {2}DEPTH: 8,/m);
}, 300_000);

test('npx autoresearch smoke --json ends with a val_bpb and removes its temporary folders', () => {
  const run = sh('npx', ['--no-install', 'autoresearch', 'smoke', '--json', '--device', 'cpu'], project);
  expect(run.status).toBe(0);
  const result = JSON.parse(run.stdout) as { status: string; run: { summary: { depth: number; val_bpb: number } }; cacheDir: string; dir: string; kept: boolean };
  expect(result.status).toBe('ok');
  expect(result.run.summary.depth).toBe(1);
  expect(result.kept).toBe(false);
  expect(fs.existsSync(result.cacheDir)).toBe(false);
  expect(fs.existsSync(result.dir)).toBe(false);
}, 300_000);

test('init in a folder outside any project writes a tsconfig.json with which tsc resolves the config type', () => {
  const outside = path.join(work, 'research');
  const init = sh(path.join(project, 'node_modules', '.bin', 'autoresearch'), ['init', outside, '--quick', '--json'], work);
  expect(init.status).toBe(0);
  const written = (JSON.parse(init.stdout) as { files: string[] }).files;
  expect(written).toContain(path.join(outside, 'tsconfig.json'));
  const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
  const checked = sh(process.execPath, [tsc, '-p', outside], outside);
  expect(checked.stdout + checked.stderr).toBe('');
  expect(checked.status).toBe(0);
  // Without it, the type import does not resolve: the check above can fail.
  fs.rmSync(path.join(outside, 'tsconfig.json'));
  const bare = sh(process.execPath, [tsc, '--noEmit', '--strict', path.join(outside, 'train', 'config.ts')], outside);
  expect(bare.status).not.toBe(0);
  expect(bare.stdout).toMatch(/Cannot find module 'autoresearch'/);
}, 120_000);

test('init inside a project that depends on the package: tsc checks the config as the sandbox runs it', () => {
  const inside = path.join(project, 'research');
  const init = sh(path.join(project, 'node_modules', '.bin', 'autoresearch'), ['init', inside, '--quick', '--json'], project);
  expect(init.status).toBe(0);
  expect((JSON.parse(init.stdout) as { files: string[] }).files).toContain(path.join(inside, 'tsconfig.json'));
  // The type import resolves through the project's node_modules: no path mapping.
  const options = (JSON.parse(fs.readFileSync(path.join(inside, 'tsconfig.json'), 'utf8')) as { compilerOptions: Record<string, unknown> }).compilerOptions;
  expect(options.paths).toBeUndefined();
  const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
  const checked = sh(process.execPath, [tsc, '-p', inside], inside);
  expect(checked.stdout + checked.stderr).toBe('');
  expect(checked.status).toBe(0);
  // Node's globals are not there, as in the sandbox: a config that reaches for them is flagged.
  const config = path.join(inside, 'train', 'config.ts');
  fs.appendFileSync(config, 'export const leak = process.env.HOME;\n');
  const flagged = sh(process.execPath, [tsc, '-p', inside], inside);
  expect(flagged.status).not.toBe(0);
  expect(flagged.stdout).toMatch(/Cannot find name 'process'/);
}, 120_000);
