// Shared fixtures of the agent tests: a temporary repository holding a copy of train/config.ts,
// and contexts built around it.
import { promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AgentContext, ResultRow } from '../lib/loop/agents/types';

/** The repository's train/config.ts, as the agent tests start from it. */
export const CONFIG_SOURCE = readFileSync(path.join(__dirname, '..', 'train', 'config.ts'), 'utf8');

export const PROGRAM = '# Directives\n\nLower val_bpb. Only change train/config.ts.\n';

export interface TempRepo {
  dir: string;
  configPath: string;
  remove: () => Promise<void>;
}

/** A temporary directory with train/config.ts (and program.md) in it. */
export async function tempRepo(source = CONFIG_SOURCE): Promise<TempRepo> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'autoresearch-agents-'));
  await fs.mkdir(path.join(dir, 'train'));
  const configPath = path.join(dir, 'train', 'config.ts');
  await fs.writeFile(configPath, source);
  await fs.writeFile(path.join(dir, 'program.md'), PROGRAM);
  return { dir, configPath, remove: () => fs.rm(dir, { recursive: true, force: true }) };
}

export function row(number: number, status: ResultRow['status'], val_bpb: number, description: string): ResultRow {
  return {
    number,
    commit: (0xabc0000 + number).toString(16).slice(0, 7),
    val_bpb: status === 'crash' ? 0 : val_bpb,
    memory_gb: status === 'crash' ? 0 : 1.5,
    status,
    description,
  };
}

/** A context for a repository; results default to a baseline and one discarded change. */
export function contextFor(repo: TempRepo, overrides: Partial<AgentContext> = {}): AgentContext {
  const results = overrides.results ?? [row(1, 'keep', 1.234567, 'baseline'), row(2, 'discard', 1.25, 'MATRIX_LR 0.04 -> 0.028')];
  const best = overrides.best !== undefined ? overrides.best : ([...results].filter((r) => r.status === 'keep').sort((a, b) => a.val_bpb - b.val_bpb)[0] ?? null);
  return {
    repoDir: repo.dir,
    configPath: repo.configPath,
    program: PROGRAM,
    configSource: readFileSync(repo.configPath, 'utf8'),
    crashLog: null,
    history: [],
    ...overrides,
    results,
    best,
  };
}
