// Real git repositories on disk for the loop tests, made and inspected with the git CLI, which
// is the independent judge of what isomorphic-git wrote. The CLI runs without the machine's
// global and system config, so a developer's ~/.gitconfig cannot change the outcome.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const GIT_ENV = {
  ...process.env,
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Test Human',
  GIT_AUTHOR_EMAIL: 'human@example.com',
  GIT_COMMITTER_NAME: 'Test Human',
  GIT_COMMITTER_EMAIL: 'human@example.com',
  LC_ALL: 'C',
};

/** Runs git in `dir`; throws with git's stderr on a non-zero exit. */
export function gitCli(dir: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: dir, env: GIT_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs git in `dir` and returns its exit status and output without throwing. */
export function gitCliStatus(dir: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const out = spawnSync('git', args, { cwd: dir, env: GIT_ENV, encoding: 'utf8' });
  return { status: out.status, stdout: out.stdout, stderr: out.stderr };
}

/** The first config the fixture repository commits. */
export const CONFIG_V1 = [
  '// training config',
  'const DEPTH = 4;',
  'const ASPECT_RATIO = 64;',
  'const HEAD_DIM = 128;',
  'const WINDOW_PATTERN = "SSSL";',
  'const MATRIX_LR = 0.04;',
  'const EMBEDDING_LR = 0.6;',
  'const WEIGHT_DECAY = 0.2;',
  'const WARMDOWN_RATIO = 0.5;',
  'const SEED = 42;',
  'export default { DEPTH, ASPECT_RATIO, HEAD_DIM, WINDOW_PATTERN, MATRIX_LR, EMBEDDING_LR, WEIGHT_DECAY, WARMDOWN_RATIO, SEED };',
  '',
].join('\n');

export interface FixtureRepo {
  dir: string;
  /** The sha of the first commit (made with the git CLI). */
  first: string;
  cleanup(): void;
}

/**
 * A temp repository with program.md, train/config.ts and README.md committed by the git CLI on
 * branch `main`. With `user: false` the repository's config names no user (the CLI commit gets
 * its author from the environment), so isomorphic-git falls back to its default author.
 */
export function makeRepo(options: { user?: boolean; files?: Record<string, string> } = {}): FixtureRepo {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-git-'));
  gitCli(dir, 'init', '-q', '-b', 'main');
  if (options.user !== false) {
    gitCli(dir, 'config', 'user.name', 'Repo User');
    gitCli(dir, 'config', 'user.email', 'repo@example.com');
  }
  const files: Record<string, string> = {
    'program.md': '# Research directives\nLower val_bpb.\n',
    'train/config.ts': CONFIG_V1,
    'README.md': 'A research repository.\n',
    ...options.files,
  };
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
  gitCli(dir, 'add', '-A');
  gitCli(dir, 'commit', '-q', '-m', 'research setup');
  const first = gitCli(dir, 'rev-parse', 'HEAD').trim();
  return { dir, first, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Writes a file under the repository (creating folders). */
export function writeFile(dir: string, name: string, content: string): void {
  fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
  fs.writeFileSync(path.join(dir, name), content);
}

/** Replaces the first occurrence of `from` in a repository file. */
export function editFile(dir: string, name: string, from: string, to: string): void {
  const file = path.join(dir, name);
  const text = fs.readFileSync(file, 'utf8');
  if (!text.includes(from)) throw new Error(`${name} does not contain ${from}`);
  fs.writeFileSync(file, text.replace(from, to));
}
