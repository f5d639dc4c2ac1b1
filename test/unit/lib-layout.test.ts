// The layout of lib/: one folder per subsystem, imports only downward, no cycles. Reads every
// lib/**/*.ts, resolves its relative imports (type-only ones too: they are dependencies a
// reader follows) and names the file and the import that breaks a rule.
import fs from 'node:fs';
import path from 'node:path';

const LIB = path.join(__dirname, '../../lib');

/**
 * The layers, top to bottom: a module may import from its own layer's folder and from any
 * layer below it. `setup` sits above `loop` because `init` and `smoke` write configs with the
 * knob editor the agents use; `config` is the knob table and what it derives.
 */
const LAYERS = ['cli', 'dashboard', 'setup', 'loop', 'runner', 'model', 'data', 'config', 'native', 'root'] as const;
type Layer = (typeof LAYERS)[number];

/** Files allowed at the root of lib/, by layer: the entry points and the leaves every layer uses. */
const ROOT_FILES: Record<string, Layer | 'entry'> = {
  'index.ts': 'entry',
  'internals.ts': 'entry',
  'errors.ts': 'root',
  'env.ts': 'root',
  'progress.ts': 'root',
  'random.ts': 'root',
  'atomic-file.ts': 'root',
};

function listTs(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return listTs(full);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [full] : [];
  });
}

const rel = (file: string) => path.relative(LIB, file).split(path.sep).join('/');

function layerOf(file: string): Layer | 'entry' | undefined {
  const parts = rel(file).split('/');
  if (parts.length === 1) return ROOT_FILES[parts[0]!];
  return (LAYERS as readonly string[]).includes(parts[0]!) && parts[0] !== 'root' ? (parts[0] as Layer) : undefined;
}

/** The relative imports of a file (import/export from, import(), require()), resolved to files. */
function importsOf(file: string): { spec: string; target: string }[] {
  const text = fs.readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\brequire\s*\(\s*|^import\s+)'(\.[^']*)'/gm)].map((m) => m[1]!);
  return [...new Set(specs)].map((spec) => {
    const base = path.resolve(path.dirname(file), spec);
    const target = [`${base}.ts`, path.join(base, 'index.ts'), base].find((f) => fs.existsSync(f) && fs.statSync(f).isFile());
    if (!target) throw new Error(`${rel(file)}: cannot resolve import '${spec}'`);
    return { spec, target };
  });
}

const files = listTs(LIB);
const graph = new Map(files.map((f) => [f, importsOf(f)]));

test('every file of lib/ is in a layer folder, or one of the few root files', () => {
  const stray = files.filter((f) => layerOf(f) === undefined).map(rel);
  expect(stray).toEqual([]);
});

test('imports go only downward (or within a folder)', () => {
  const bad: string[] = [];
  for (const [file, imports] of graph) {
    const from = layerOf(file);
    if (from === undefined || from === 'entry') continue;
    for (const { spec, target } of imports) {
      const to = layerOf(target);
      if (to === 'entry') {
        bad.push(`${rel(file)} imports '${spec}': an entry point`);
      } else if (to !== undefined && LAYERS.indexOf(to) < LAYERS.indexOf(from)) {
        bad.push(`${rel(file)} (${from}) imports '${spec}' (${to}), a layer above it`);
      }
    }
  }
  expect(bad).toEqual([]);
});

test('no import cycles', () => {
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    stack.push(file);
    for (const { target } of graph.get(file) ?? []) {
      if (state.get(target) === 'open') {
        cycles.push([...stack.slice(stack.indexOf(target)), target].map(rel).join(' -> '));
      } else if (!state.has(target)) {
        visit(target);
      }
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of files) if (!state.has(file)) visit(file);
  expect(cycles).toEqual([]);
});
