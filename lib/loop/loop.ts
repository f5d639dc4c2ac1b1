// `autoresearch loop`: the research ratchet (SPEC §1, §7). On a branch autoresearch/<tag>:
// run the unmodified baseline, then repeat: ask the agent for a change -> check it (only
// train/config.ts changed, it loads and validates, it is not a no-op) -> commit -> run ->
// append the result -> keep the commit if val_bpb beat the best kept one by more than the
// noise threshold, else reset to where the iteration started (the commit stays reachable as
// refs/autoresearch/<tag>/<n>). All git work through isomorphic-git.
//
// Crash safety: a result row is appended before the branch moves. After a kill -9, --resume
// finds either a recorded non-kept commit at HEAD (reset it) or an unrecorded experiment
// commit (run it now): nothing is lost and nothing is recorded twice.
import fs from 'node:fs/promises';
import path from 'node:path';

import { findPreparedDataset, readPreparedMeta } from '../data/prepared';
import { env } from '../env';
import { verifyPreparedData } from '../data/verify';
import { AgentError, BranchExistsError, ConfigError, DataIntegrityError, GitRepoError } from '../errors';
import { checkConfig } from '../runner/check-config';
import { DEFAULT_TIME_BUDGET, DEFAULT_TOTAL_TIME_LIMIT, runExperiment } from '../runner/run-experiment';
import type { ExperimentResult } from '../runner/types';
import { createAgent, type CreateAgentOptions } from './agents/factory';
import { parseKnobs } from './agents/knobs';
import type { AgentContext, HistoryEntry, ResultRow as AgentRow } from './agents/types';
import { fingerprint, harnessDifferences, type Fingerprint } from './fingerprint';
import {
  branchName,
  changedFiles,
  checkTag,
  commitFiles,
  commitSubject,
  createBranch,
  defaultTag,
  diffOf,
  fileAt,
  headSha,
  keepRef,
  keptRefs,
  openRepo,
  resetHard,
  revertExcept,
  trackedFiles,
  type RepoInfo,
} from './git';
import { takeStopRequest } from './control';
import { acquireLock } from './lock';
import { isLoopPath, LOCK_FILE, STATE_DIR } from './paths';
import { captureState, restoreOwnFiles, restoreRefs, undoAgentGitWork } from './agent-guard';
import { appendResult, bestKept, ensureGitignore, nextExperimentNumber, readResults, type ResultRow, type ResultStatus } from './results';

const CONFIG = 'train/config.ts';

/** The research loop's repository, agent, data, budgets and limits. */
export interface LoopOptions {
  /** The repository (holds train/config.ts and program.md). */
  dir: string;
  /** Run tag; the branch is autoresearch/<tag>. Default: today, like `nov22`. */
  tag?: string;
  /** Stop after this many experiments after the baseline. */
  max?: number;
  /** Stop starting new experiments after this many hours. */
  maxHours?: number;
  /** 'builtin' (default) | 'openai:<model>' | a command line. */
  agent?: string;
  agentOptions?: CreateAgentOptions;
  /** Seconds an agent may take per proposal (default 600). */
  agentTimeout?: number;
  /** Continue an existing branch and results. */
  resume?: boolean;
  /** Required improvement over the best kept val_bpb (default 0: strictly lower). */
  minDelta?: number;
  /** Measure the baseline's seed-to-seed spread with K runs and require more than that. */
  noiseRuns?: number;
  /** Re-run a winner with another seed; keep it only if it wins again. */
  confirm?: boolean;
  timeBudget?: number;
  totalTimeLimit?: number;
  dataset?: string;
  cacheDir?: string;
  device?: string;
  /** Seed of the builtin agent. */
  seed?: number;
  /** Ctrl-C: the running experiment is killed and the branch left at the best kept commit. */
  signal?: AbortSignal;
  /** Status lines (default: stderr). */
  log?: (line: string) => void;
  /** Output of each run as it arrives (progress lines). */
  onRunOutput?: (text: string) => void;
}

/** How a research loop ended: its tag and branch, the experiments run and the best kept. */
export interface LoopOutcome {
  tag: string;
  branch: string;
  /** Experiments recorded by this call (baseline included when it ran). */
  recorded: number;
  best: ResultRow | null;
  /** The seed-to-seed noise threshold in use (0 when not measured). */
  threshold: number;
  /** 'stop-requested': the control file (.autoresearch/stop) asked it to stop between experiments. */
  stoppedBecause: 'max' | 'max-hours' | 'aborted' | 'stop-requested';
}

/** Per-run state kept beside the results: where this tag's rows start, the noise measured. */
interface RunState {
  tag: string;
  firstExperiment: number;
  noise?: number;
  /** The lowest experiment number never handed out (written before a number is used). */
  nextExperiment?: number;
}

function stateText(state: RunState): string {
  return JSON.stringify(state, null, 2) + '\n';
}

async function readState(dir: string): Promise<RunState | null> {
  try {
    return JSON.parse(await fs.readFile(path.join(dir, STATE_DIR, 'run.json'), 'utf8')) as RunState;
  } catch {
    return null;
  }
}

async function writeState(dir: string, state: RunState): Promise<void> {
  await fs.mkdir(path.join(dir, STATE_DIR), { recursive: true });
  const file = path.join(dir, STATE_DIR, 'run.json');
  await fs.writeFile(`${file}.tmp`, stateText(state));
  await fs.rename(`${file}.tmp`, file);
}

function stddev(values: number[]): number {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, values.length - 1));
}

/** What start-up established: every check passed, the run's branch checked out. */
interface StartUp {
  /** The repository's top directory (git works here; CONFIG is relative to it). */
  dir: string;
  /** The research folder: train/config.ts, program.md, results, run.log, the loop's state. */
  home: string;
  /** train/config.ts relative to the top directory (`exp/train/config.ts` in a subfolder). */
  configFile: string;
  tag: string;
  branch: string;
  previous: RunState | null;
  dataset: string;
  meta: Awaited<ReturnType<typeof readPreparedMeta>>;
  timeBudget: number;
  device: string;
  fp: Fingerprint;
}

/**
 * Every check a start can fail, before anything is written: the repository and the research
 * folder, the tag, a dirty tree, the loop's files not tracked, the prepared data and its
 * digests, results of another harness. Only then the run's branch is created (or checked out
 * on --resume) and .gitignore committed there: a refused start leaves the user's branch, index,
 * working tree and refs as they were.
 */
async function startUp(o: LoopOptions, log: (line: string) => void, repo: RepoInfo): Promise<StartUp> {
  const { dir, research: home, prefix } = repo;
  const configFile = prefix ? `${prefix}/${CONFIG}` : CONFIG;
  const previous = await readState(home);
  const tag = o.tag ?? (o.resume && previous ? previous.tag : defaultTag());
  checkTag(tag);
  const branch = branchName(tag);
  const branchExists = await refExists(dir, `refs/heads/${branch}`);
  if (branchExists && !o.resume) throw new BranchExistsError(branch);
  const dirty = await changedFiles(dir);
  if (dirty.length > 0 && !o.resume) {
    throw new ConfigError(`uncommitted changes in ${dirty.join(', ')}: commit or stash them before starting a loop`);
  }
  const trackedLoopFiles = (await trackedFiles(dir)).filter(isLoopPath);
  if (trackedLoopFiles.length > 0) {
    throw new GitRepoError(
      `${trackedLoopFiles.join(', ')} ${trackedLoopFiles.length === 1 ? 'is' : 'are'} tracked by git, but the loop rewrites ${trackedLoopFiles.length === 1 ? 'it' : 'them'}: ` +
        `\`git rm --cached ${trackedLoopFiles.join(' ')} && git commit -m "untrack the loop's files"\``,
    );
  }
  const dataset = o.dataset ?? (await findPreparedDataset(o.cacheDir));
  const meta = await readPreparedMeta(dataset, o.cacheDir);
  const timeBudget = o.timeBudget ?? env.timeBudget() ?? DEFAULT_TIME_BUDGET;
  if (!Number.isFinite(timeBudget) || timeBudget <= 0) {
    throw new ConfigError(`the time budget must be a positive number of seconds (got ${timeBudget}); the default is ${DEFAULT_TIME_BUDGET}`);
  }
  const device = o.device ?? env.device();
  const fp = await fingerprint({ dataset, cacheDir: o.cacheDir, timeBudget, device });
  // Once per session, every prepared file in full (runs check the training tokens by samples).
  await verifyPreparedData(meta, o.cacheDir, { trainInFull: true });
  if (o.resume && previous && previous.tag === tag) {
    for (const row of (await readResults(home, { repair: false })).filter((r) => r.experiment >= previous.firstExperiment)) {
      const diff = harnessDifferences(row.fingerprint.harness as Fingerprint['harness'], fp.harness);
      if (diff.length > 0) {
        throw new ConfigError(
          `experiment ${row.experiment} of '${tag}' ran on another harness (${diff.join(', ')}); its results cannot be compared: ` +
            'start a new tag (without --resume), or restore the data and settings it ran with',
        );
      }
    }
  }

  // Checks done: the first writes, all on the run's branch.
  await createBranch(dir, tag, { resume: o.resume });
  if (o.resume) {
    const reverted = await revertExcept(dir, []);
    if (reverted.length > 0) log(`resume: reverted uncommitted changes in ${reverted.join(', ')}`);
  }
  const ignored = await ensureGitignore(dir);
  if (ignored.commit) log(`committed .gitignore on ${branch} (${ignored.added.join(', ')}): the loop's own files are never committed`);
  return { dir, home, configFile, tag, branch, previous, dataset, meta, timeBudget, device, fp };
}

async function refExists(dir: string, ref: string): Promise<boolean> {
  return trackedFiles(dir, ref).then(
    () => true,
    () => false,
  );
}

/**
 * The research loop in a git repository: propose a change to train/config.ts, check and
 * commit it, run it, keep it when val_bpb improves and reset it otherwise, until `max`
 * experiments, a stop request or an interrupt.
 */
export async function researchLoop(o: LoopOptions): Promise<LoopOutcome> {
  const log = o.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const repo = await openRepo(o.dir);
  const release = await acquireLock(repo.research);
  try {
    const { dir, home, configFile: CONFIG, tag, branch, previous, dataset, meta, timeBudget, device, fp } = await startUp(o, log, repo);
    let rows = await readResults(home);
    const state: RunState =
      o.resume && previous && previous.tag === tag ? previous : { tag, firstExperiment: nextExperimentNumber(rows) };
    await writeState(home, state);
    const session = () => rows.filter((r) => r.experiment >= state.firstExperiment);
    // Experiment numbers are never reused: not those of rows, of refs, or of a row a kill cut
    // off (the state's high-water mark is written before a number is handed out).
    const refs = new Map((await keptRefs(dir, tag)).map((r) => [r.experiment, r.sha] as const));
    const takeNumber = async (): Promise<number> => {
      const n = Math.max(nextExperimentNumber(rows), state.nextExperiment ?? 0, ...[...refs.keys()].map((k) => k + 1));
      state.nextExperiment = n + 1;
      await writeState(home, state);
      return n;
    };
    // Every experiment commit is reachable as refs/autoresearch/<tag>/<n> before it runs.
    const markExperiment = async (n: number, sha: string) => {
      await keepRef(dir, tag, n, sha);
      refs.set(n, sha);
    };
    const lockText = JSON.stringify(release.info) + '\n';
    const agent = createAgent(o.agent ?? 'builtin', { ...o.agentOptions, seed: o.seed ?? o.agentOptions?.seed });
    const started = Date.now();
    let recorded = 0;
    let crashLog: string | null = null;
    let threshold = Math.max(o.minDelta ?? 0, state.noise ?? 0);

    const harnessUnchanged = async () => {
      const now = await fingerprint({ dataset, cacheDir: o.cacheDir, timeBudget, device });
      const diff = harnessDifferences(fp.harness, now.harness);
      if (diff.length > 0) throw new ConfigError(`the prepared data changed during the loop (${diff.join(', ')}): results would not be comparable`);
    };
    // A run that found the prepared data changed is not the experiment's result: stop.
    const run = (seed?: number) =>
      runExperiment({
        dir: home,
        dataset,
        cacheDir: o.cacheDir,
        timeBudget,
        device,
        totalTimeLimit: o.totalTimeLimit ?? DEFAULT_TOTAL_TIME_LIMIT,
        signal: o.signal,
        onOutput: o.onRunOutput,
        seed,
      }).then((result) => {
        if (result.failure === 'data') throw new DataIntegrityError(result.cause ?? 'the prepared data changed');
        return result;
      });
    const record = async (experiment: number, status: ResultStatus, description: string, commit: string, parent: string | null, result: ExperimentResult | null) => {
      const row = await appendResult(home, {
        experiment,
        status,
        description,
        commit,
        parent,
        agent: agent.name,
        summary: result?.summary ?? null,
        diff: parent && commit !== parent ? await diffOf(dir, commit, CONFIG) : '',
        fingerprint: fp,
      });
      rows = [...rows, row];
      recorded++;
      const score = row.val_bpb === null ? 'crash' : row.val_bpb.toFixed(6);
      log(`experiment ${experiment}: ${status} ${score} ${commit.slice(0, 7)} ${description}`);
      return row;
    };

    /** Runs the baseline; true when it was interrupted. */
    async function runBaseline(): Promise<boolean> {
      const head = await headSha(dir);
      const again = session().length > 0;
      log(`baseline: running the ${again ? 'config at HEAD (the last baseline crashed)' : 'unmodified config'} on ${branch}`);
      await harnessUnchanged();
      const n = await takeNumber();
      await markExperiment(n, head);
      const result = await run();
      if (o.signal?.aborted) return true;
      await record(n, result.status === 'ok' ? 'keep' : 'crash', 'baseline', head, null, result);
      if (result.status !== 'ok') {
        throw new ConfigError(
          `the baseline crashed: fix ${CONFIG}, commit the fix on ${branch}, then continue with \`autoresearch loop --resume\` ` +
            `(log: ${result.logPath})\n${result.errorExcerpt ?? ''}`,
        );
      }
      return false;
    }

    // Resume: bring git and the results back in line.
    let pending: string | null = null;
    const bestNow = bestKept(session());
    if (bestNow) {
      const head = await headSha(dir);
      if (head !== bestNow.commit) {
        if (rows.some((r) => r.commit === head)) {
          log(`resume: resetting to the best kept commit ${bestNow.commit.slice(0, 7)}`);
          await resetHard(dir, bestNow.commit);
        } else {
          pending = head;
          log(`resume: experiment ${head.slice(0, 7)} was committed but has no result: running it now`);
        }
      }
    }

    // The baseline: the unmodified config, always first; again on --resume after it crashed.
    if (bestKept(session()) === null && (await runBaseline())) return { tag, branch, recorded, best: null, threshold, stoppedBecause: 'aborted' };

    // Seed-to-seed noise of the baseline, measured once per run.
    if ((o.noiseRuns ?? 0) > 1 && state.noise === undefined) {
      const baseline = bestKept(session())!;
      const values = [baseline.val_bpb!];
      for (let k = 1; k < o.noiseRuns!; k++) {
        log(`noise: baseline again with seed offset ${k} (${k + 1}/${o.noiseRuns})`);
        const result = await run(1000 + k);
        if (o.signal?.aborted) return { tag, branch, recorded, best: bestKept(session()), threshold, stoppedBecause: 'aborted' };
        if (result.summary) values.push(result.summary.val_bpb);
      }
      state.noise = stddev(values);
      await writeState(home, state);
      threshold = Math.max(o.minDelta ?? 0, state.noise);
      log(`noise: val_bpb ${values.map((v) => v.toFixed(6)).join(', ')}: std ${state.noise.toFixed(6)}; improvements must exceed ${threshold.toFixed(6)}`);
    }

    const knobsCache = new Map<string, HistoryEntry['knobs']>();
    const knobsAt = async (commit: string) => {
      if (!knobsCache.has(commit)) {
        const source = await fileAt(dir, commit, CONFIG).catch(() => null);
        let knobs: HistoryEntry['knobs'] = null;
        try {
          knobs = source ? parseKnobs(source) : null;
        } catch {
          knobs = null;
        }
        knobsCache.set(commit, knobs);
      }
      return knobsCache.get(commit)!;
    };

    let stoppedBecause: LoopOutcome['stoppedBecause'] = 'max';
    for (;;) {
      if (o.signal?.aborted) {
        stoppedBecause = 'aborted';
        break;
      }
      // A stop requested through the control file (e.g. the dashboard): end here, as at --max.
      if (!pending && (await takeStopRequest(home, new Date(release.info.started)))) {
        log('stop requested (.autoresearch/stop): no new experiment');
        stoppedBecause = 'stop-requested';
        break;
      }
      const done = session().length - 1; // experiments after the baseline
      if (o.max !== undefined && done >= o.max && !pending) break;
      if (o.maxHours !== undefined && (Date.now() - started) / 3.6e6 >= o.maxHours && !pending) {
        stoppedBecause = 'max-hours';
        break;
      }
      const best = bestKept(session())!;
      const n = await takeNumber();
      const parent = await headSha(dir);
      let sha: string;
      let description: string;

      if (pending) {
        sha = pending;
        pending = null;
        description = await commitSubject(dir, sha);
      } else {
        const agentRows: AgentRow[] = session().map((r, i) => ({
          number: i + 1,
          commit: r.commit.slice(0, 7),
          val_bpb: r.val_bpb ?? 0,
          memory_gb: r.peak_vram_mb === null ? 0 : r.peak_vram_mb / 1024,
          status: r.status,
          description: r.description,
        }));
        const history: HistoryEntry[] = [];
        for (const [i, row] of agentRows.entries()) {
          const full = session()[i]!;
          history.push({ ...row, knobs: full.commit === full.parent ? null : await knobsAt(full.commit) });
        }
        const context: AgentContext = {
          repoDir: dir,
          configPath: path.join(dir, CONFIG),
          program: await fs.readFile(path.join(home, 'program.md'), 'utf8'),
          configSource: await fs.readFile(path.join(dir, CONFIG), 'utf8'),
          results: agentRows,
          best: agentRows.find((r) => r.commit === best.commit.slice(0, 7) && r.status === 'keep') ?? null,
          crashLog,
          history,
          fixed: { TIME_BUDGET: timeBudget, MAX_SEQ_LEN: meta.maxSeqLen, EVAL_TOKENS: meta.evalTokens },
        };
        let proposal;
        let failure: unknown = null;
        const before = await captureState(dir);
        try {
          proposal = await agent.propose(context, { signal: o.signal, timeoutMs: (o.agentTimeout ?? 600) * 1000 });
        } catch (err) {
          failure = err;
        }
        // The repository is the loop's again: git work undone, its own files and refs restored.
        const undone = await undoAgentGitWork(dir, before, CONFIG);
        if (undone.length > 0) log(`experiment ${n}: the agent ${undone.join('; ')}`);
        const restored = [
          ...(await restoreOwnFiles(home, rows, [
            { file: path.posix.join(STATE_DIR, 'run.json'), content: stateText(state) },
            { file: LOCK_FILE, content: lockText },
          ])),
          ...(await restoreRefs(dir, tag, refs)),
        ];
        if (restored.length > 0) log(`warning: the agent changed the loop's own records; restored ${restored.join(', ')} from the loop's own record`);
        const undoneNote = undone.length > 0 ? ` [the agent ${undone.join('; ')}]` : '';
        if (failure !== null || !proposal) {
          const err = failure;
          await revertExcept(dir, []);
          if (o.signal?.aborted) {
            stoppedBecause = 'aborted';
            break;
          }
          const kind = err instanceof AgentError ? err.kind : 'failed';
          await record(n, 'crash', `agent ${kind}: ${(err as Error).message.split('\n')[0]}${undoneNote}`, parent, parent, null);
          crashLog = null;
          continue;
        }
        description = proposal.description + undoneNote;
        const others = await revertExcept(dir, [CONFIG]);
        if (others.length > 0) {
          await resetHard(dir, parent);
          await record(n, 'crash', `changed files other than ${CONFIG} (reverted: ${others.join(', ')}): ${description}`, parent, parent, null);
          continue;
        }
        if (!(await changedFiles(dir)).includes(CONFIG)) {
          await record(n, 'crash', `no change: ${description}`, parent, parent, null);
          continue;
        }
        const check = await checkConfig({ configPath: path.join(dir, CONFIG), dataset, cacheDir: o.cacheDir });
        if (!check.ok) {
          await resetHard(dir, parent);
          await record(n, 'crash', `config does not load: ${check.message.split('\n')[0]} (${description})`, parent, parent, null);
          crashLog = check.message;
          continue;
        }
        sha = await commitFiles(dir, [CONFIG], description);
      }
      await markExperiment(n, sha);

      await harnessUnchanged();
      log(`experiment ${n}: ${description}`);
      const result = await run();
      if (o.signal?.aborted) {
        // Interrupted, not a result: the commit stays reachable by its ref; back to the best.
        await resetHard(dir, best.commit);
        stoppedBecause = 'aborted';
        break;
      }
      let status: ResultStatus = 'crash';
      if (result.status === 'ok') {
        const bpb = result.summary!.val_bpb;
        status = bpb < best.val_bpb! - threshold ? 'keep' : 'discard';
        if (status === 'keep' && o.confirm) {
          log(`experiment ${n}: ${bpb.toFixed(6)} beats ${best.val_bpb!.toFixed(6)}; confirming with another seed`);
          const again = await run(2000 + n);
          const confirmed = again.summary !== null && again.summary.val_bpb < best.val_bpb! - threshold;
          description += confirmed ? ` (confirmed: ${again.summary!.val_bpb.toFixed(6)})` : ` (not confirmed: ${again.summary?.val_bpb.toFixed(6) ?? 'crash'})`;
          if (!confirmed) status = 'discard';
        }
      }
      await record(n, status, description, sha, best.commit, result);
      crashLog = status === 'crash' ? result.errorExcerpt : null;
      if (status !== 'keep') await resetHard(dir, best.commit);
    }
    return { tag, branch, recorded, best: bestKept(session()), threshold, stoppedBecause };
  } finally {
    await release();
  }
}
