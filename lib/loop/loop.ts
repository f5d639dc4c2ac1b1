// `autoresearch loop`: the research ratchet (SPEC §1, §7). On a branch autoresearch/<tag>:
// run the unmodified baseline, then repeat: ask the agent for a change -> check it (only
// train/config.ts changed, it loads and validates, it is not a no-op) -> commit -> run ->
// append the result -> keep the commit if val_bpb beat the best kept one by more than the
// noise threshold, else reset to where the iteration started (the commit stays reachable as
// refs/autoresearch/<tag>/<n>). All git work through isomorphic-git.
//
// With --workers N it is a coordinator: every proposal is committed, kept reachable, written to
// the durable queue (queue.ts) and the branch returns to the best at once; up to N experiments
// run on an executor's workers (executors/); a result is settled between agent turns, and a
// winner whose parent is no longer the best is moved onto the new best, never kept on a stale
// base (docs/loop-and-agents.md, "Many experiments at once").
//
// Crash safety: a result row is appended before the branch moves, and an experiment leaves the
// queue only after its row is written. After a kill -9, --resume queues again what was running
// (or follows a Slurm job that still runs) and queues an experiment commit left at HEAD: nothing
// is lost and nothing is recorded twice. Start-up checks: start-up.ts.
import fs from 'node:fs/promises';
import path from 'node:path';

import { resolveCacheDir } from '../data/prepared';
import { AgentError, ConfigError, DataIntegrityError } from '../errors';
import { checkConfig } from '../runner/check-config';
import { JOB_VERSION, type ExperimentJob } from '../runner/job';
import { DEFAULT_TOTAL_TIME_LIMIT, processDied } from '../runner/run-experiment';
import type { ExperimentResult } from '../runner/types';
import { createAgent } from './agents/factory';
import { parseKnobs } from '../config/config-source';
import type { AgentContext, HistoryEntry, InFlightExperiment, ResultRow as AgentRow } from './agents/types';
import { mergeLines } from './diff';
import type { JobEnd, JobRun, WorkerSlot } from './executors/types';
import { fingerprint, harnessDifferences } from './fingerprint';
import { changedFiles, commitFiles, commitSubject, diffOf, fileAt, headSha, keepRef, keptRefs, openRepo, resetHard, revertExcept } from './git';
import { takeStopRequest } from './control';
import { acquireLock } from './lock';
import { LOCK_FILE, LOGS_DIR, RUN_LOG, STATE_DIR } from './paths';
import { ExperimentQueue, QUEUE_FILE, type QueueEntry } from './queue';
import { captureState, restoreOwnFiles, restoreRefs, undoAgentGitWork } from './agent-guard';
import { appendResult, bestKept, nextExperimentNumber, readResults, type ResultRow, type ResultStatus } from './results';

import type { LoopOptions, LoopOutcome } from './options';
import { stateText, writeState, type RunState } from './run-state';
import { startUp } from './start-up';
import { createExecutor } from './executors/create';

export type { LoopOptions, LoopOutcome, SlurmLoopOptions } from './options';

function stddev(values: number[]): number {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, values.length - 1));
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
  const inFlight = new Map<string, InFlight>();
  const cancelAll = () => {
    for (const f of inFlight.values()) f.run.cancel();
  };
  let queueRef: ExperimentQueue | null = null;
  try {
    const { dir, home, configFile: CONFIG, tag, branch, previous, dataset, meta, timeBudget, device, fp } = await startUp(o, log, repo);
    let rows = await readResults(home);
    const resuming = !!(o.resume && previous && previous.tag === tag);
    const state: RunState = resuming ? previous! : { tag, firstExperiment: nextExperimentNumber(rows) };
    await writeState(home, state);
    const session = () => rows.filter((r) => r.experiment >= state.firstExperiment);
    const queue = ExperimentQueue.open(home, tag, { resume: resuming, recorded: new Set(rows.map((r) => r.experiment)) });
    queueRef = queue;
    // Experiment numbers are never reused: not those of rows, of refs, or of a row a kill cut
    // off (the state's high-water mark is written before a number is handed out).
    const refs = new Map((await keptRefs(dir, tag)).map((r) => [r.experiment, r.sha] as const));
    const takeNumber = async (): Promise<number> => {
      const queued = queue.entries.map((e) => e.experiment + 1);
      const n = Math.max(nextExperimentNumber(rows), state.nextExperiment ?? 0, ...[...refs.keys()].map((k) => k + 1), ...queued);
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
    const executor = await createExecutor(o, { home, tag, device });
    const workers = executor.slots.length;
    if (workers > 1 || executor.name !== 'local') log(`workers: ${executor.slots.map((s) => `${executor.name}:${s.index} (${s.device}${s.threads ? `, ${s.threads} threads` : ''})`).join(', ')}`);
    const started = Date.now();
    let recorded = 0;
    let crashLog: string | null = null;
    let threshold = Math.max(o.minDelta ?? 0, state.noise ?? 0);
    const cacheDir = resolveCacheDir(o.cacheDir);

    const harnessUnchanged = async () => {
      const now = await fingerprint({ dataset, cacheDir: o.cacheDir, timeBudget, device });
      const diff = harnessDifferences(fp.harness, now.harness);
      if (diff.length > 0) throw new ConfigError(`the prepared data changed during the loop (${diff.join(', ')}): results would not be comparable`);
    };
    const jobsDir = path.join(home, STATE_DIR, 'jobs');
    /** The job of experiment n (`suffix` tells its noise and confirmation runs apart). */
    const jobOf = async (n: number, commit: string, suffix = '', seed?: number): Promise<ExperimentJob> => ({
      version: JOB_VERSION,
      id: n,
      configSource: (await fileAt(dir, commit, CONFIG)) ?? '',
      seed,
      dataset,
      cacheDir,
      timeBudget,
      totalTimeLimit: o.totalTimeLimit ?? DEFAULT_TOTAL_TIME_LIMIT,
      device,
      // One worker writes run.log as `autoresearch run` does (what a live view follows);
      // every run's log is also kept under .autoresearch/logs/.
      logPath: workers === 1 ? path.join(home, RUN_LOG) : path.join(home, LOGS_DIR, `${n}${suffix}.log`),
      resultPath: path.join(jobsDir, `${n}${suffix}.result.json`),
    });
    const keepLog = async (job: ExperimentJob) => {
      if (path.basename(job.logPath) !== RUN_LOG) return;
      await fs.mkdir(path.join(home, LOGS_DIR), { recursive: true });
      await fs.copyFile(job.logPath, path.join(home, LOGS_DIR, `${path.basename(job.resultPath, '.result.json')}.log`)).catch(() => undefined);
    };
    /** A result the loop cannot record: the prepared data failed its check. */
    const checkData = (result: ExperimentResult) => {
      if (result.failure === 'data') throw new DataIntegrityError(result.cause ?? 'the prepared data changed');
    };
    const freeSlot = () => executor.slots.find((s) => ![...inFlight.values()].some((f) => f.slot === s));
    const dispatch = async (key: string, job: ExperimentJob, slot: WorkerSlot, entry: QueueEntry | null) => {
      await harnessUnchanged();
      const run = await executor.start(job, slot, workers === 1 ? o.onRunOutput : undefined);
      if (entry) queue.update(entry.experiment, { state: 'running', worker: run.worker, attempts: entry.attempts + 1 });
      inFlight.set(key, { key, job, slot, run, entry });
      return run;
    };
    /** Runs one job to its end on `slot`, retrying once a worker that died. */
    const runToEnd = async (key: string, job: ExperimentJob, slot: WorkerSlot): Promise<ExperimentResult & { placement: Placement }> => {
      for (let attempt = 1; ; attempt++) {
        const run = await dispatch(key, job, slot, null);
        const end = await run.done;
        inFlight.delete(key);
        await keepLog(job);
        const placement = placementOf(executor.name, run.worker, end, slot);
        if (end.kind === 'result' && !(processDied(end.result.result) && attempt < 2)) {
          checkData(end.result.result);
          return { ...end.result.result, placement };
        }
        if (o.signal?.aborted || (end.kind === 'lost' && (!end.retry || attempt >= 2))) {
          const cause = end.kind === 'lost' ? end.reason : (end.result.result.cause ?? 'the worker died');
          return { ...lostResult(job, cause), placement };
        }
        log(`${key}: the worker ${run.worker} died (${end.kind === 'lost' ? end.reason : end.result.result.cause}); running it again`);
      }
    };

    const record = async (
      experiment: number,
      status: ResultStatus,
      description: string,
      commit: string,
      parent: string | null,
      result: ExperimentResult | null,
      placement: Placement | null,
    ) => {
      const row = await appendResult(home, {
        experiment,
        tag,
        status,
        description,
        commit,
        parent,
        agent: agent.name,
        summary: result?.summary ?? null,
        diff: parent && commit !== parent ? await diffOf(dir, commit, CONFIG) : '',
        fingerprint: placement ? { hardware: { ...fp.hardware, ...placement }, harness: fp.harness } : fp,
      });
      rows = [...rows, row];
      recorded++;
      const score = row.val_bpb === null ? 'crash' : row.val_bpb.toFixed(6);
      const where = workers > 1 && placement ? ` [${placement.worker}]` : '';
      log(`experiment ${experiment}: ${status} ${score} ${commit.slice(0, 7)} ${description}${where}`);
      return row;
    };

    /** Runs the baseline; true when it was interrupted. */
    async function runBaseline(): Promise<boolean> {
      const head = await headSha(dir);
      const again = session().length > 0;
      log(`baseline: running the ${again ? 'config at HEAD (the last baseline crashed)' : 'unmodified config'} on ${branch}`);
      const n = await takeNumber();
      await markExperiment(n, head);
      const result = await runToEnd('baseline', await jobOf(n, head), executor.slots[0]!);
      if (o.signal?.aborted) return true;
      await record(n, result.status === 'ok' ? 'keep' : 'crash', 'baseline', head, null, result, result.placement);
      if (result.status !== 'ok') {
        throw new ConfigError(
          `the baseline crashed: fix ${CONFIG}, commit the fix on ${branch}, then continue with \`autoresearch loop --resume\` ` +
            `(log: ${result.logPath})\n${result.errorExcerpt ?? ''}`,
        );
      }
      return false;
    }

    // Resume: bring git and the results back in line. The branch is always at the best kept
    // commit while the loop waits; an experiment commit left at HEAD by a kill between its
    // commit and its queue entry is queued now.
    const bestNow = bestKept(session());
    if (bestNow) {
      const head = await headSha(dir);
      if (head !== bestNow.commit) {
        if (!rows.some((r) => r.commit === head) && !queue.entries.some((e) => e.commit === head)) {
          const n = await takeNumber();
          await markExperiment(n, head);
          queue.add({ experiment: n, commit: head, parent: bestNow.commit, description: await commitSubject(dir, head), state: 'queued', worker: null, attempts: 0, phase: 'run' });
          log(`resume: experiment ${head.slice(0, 7)} was committed but has no result: running it now (experiment ${n})`);
        } else {
          log(`resume: resetting to the best kept commit ${bestNow.commit.slice(0, 7)}`);
        }
        await resetHard(dir, bestNow.commit);
      }
    }
    // Experiments a killed loop left in flight: followed where their worker still runs them
    // (a Slurm job), queued again where it died with the loop (a local child).
    for (const entry of queue.entries.filter((e) => e.state === 'running')) {
      const suffix = entry.phase === 'confirm' ? '.confirm' : '';
      const job = await jobOf(entry.experiment, entry.commit, suffix, entry.phase === 'confirm' ? 2000 + entry.experiment : undefined);
      const slot = freeSlot();
      const run = slot && entry.worker ? await executor.adopt(job, entry.worker, slot) : null;
      if (run && slot) {
        inFlight.set(`experiment ${entry.experiment}`, { key: `experiment ${entry.experiment}`, job, slot, run, entry });
        log(`resume: experiment ${entry.experiment} is still running on ${entry.worker}: following it`);
      } else {
        queue.update(entry.experiment, { state: 'queued', worker: null });
        log(`resume: experiment ${entry.experiment} was running when the loop stopped: queued again`);
      }
    }

    // The baseline: the unmodified config, always first; again on --resume after it crashed.
    if (bestKept(session()) === null && (await runBaseline())) return { tag, branch, recorded, best: null, threshold, stoppedBecause: 'aborted' };

    // Seed-to-seed noise of the baseline, measured once per run (on every worker at once).
    if ((o.noiseRuns ?? 0) > 1 && state.noise === undefined) {
      const baseline = bestKept(session())!;
      const values = [baseline.val_bpb!];
      const offsets = Array.from({ length: o.noiseRuns! - 1 }, (_, k) => k + 1);
      while (offsets.length > 0) {
        const batch = offsets.splice(0, workers);
        log(`noise: baseline again with seed offset(s) ${batch.join(', ')} (${values.length + batch.length}/${o.noiseRuns})`);
        const results = await Promise.all(
          batch.map(async (k, i) => runToEnd(`noise ${k}`, await jobOf(baseline.experiment, baseline.commit, `.noise-${k}`, 1000 + k), executor.slots[i]!)),
        );
        if (o.signal?.aborted) return { tag, branch, recorded, best: bestKept(session()), threshold, stoppedBecause: 'aborted' };
        for (const result of results) if (result.summary) values.push(result.summary.val_bpb);
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

    /**
     * One agent turn on the best commit: the proposal committed, reachable by its ref, queued,
     * and the branch back at the best. Returns false when the turn ended in a crash row (or
     * the loop was interrupted).
     */
    const propose = async (): Promise<boolean> => {
      const best = bestKept(session())!;
      const n = await takeNumber();
      const parent = await headSha(dir);
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
      const pendingExperiments: InFlightExperiment[] = [];
      for (const e of queue.entries) pendingExperiments.push({ number: e.experiment, description: e.description, knobs: await knobsAt(e.commit) });
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
        inFlight: pendingExperiments,
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
          { file: QUEUE_FILE, content: queue.text() },
        ])),
        ...(await restoreRefs(dir, tag, refs)),
      ];
      if (restored.length > 0) log(`warning: the agent changed the loop's own records; restored ${restored.join(', ')} from the loop's own record`);
      const undoneNote = undone.length > 0 ? ` [the agent ${undone.join('; ')}]` : '';
      if (failure !== null || !proposal) {
        await revertExcept(dir, []);
        if (o.signal?.aborted) return false;
        const kind = failure instanceof AgentError ? failure.kind : 'failed';
        await record(n, 'crash', `agent ${kind}: ${(failure as Error).message.split('\n')[0]}${undoneNote}`, parent, parent, null, null);
        crashLog = null;
        return false;
      }
      const description = proposal.description + undoneNote;
      const others = await revertExcept(dir, [CONFIG]);
      if (others.length > 0) {
        await resetHard(dir, parent);
        await record(n, 'crash', `changed files other than ${CONFIG} (reverted: ${others.join(', ')}): ${description}`, parent, parent, null, null);
        return false;
      }
      if (!(await changedFiles(dir)).includes(CONFIG)) {
        await record(n, 'crash', `no change: ${description}`, parent, parent, null, null);
        return false;
      }
      const check = await checkConfig({ configPath: path.join(dir, CONFIG), dataset, cacheDir: o.cacheDir });
      if (!check.ok) {
        await resetHard(dir, parent);
        await record(n, 'crash', `config does not load: ${check.message.split('\n')[0]} (${description})`, parent, parent, null, null);
        crashLog = check.message;
        return false;
      }
      const sha = await commitFiles(dir, [CONFIG], description);
      await markExperiment(n, sha);
      queue.add({ experiment: n, commit: sha, parent, description, state: 'queued', worker: null, attempts: 0, phase: 'run' });
      await resetHard(dir, parent);
      return true;
    };

    /**
     * A stale winner (it beat its parent, but the best moved while it ran) moved onto the new
     * best: its edit of the config merged into the best's, committed there and queued as a new
     * experiment (its number); 'conflict' when the edit does not apply cleanly, 'contained'
     * when the best already has it.
     */
    const requeueOnBest = async (entry: QueueEntry, best: ResultRow): Promise<number | 'conflict' | 'contained'> => {
      const [base, theirs, ours] = await Promise.all([fileAt(dir, entry.parent, CONFIG), fileAt(dir, entry.commit, CONFIG), fileAt(dir, best.commit, CONFIG)]);
      const merged = base !== null && theirs !== null && ours !== null ? mergeLines(base, ours, theirs) : null;
      if (merged === null) return 'conflict';
      if (merged === ours) return 'contained';
      const n = await takeNumber();
      await fs.writeFile(path.join(dir, CONFIG), merged);
      const description = `${entry.description.replace(/ \(moved onto [0-9a-f]{7} from experiment \d+\)$/, '')} (moved onto ${best.commit.slice(0, 7)} from experiment ${entry.experiment})`;
      const sha = await commitFiles(dir, [CONFIG], description);
      await markExperiment(n, sha);
      queue.add({ experiment: n, commit: sha, parent: best.commit, description, state: 'queued', worker: null, attempts: 0, phase: 'run' });
      await resetHard(dir, best.commit);
      return n;
    };

    /** What an experiment's run (or confirmation run) ended with, recorded or queued again. */
    const settle = async (f: InFlight, end: JobEnd) => {
      const entry = f.entry!;
      const n = entry.experiment;
      await keepLog(f.job);
      const placement = placementOf(executor.name, f.run.worker, end, f.slot);
      if (o.signal?.aborted) {
        queue.update(n, { state: 'queued', worker: null }); // interrupted, not a result: queued for --resume
        return;
      }
      const died = end.kind === 'lost' ? end.retry : processDied(end.result.result);
      if (died && entry.attempts < 2) {
        queue.update(n, { state: 'queued', worker: null });
        log(`experiment ${n}: the worker ${f.run.worker} died (${end.kind === 'lost' ? end.reason : end.result.result.cause}); running it again`);
        return;
      }
      const result = end.kind === 'result' ? end.result.result : lostResult(f.job, end.reason);
      checkData(result);
      const best = bestKept(session())!;
      const first = entry.phase === 'confirm' ? entry.first! : result;
      let status: ResultStatus = 'crash';
      // A job that ended without a result says why in its row (cancelled, timed out, lost).
      let description = end.kind === 'lost' && entry.phase === 'run' ? `${entry.description} [${end.reason}]` : entry.description;
      if (first.status === 'ok') {
        const bpb = first.summary!.val_bpb;
        const parentRow = rows.find((r) => r.commit === entry.parent && r.status === 'keep');
        const reference = entry.parent === best.commit ? best : parentRow;
        const beats = reference !== undefined && reference.val_bpb !== null && bpb < reference.val_bpb - threshold;
        if (beats && o.confirm && entry.phase === 'run') {
          log(`experiment ${n}: ${bpb.toFixed(6)} beats ${reference.val_bpb!.toFixed(6)}; confirming with another seed`);
          queue.update(n, { phase: 'confirm', first: result, state: 'queued', worker: null, attempts: 0 });
          return;
        }
        let confirmed = beats;
        if (beats && entry.phase === 'confirm') {
          confirmed = result.summary !== null && result.summary.val_bpb < reference.val_bpb! - threshold;
          description += confirmed ? ` (confirmed: ${result.summary!.val_bpb.toFixed(6)})` : ` (not confirmed: ${result.summary?.val_bpb.toFixed(6) ?? 'crash'})`;
        }
        status = confirmed && entry.parent === best.commit ? 'keep' : 'discard';
        if (confirmed && entry.parent !== best.commit) {
          // Never kept on a stale base: moved onto the new best and run again there.
          const moved = await requeueOnBest(entry, best);
          const stale = `beat its parent ${entry.parent.slice(0, 7)}, but the best moved to ${best.commit.slice(0, 7)}`;
          description +=
            moved === 'conflict'
              ? ` [${stale} and the change does not apply there]`
              : moved === 'contained'
                ? ` [${stale}, which already has the change]`
                : ` [${stale}: queued there as experiment ${moved}]`;
        }
      }
      await record(n, status, description, entry.commit, entry.parent, first, placement);
      queue.remove(n);
      crashLog = status === 'crash' ? first.errorExcerpt : null;
      // The branch moves only forward, to a winner proposed on the best itself.
      if (status === 'keep') await resetHard(dir, entry.commit);
    };

    let stoppedBecause: LoopOutcome['stoppedBecause'] = 'max';
    let stopping = false;
    for (;;) {
      // Start work on every free worker: queued experiments first, then new proposals.
      while (!stopping && freeSlot()) {
        if (o.signal?.aborted) {
          stoppedBecause = 'aborted';
          stopping = true;
          break;
        }
        const waiting = queue.nextQueued();
        if (!waiting) {
          // A stop requested through the control file (e.g. the dashboard): no new proposal.
          if (await takeStopRequest(home, new Date(release.info.started))) {
            log('stop requested (.autoresearch/stop): no new experiment');
            stoppedBecause = 'stop-requested';
            stopping = true;
            break;
          }
          const proposed = session().length - 1 + queue.entries.length; // experiments after the baseline
          if (o.max !== undefined && proposed >= o.max) {
            stopping = true;
            break;
          }
          if (o.maxHours !== undefined && (Date.now() - started) / 3.6e6 >= o.maxHours) {
            stoppedBecause = 'max-hours';
            stopping = true;
            break;
          }
          if (!(await propose())) {
            if (o.signal?.aborted) {
              stoppedBecause = 'aborted';
              stopping = true;
            }
            continue;
          }
          continue;
        }
        const confirm = waiting.phase === 'confirm';
        const job = await jobOf(waiting.experiment, waiting.commit, confirm ? '.confirm' : '', confirm ? 2000 + waiting.experiment : undefined);
        if (!confirm && waiting.attempts === 0) log(`experiment ${waiting.experiment}: ${waiting.description}`);
        await dispatch(`experiment ${waiting.experiment}`, job, freeSlot()!, waiting);
      }
      if (inFlight.size === 0) break;
      // The next run to end; its result is settled before anything else starts.
      const next = await Promise.race([...inFlight.values()].map((f) => f.run.done.then((end) => ({ f, end }))));
      inFlight.delete(next.f.key);
      await settle(next.f, next.end);
      if (o.signal?.aborted) {
        stoppedBecause = 'aborted';
        stopping = true;
        cancelAll();
      }
    }
    if (stoppedBecause === 'aborted') await resetHard(dir, bestKept(session())!.commit);
    return { tag, branch, recorded, best: bestKept(session()), threshold, stoppedBecause };
  } finally {
    // Ctrl-C or an error: no run outlives the loop; their experiments wait in the queue for
    // --resume (a kill -9 leaves them 'running', and a Slurm job is then followed again).
    const stopped = [...inFlight.values()];
    cancelAll();
    await Promise.all(stopped.map((f) => f.run.done));
    for (const f of stopped) if (f.entry && queueRef?.get(f.entry.experiment)) queueRef.update(f.entry.experiment, { state: 'queued', worker: null });
    await release();
  }
}

/** A run in flight: its job, the slot it holds, and the queue entry it settles (none for baseline and noise runs). */
interface InFlight {
  key: string;
  job: ExperimentJob;
  slot: WorkerSlot;
  run: JobRun;
  entry: QueueEntry | null;
}

/** Where a run ran; stored in its row's fingerprint (over this process's hardware fields). */
interface Placement {
  executor: string;
  worker: string;
  node: string;
  device: string;
  /** The worker's share of the cores, when it was given one (--threads-per-worker, several CPU workers). */
  threads?: number;
}

function placementOf(executor: string, worker: string, end: JobEnd, slot: WorkerSlot): Placement {
  const placement: Placement = { executor, worker, node: end.kind === 'result' ? end.result.node : '', device: slot.device };
  if (slot.threads !== undefined) placement.threads = slot.threads;
  return placement;
}

/** The crash result of a job that ended without one. */
function lostResult(job: ExperimentJob, cause: string): ExperimentResult {
  return { status: 'crash', summary: null, logPath: job.logPath, errorExcerpt: cause, wallSeconds: 0, cause, failure: 'crash' };
}
