// The public API (lib/index.ts) is small, documented and deliberate: its names are listed here,
// each has a doc comment a reader sees on hover, and none is repeated by the internals entry.
import path from 'node:path';

import ts from 'typescript';

const LIB = path.join(__dirname, '../../lib');

const PUBLIC = [
  // the model, its optimizer, the scorer of batches
  'GPT', 'GPTOptions', 'Optimizer', 'OptimizerConfig', 'StepSettings', 'modelConfigFromDepth', 'MlpActivation', 'ModelConfig', 'ModelSizing', 'TokenBatch',
  'evaluateBpb', 'BpbResult',
  // data
  'prepare', 'PrepareOptions', 'PrepareResult', 'PreparedMeta', 'Tokenizer', 'DataLoader', 'DataLoaderOptions', 'LoaderBatch', 'TokenDtype',
  // experiments and the loop
  'ExperimentConfig', 'runExperiment', 'RunOptions', 'ExperimentResult', 'ExperimentSummary', 'researchLoop', 'LoopOptions', 'LoopOutcome',
  'readResults', 'ResultRow', 'ResultStatus',
  // errors
  'AddonLoadError', 'AgentError', 'BranchExistsError', 'CheckpointError', 'ConfigError', 'DataIntegrityError', 'DisposedError', 'DownloadError',
  'GitRepoError', 'LockHeldError', 'MissingDataError', 'ResultsError', 'TokenizerError',
];

const program = ts.createProgram([path.join(LIB, 'index.ts'), path.join(LIB, 'internals.ts')], {
  strict: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.CommonJS,
  lib: ['lib.es2022.d.ts', 'lib.esnext.disposable.d.ts'],
  types: ['node'],
  skipLibCheck: true,
});
const checker = program.getTypeChecker();

function exportsOf(file: string): Map<string, ts.Symbol> {
  const module = checker.getSymbolAtLocation(program.getSourceFile(path.join(LIB, file))!)!;
  return new Map(checker.getExportsOfModule(module).map((s) => [s.name, s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s]));
}

const publicApi = exportsOf('index.ts');

test('lib/index.ts exports exactly the public names', () => {
  expect([...publicApi.keys()].sort()).toEqual([...PUBLIC].sort());
});

test('every public name has a doc comment', () => {
  const undocumented = [...publicApi].filter(([, s]) => ts.displayPartsToString(s.getDocumentationComment(checker)).trim() === '').map(([name]) => name);
  expect(undocumented).toEqual([]);
});

test('the internals entry does not repeat a public name', () => {
  expect([...exportsOf('internals.ts').keys()].filter((name) => publicApi.has(name))).toEqual([]);
});
