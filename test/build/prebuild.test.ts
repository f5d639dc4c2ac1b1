// The node-gyp front-end: `npm run prebuild` (prebuildify) must have produced a prebuild that
// node-gyp-build loads and that trains. Run by `npm run test:prebuild`, after the prebuild.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { packageRoot, readBuildRecord } from '../../lib/native/load';

const root = packageRoot();
const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);

function run(script: string, extra: Record<string, string> = {}): string {
  // Not the test addon (the test-suite's choice): this checks what a user's process loads.
  const env: Record<string, string | undefined> = { ...process.env, ...extra };
  delete env.AUTORESEARCH_TEST_ADDON;
  const out = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', script], { cwd: root, encoding: 'utf8', env });
  if (out.status !== 0) throw new Error(`child failed: ${out.stderr}`);
  return out.stdout.trim();
}

test('prebuildify wrote a binary and its build record', () => {
  const binaries = fs.readdirSync(dir).filter((f) => f.endsWith('.node'));
  expect(binaries.length).toBe(1);
  const record = readBuildRecord(path.join(dir, binaries[0]!));
  expect(record).not.toBeNull();
  expect(record!.platform).toBe(`${process.platform}-${process.arch}`);
});

test("node-gyp-build's own resolution loads the prebuild", () => {
  const out = run(
    `const gyp = require('node-gyp-build'); const file = gyp.path(${JSON.stringify(root)});
     const addon = require(file); console.log(JSON.stringify({ file, info: addon.buildInfo(), testing: 'testing' in addon }));`,
    { PREBUILDS_ONLY: '1' },
  );
  const { file, info, testing } = JSON.parse(out);
  expect(path.dirname(file)).toBe(dir);
  expect(info.libtorchVersion).toMatch(/^\d+\.\d+/);
  // A release binary: the test hooks are only in the test addon, which is never shipped.
  expect(testing).toBe(false);
});

test('the package loader picks the prebuild first and a model trains on it', () => {
  // Make the prebuild the newest binary so that it is tried first.
  const binary = fs.readdirSync(dir).find((f) => f.endsWith('.node'))!;
  const now = new Date();
  fs.utimesSync(path.join(dir, binary), now, now);
  const out = run(`
    const { GPT } = require('./lib');
    const { loadAddon } = require('./lib/native/load');
    const model = GPT.create({ vocabSize: 64, sequenceLen: 16, nLayer: 1, nHead: 1, nKvHead: 1, nEmbd: 32,
      windowPattern: 'L', mlpActivation: 'relu2', mlpRatio: 4, valueEmbeds: true, softcap: 15, rotaryBase: 10000 }, { device: 'cpu' });
    const ids = Int32Array.from({ length: 32 }, (_, i) => i % 64);
    const loss = model.forwardBackward({ inputs: ids, targets: ids, batchSize: 2, seqLen: 16 });
    console.log(JSON.stringify({ binary: loadAddon().binary, loss }));`);
  const { binary: loaded, loss } = JSON.parse(out);
  expect(path.dirname(loaded)).toBe(dir);
  expect(loss).toBeCloseTo(Math.log(64), 1);
});
