// The git ratchet on real repositories: made with the git CLI, changed through lib/loop/git.ts
// (isomorphic-git), and checked back with the git CLI (status, log, fsck, show-ref, diff).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { BranchExistsError, ConfigError, GitRepoError } from '../../lib/errors';
import {
  changedFiles,
  checkedOutTag,
  commitFiles,
  createBranch,
  currentBranch,
  defaultTag,
  diffOf,
  fileAt,
  headSha,
  keepRef,
  keptRefs,
  openRepo,
  parentOf,
  resetHard,
  revertExcept,
} from '../../lib/loop/git';
import { unifiedDiff } from '../../lib/loop/diff';
import { CONFIG_V1, editFile, gitCli, gitCliStatus, makeRepo, writeFile, type FixtureRepo } from '../git-fixtures';

let repo: FixtureRepo;
afterEach(() => repo?.cleanup());

function porcelain(dir: string): string {
  return gitCli(dir, 'status', '--porcelain', '--untracked-files=all');
}

function allFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (sub: string) => {
    for (const entry of fs.readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      const rel = path.posix.join(sub, entry.name);
      if (entry.isDirectory()) walk(rel);
      else out.push(rel);
    }
  };
  walk('.');
  return out;
}

describe('openRepo', () => {
  test('accepts a repository with program.md and train/config.ts committed, from a subfolder too', async () => {
    repo = makeRepo();
    const info = await openRepo(path.join(repo.dir, 'train'));
    expect(info).toEqual({ dir: fs.realpathSync(repo.dir), head: repo.first, branch: 'main', research: fs.realpathSync(repo.dir), prefix: '' });
  });

  test('refuses a folder outside any repository', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-nogit-'));
    repo = { dir, first: '', cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
    await expect(openRepo(dir)).rejects.toThrow(GitRepoError);
    await expect(openRepo(dir)).rejects.toThrow(/not inside a git repository.*git init/);
  });

  test('refuses a repository without commits, and one that does not track program.md', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-empty-'));
    repo = { dir, first: '', cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
    gitCli(dir, 'init', '-q', '-b', 'main');
    await expect(openRepo(dir)).rejects.toThrow(/no commit yet/);

    writeFile(dir, 'train/config.ts', CONFIG_V1);
    writeFile(dir, 'program.md', '# directives\n');
    gitCli(dir, 'add', 'train/config.ts');
    gitCli(dir, 'commit', '-q', '-m', 'config only');
    const error = await openRepo(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitRepoError);
    expect((error as Error).message).toMatch(/program\.md is not tracked at HEAD.*git add program\.md/);
  });

  test('refuses a linked worktree, which isomorphic-git cannot follow', async () => {
    repo = makeRepo();
    const worktree = path.join(repo.dir, 'wt');
    gitCli(repo.dir, 'worktree', 'add', '-q', worktree, '-b', 'other');
    await expect(openRepo(worktree)).rejects.toThrow(/linked worktree.*git clone/);
  });
});

describe('branches', () => {
  test('defaultTag is the lowercase month and the day', () => {
    expect(defaultTag(new Date(2024, 10, 22))).toBe('nov22');
    expect(defaultTag(new Date(2025, 2, 5))).toBe('mar5');
  });

  test('createBranch makes autoresearch/<tag> at HEAD, refuses it a second time, resumes it on request', async () => {
    repo = makeRepo();
    const made = await createBranch(repo.dir, 'nov22');
    expect(made).toEqual({ branch: 'autoresearch/nov22', created: true, head: repo.first });
    expect(gitCli(repo.dir, 'rev-parse', '--abbrev-ref', 'HEAD').trim()).toBe('autoresearch/nov22');
    expect(gitCli(repo.dir, 'rev-parse', 'autoresearch/nov22').trim()).toBe(repo.first);

    await expect(createBranch(repo.dir, 'nov22')).rejects.toThrow(BranchExistsError);
    await expect(createBranch(repo.dir, 'nov22')).rejects.toThrow(/already exists.*--resume/);

    // Move on the branch, go back to main with the CLI, then resume.
    editFile(repo.dir, 'train/config.ts', 'DEPTH = 4', 'DEPTH = 6');
    const sha = await commitFiles(repo.dir, ['train/config.ts'], 'depth 6');
    await keepRef(repo.dir, 'nov22', 0, sha); // refs/autoresearch/nov22/ exists when resuming
    gitCli(repo.dir, 'checkout', '-q', 'main');
    expect(fs.readFileSync(path.join(repo.dir, 'train/config.ts'), 'utf8')).toBe(CONFIG_V1);
    const resumed = await createBranch(repo.dir, 'nov22', { resume: true });
    expect(resumed).toEqual({ branch: 'autoresearch/nov22', created: false, head: sha });
    expect(await currentBranch(repo.dir)).toBe('autoresearch/nov22');
    expect(gitCli(repo.dir, 'symbolic-ref', 'HEAD').trim()).toBe('refs/heads/autoresearch/nov22');
    expect(fs.readFileSync(path.join(repo.dir, 'train/config.ts'), 'utf8')).toContain('DEPTH = 6');
    expect(porcelain(repo.dir)).toBe('');
    expect(gitCliStatus(repo.dir, 'fsck', '--full').status).toBe(0);
  });

  test('checkedOutTag: the tag of the run branch checked out, from the repository or a folder in it', async () => {
    repo = makeRepo({ files: { 'exp/program.md': '# exp\n' } });
    expect(await checkedOutTag(repo.dir)).toBeNull(); // main
    gitCli(repo.dir, 'checkout', '-q', '-b', 'autoresearch/mar5');
    expect(await checkedOutTag(repo.dir)).toBe('mar5');
    expect(await checkedOutTag(path.join(repo.dir, 'exp'))).toBe('mar5');
    gitCli(repo.dir, 'checkout', '-q', '--detach');
    expect(await checkedOutTag(repo.dir)).toBeNull();
    const bare = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-nogit-'));
    try {
      expect(await checkedOutTag(bare)).toBeNull();
    } finally {
      fs.rmSync(bare, { recursive: true, force: true });
    }
  });

  test('a tag that cannot be part of a branch name is refused', async () => {
    repo = makeRepo();
    await expect(createBranch(repo.dir, 'nov 22')).rejects.toThrow(ConfigError);
    await expect(createBranch(repo.dir, '../x')).rejects.toThrow(ConfigError);
  });
});

describe('changedFiles and revertExcept', () => {
  test('changedFiles lists modified, deleted, staged and untracked files, not ignored ones or the loop files', async () => {
    repo = makeRepo({ files: { '.gitignore': 'data/\n' } });
    editFile(repo.dir, 'README.md', 'A research', 'An edited research');
    fs.rmSync(path.join(repo.dir, 'program.md'));
    writeFile(repo.dir, 'notes/stray.txt', 'stray\n');
    writeFile(repo.dir, 'staged.txt', 'staged\n');
    gitCli(repo.dir, 'add', 'staged.txt');
    writeFile(repo.dir, 'data/shard.bin', 'ignored\n');
    writeFile(repo.dir, 'results.tsv', 'commit\n');
    writeFile(repo.dir, 'run.log', 'log\n');
    writeFile(repo.dir, '.autoresearch/loop.lock', '{}');
    expect(await changedFiles(repo.dir)).toEqual(['README.md', 'notes/stray.txt', 'program.md', 'staged.txt']);
  });

  test('revertExcept restores modified and deleted files, removes new ones, keeps the allowed file', async () => {
    repo = makeRepo({ files: { 'scripts/run.sh': '#!/bin/sh\necho hi\n' } });
    gitCli(repo.dir, 'update-index', '--chmod=+x', 'scripts/run.sh');
    gitCli(repo.dir, 'commit', '-q', '-m', 'executable');
    fs.chmodSync(path.join(repo.dir, 'scripts/run.sh'), 0o755);
    expect(porcelain(repo.dir)).toBe('');

    editFile(repo.dir, 'train/config.ts', 'MATRIX_LR = 0.04', 'MATRIX_LR = 0.05'); // allowed
    editFile(repo.dir, 'README.md', 'A research', 'A hacked research');
    fs.rmSync(path.join(repo.dir, 'program.md'));
    writeFile(repo.dir, 'notes/deep/stray.txt', 'stray\n');
    writeFile(repo.dir, 'scripts/run.sh', '#!/bin/sh\necho changed\n');
    writeFile(repo.dir, 'staged.txt', 'staged\n');
    gitCli(repo.dir, 'add', 'staged.txt');

    const reverted = await revertExcept(repo.dir);
    expect(reverted).toEqual(['README.md', 'notes/deep/stray.txt', 'program.md', 'scripts/run.sh', 'staged.txt']);
    expect(porcelain(repo.dir)).toBe(' M train/config.ts\n');
    expect(fs.existsSync(path.join(repo.dir, 'notes'))).toBe(false);
    expect(fs.existsSync(path.join(repo.dir, 'staged.txt'))).toBe(false);
    expect(fs.readFileSync(path.join(repo.dir, 'README.md'), 'utf8')).toBe('A research repository.\n');
    expect(fs.readFileSync(path.join(repo.dir, 'program.md'), 'utf8')).toBe('# Research directives\nLower val_bpb.\n');
    expect(fs.statSync(path.join(repo.dir, 'scripts/run.sh')).mode & 0o111).not.toBe(0);
    expect(fs.readFileSync(path.join(repo.dir, 'train/config.ts'), 'utf8')).toContain('MATRIX_LR = 0.05');
    expect(await changedFiles(repo.dir)).toEqual(['train/config.ts']);
  });

  test('revertExcept leaves results, run.log and the lock alone', async () => {
    repo = makeRepo();
    writeFile(repo.dir, 'results.tsv', 'rows\n');
    writeFile(repo.dir, 'results.jsonl', '{}\n');
    writeFile(repo.dir, 'run.log', 'log\n');
    writeFile(repo.dir, '.autoresearch/loop.lock', '{}');
    expect(await revertExcept(repo.dir)).toEqual([]);
    for (const f of ['results.tsv', 'results.jsonl', 'run.log', '.autoresearch/loop.lock']) {
      expect(fs.existsSync(path.join(repo.dir, f))).toBe(true);
    }
  });
});

describe('commits, resets and experiment refs', () => {
  test('a keep, a discard and a crash leave only the kept commit on the branch, every experiment under refs/autoresearch', async () => {
    repo = makeRepo();
    await createBranch(repo.dir, 'nov22');
    const base = await headSha(repo.dir);

    // Experiment 1: kept.
    editFile(repo.dir, 'train/config.ts', 'MATRIX_LR = 0.04', 'MATRIX_LR = 0.05');
    const kept = await commitFiles(repo.dir, ['train/config.ts'], 'matrix lr 0.05');
    await keepRef(repo.dir, 'nov22', 1, kept);
    expect(await headSha(repo.dir)).toBe(kept);
    expect(await parentOf(repo.dir, kept)).toBe(base);

    // Experiment 2: discarded; it also added a file in a new folder.
    editFile(repo.dir, 'train/config.ts', 'DEPTH = 4', 'DEPTH = 8');
    writeFile(repo.dir, 'train/extra/helper.ts', 'export const x = 1;\n');
    const discarded = await commitFiles(repo.dir, ['train/config.ts', 'train/extra/helper.ts'], 'depth 8');
    await keepRef(repo.dir, 'nov22', 2, discarded);
    await resetHard(repo.dir, kept);
    expect(fs.existsSync(path.join(repo.dir, 'train/extra'))).toBe(false);
    // Still on the branch (refs/autoresearch/nov22/ must not be mistaken for it).
    expect(gitCli(repo.dir, 'symbolic-ref', 'HEAD').trim()).toBe('refs/heads/autoresearch/nov22');

    // Experiment 3: crashed, and the run left the config edited in the working tree too.
    editFile(repo.dir, 'train/config.ts', 'SEED = 42', 'SEED = 7');
    const crashed = await commitFiles(repo.dir, ['train/config.ts'], 'seed 7');
    await keepRef(repo.dir, 'nov22', 3, crashed);
    editFile(repo.dir, 'train/config.ts', 'HEAD_DIM = 128', 'HEAD_DIM = 64');
    await resetHard(repo.dir, kept);

    expect(await headSha(repo.dir)).toBe(kept);
    expect(porcelain(repo.dir)).toBe('');
    expect(gitCli(repo.dir, 'log', '--format=%H %s').trim().split('\n')).toEqual([`${kept} matrix lr 0.05`, `${repo.first} research setup`]);
    expect(fs.readFileSync(path.join(repo.dir, 'train/config.ts'), 'utf8')).toBe(CONFIG_V1.replace('MATRIX_LR = 0.04', 'MATRIX_LR = 0.05'));
    // The index matches HEAD exactly (git diff --cached is empty, and so is git diff).
    expect(gitCli(repo.dir, 'diff', '--cached', '--stat')).toBe('');
    expect(gitCli(repo.dir, 'diff', '--stat')).toBe('');

    const fsck = gitCliStatus(repo.dir, 'fsck', '--full', '--strict');
    expect(fsck.status).toBe(0);
    expect(fsck.stdout + fsck.stderr).not.toMatch(/error|dangling|missing|broken/);

    const refs = gitCli(repo.dir, 'show-ref').trim().split('\n');
    expect(refs).toEqual(
      expect.arrayContaining([
        `${kept} refs/autoresearch/nov22/1`,
        `${discarded} refs/autoresearch/nov22/2`,
        `${crashed} refs/autoresearch/nov22/3`,
        `${kept} refs/heads/autoresearch/nov22`,
      ]),
    );
    expect(await keptRefs(repo.dir, 'nov22')).toEqual([
      { experiment: 1, ref: 'refs/autoresearch/nov22/1', sha: kept },
      { experiment: 2, ref: 'refs/autoresearch/nov22/2', sha: discarded },
      { experiment: 3, ref: 'refs/autoresearch/nov22/3', sha: crashed },
    ]);
    // A discarded experiment's change is still there to read.
    expect(gitCli(repo.dir, 'show', '--format=%s', '--stat', 'refs/autoresearch/nov22/2')).toMatch(/depth 8[\s\S]*train\/extra\/helper\.ts/);
    expect(await fileAt(repo.dir, discarded, 'train/extra/helper.ts')).toBe('export const x = 1;\n');
    expect(await fileAt(repo.dir, kept, 'train/extra/helper.ts')).toBeNull();
    // isomorphic-git's temporary files never stay behind in .git.
    expect(allFiles(path.join(repo.dir, '.git')).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  test('resetHard restores a deleted tracked file and overwrites an untracked file the target tracks', async () => {
    repo = makeRepo();
    await createBranch(repo.dir, 'dec1');
    writeFile(repo.dir, 'train/notes.md', 'kept notes\n');
    const withNotes = await commitFiles(repo.dir, ['train/notes.md'], 'notes');
    fs.rmSync(path.join(repo.dir, 'train/notes.md'));
    const withoutNotes = await commitFiles(repo.dir, ['train/notes.md'], 'drop notes');
    expect(gitCli(repo.dir, 'show', '--name-status', '--format=', withoutNotes).trim()).toBe('D\ttrain/notes.md');
    writeFile(repo.dir, 'train/notes.md', 'untracked scribble\n');
    fs.rmSync(path.join(repo.dir, 'README.md'));
    await resetHard(repo.dir, withNotes);
    expect(fs.readFileSync(path.join(repo.dir, 'train/notes.md'), 'utf8')).toBe('kept notes\n');
    expect(fs.readFileSync(path.join(repo.dir, 'README.md'), 'utf8')).toBe('A research repository.\n');
    expect(porcelain(repo.dir)).toBe('');
  });

  test('commitFiles commits only the named files, with the repository user or the autoresearch author', async () => {
    repo = makeRepo();
    await createBranch(repo.dir, 'nov22');
    editFile(repo.dir, 'README.md', 'A research', 'A staged research');
    gitCli(repo.dir, 'add', 'README.md');
    editFile(repo.dir, 'train/config.ts', 'SEED = 42', 'SEED = 1');
    const sha = await commitFiles(repo.dir, ['train/config.ts'], 'seed 1');
    expect(gitCli(repo.dir, 'show', '--name-only', '--format=%an <%ae>|%s', sha).trim()).toBe('Repo User <repo@example.com>|seed 1\n\ntrain/config.ts');
    expect(porcelain(repo.dir)).toBe(' M README.md\n');
    await expect(commitFiles(repo.dir, ['train/config.ts'], 'again')).rejects.toThrow(/Nothing to commit: train\/config\.ts is unchanged/);
    repo.cleanup();

    repo = makeRepo({ user: false });
    editFile(repo.dir, 'train/config.ts', 'SEED = 42', 'SEED = 2');
    const anonymous = await commitFiles(repo.dir, ['train/config.ts'], 'seed 2');
    expect(gitCli(repo.dir, 'log', '-1', '--format=%an <%ae>|%cn <%ce>', anonymous).trim()).toBe(
      'autoresearch <autoresearch@localhost>|autoresearch <autoresearch@localhost>',
    );
  });
});

describe('diffOf', () => {
  test('one changed line: the hunk written out by hand', async () => {
    repo = makeRepo();
    editFile(repo.dir, 'train/config.ts', 'MATRIX_LR = 0.04', 'MATRIX_LR = 0.06');
    const sha = await commitFiles(repo.dir, ['train/config.ts'], 'lr');
    const expected = [
      '--- a/train/config.ts',
      '+++ b/train/config.ts',
      '@@ -3,7 +3,7 @@ const DEPTH = 4;',
      ' const ASPECT_RATIO = 64;',
      ' const HEAD_DIM = 128;',
      ' const WINDOW_PATTERN = "SSSL";',
      '-const MATRIX_LR = 0.04;',
      '+const MATRIX_LR = 0.06;',
      ' const EMBEDDING_LR = 0.6;',
      ' const WEIGHT_DECAY = 0.2;',
      ' const WARMDOWN_RATIO = 0.5;',
      '',
    ].join('\n');
    expect(await diffOf(repo.dir, sha)).toBe(expected);
  });

  test('two distant changes make two hunks, by hand and as git prints them', async () => {
    repo = makeRepo();
    editFile(repo.dir, 'train/config.ts', 'DEPTH = 4', 'DEPTH = 6');
    editFile(repo.dir, 'train/config.ts', 'SEED = 42', 'SEED = 1');
    const sha = await commitFiles(repo.dir, ['train/config.ts'], 'two');
    const expected = [
      '--- a/train/config.ts',
      '+++ b/train/config.ts',
      '@@ -1,5 +1,5 @@',
      ' // training config',
      '-const DEPTH = 4;',
      '+const DEPTH = 6;',
      ' const ASPECT_RATIO = 64;',
      ' const HEAD_DIM = 128;',
      ' const WINDOW_PATTERN = "SSSL";',
      '@@ -7,5 +7,5 @@ const MATRIX_LR = 0.04;',
      ' const EMBEDDING_LR = 0.6;',
      ' const WEIGHT_DECAY = 0.2;',
      ' const WARMDOWN_RATIO = 0.5;',
      '-const SEED = 42;',
      '+const SEED = 1;',
      ' export default { DEPTH, ASPECT_RATIO, HEAD_DIM, WINDOW_PATTERN, MATRIX_LR, EMBEDDING_LR, WEIGHT_DECAY, WARMDOWN_RATIO, SEED };',
      '',
    ].join('\n');
    const ours = await diffOf(repo.dir, sha);
    expect(ours).toBe(expected);
    expect(ours).toBe(gitDiff(repo.dir, sha, 'train/config.ts'));
  });

  const cases: Array<[string, (text: string) => string]> = [
    ['insertions, a deletion and close changes merged into one hunk', (t) =>
      t.replace('const HEAD_DIM = 128;\n', '').replace('const SEED = 42;\n', 'const SEED = 42;\nconst EXTRA = 1;\nconst MORE = 2;\n').replace('0.6', '0.7')],
    ['a last line without a newline', (t) => t.replace(/\n$/, '')],
    ['everything replaced', () => 'function lrMultiplier(p: number): number {\n  return 1 - p;\n}\n'],
    ['lines added at the top', (t) => `// header\n// more\n${t}`],
  ];
  test.each(cases)('%s: as git diff prints it', async (_name, change) => {
    repo = makeRepo();
    fs.writeFileSync(path.join(repo.dir, 'train/config.ts'), change(CONFIG_V1));
    const sha = await commitFiles(repo.dir, ['train/config.ts'], 'change');
    const ours = await diffOf(repo.dir, sha);
    expect(ours).not.toBe('');
    expect(ours).toBe(gitDiff(repo.dir, sha, 'train/config.ts'));
  });

  test('a root commit diffs against /dev/null; an unchanged file gives an empty diff', async () => {
    repo = makeRepo();
    const ours = await diffOf(repo.dir, repo.first, 'program.md');
    expect(ours).toBe('--- /dev/null\n+++ b/program.md\n@@ -0,0 +1,2 @@\n+# Research directives\n+Lower val_bpb.\n');
    expect(ours).toBe(gitDiff(repo.dir, repo.first, 'program.md'));
    editFile(repo.dir, 'README.md', 'A research', 'The research');
    const sha = await commitFiles(repo.dir, ['README.md'], 'readme');
    expect(await diffOf(repo.dir, sha)).toBe('');
  });
});

describe('unifiedDiff', () => {
  test('diffs of texts full of repeated lines (several minimal diffs exist) apply with git apply', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-apply-'));
    repo = { dir, first: '', cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
    let seed = 999;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let t = 0; t < 40; t++) {
      const a = Array.from({ length: 5 + Math.floor(rnd() * 40) }, () => ['a\n', 'b\n', '}\n', '\n'][Math.floor(rnd() * 4)]!);
      const b = a.slice();
      for (let e = 0; e < 1 + Math.floor(rnd() * 5); e++) {
        const op = rnd();
        const at = Math.floor(rnd() * b.length);
        if (op < 0.33) b.splice(at, 1);
        else if (op < 0.66) b.splice(at, 0, `inserted ${e}\n`);
        else b[at] = `changed ${e}\n`;
      }
      if (t % 3 === 0) b[b.length - 1] = b[b.length - 1]!.replace(/\n$/, '');
      const before = a.join('');
      const after = b.join('');
      const diff = unifiedDiff('file.txt', before, after);
      if (before === after) {
        expect(diff).toBe('');
        continue;
      }
      fs.writeFileSync(path.join(dir, 'file.txt'), before);
      fs.writeFileSync(path.join(dir, 'change.diff'), diff);
      const applied = gitCliStatus(dir, 'apply', 'change.diff');
      expect(applied.stderr).toBe('');
      expect(fs.readFileSync(path.join(dir, 'file.txt'), 'utf8')).toBe(after);
    }
  });
});

/** `git show`'s diff of one file from the `---` line on. */
function gitDiff(dir: string, sha: string, file: string): string {
  const out = gitCli(dir, 'show', '--format=', '--no-color', '--no-ext-diff', '-U3', sha, '--', file);
  return out.slice(out.indexOf('--- '));
}
