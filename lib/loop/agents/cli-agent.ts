// A coding-agent CLI as the research agent (`--agent "<command>"`): any command line, run
// through the shell in the repository, given the prompt on stdin and in a file
// ($AUTORESEARCH_PROMPT_FILE). The command edits train/config.ts itself; its description is
// what it wrote to .autoresearch/description ($AUTORESEARCH_DESCRIPTION_FILE), else the last
// non-empty line of its stdout. The command runs in its own process group: on a timeout or an
// abort the whole group is killed (SIGTERM, then SIGKILL), and so is whatever it left running
// after it exited, so no stray process competes with the experiment for the machine; processes
// that left the group (setsid) are found by a marker in their environment and killed too.

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promises as fs, readdirSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AgentError } from '../../errors';
import { buildPrompt } from './prompt';
import { cleanDescription, type Agent, type AgentContext, type Proposal, type ProposeOptions } from './types';

/** Options of the CLI agent. */
export interface CliAgentOptions {
  /** Extra environment for the command (on top of process.env and the AUTORESEARCH_* paths). */
  env?: NodeJS.ProcessEnv;
  /** Receives the command's output as it arrives (e.g. to log the agent's transcript). */
  onOutput?: (chunk: string, stream: 'stdout' | 'stderr') => void;
  /** Between SIGTERM and SIGKILL when the process group is stopped (default 2000 ms). */
  killGraceMs?: number;
}

/** Where a command may write its description, relative to the repository. */
export const DESCRIPTION_FILE = path.join('.autoresearch', 'description');

const STDERR_TAIL_LINES = 20;
const STDERR_TAIL_CHARS = 2000;
const KEEP_OUTPUT_CHARS = 64 * 1024;

/** The last `lines` lines of a text, at most `chars` characters. */
export function tail(text: string, lines = STDERR_TAIL_LINES, chars = STDERR_TAIL_CHARS): string {
  const t = text.trimEnd().split('\n').slice(-lines).join('\n');
  return t.length <= chars ? t : `…${t.slice(-chars)}`;
}

/** The last non-empty line of a text, cleaned (ANSI escapes removed, ≤ 200 characters). */
export function lastLine(text: string): string {
  const lines = text.split(/\r?\n|\r/);
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = cleanDescription(lines[i]!);
    if (line !== '') return line;
  }
  return '';
}

/** The environment variable that marks every process of one agent turn. */
const TURN_MARKER = 'AUTORESEARCH_AGENT_TURN';

/**
 * Processes whose environment holds `name=value` (read from /proc; [] where there is none).
 * A process that cleared its environment is not found: the limit of this search.
 */
function processesWithEnv(name: string, value: string): number[] {
  const wanted = `${name}=${value}`;
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const entry of entries) {
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(wanted)) found.push(Number(entry));
    } catch {
      // exited meanwhile, or not ours to read
    }
  }
  return found.filter((pid) => pid !== process.pid);
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
}

/**
 * Whether a process group still has a live (non-zombie) member. Zombies are dead already and
 * only wait to be reaped by their parent, so they are not counted where /proc tells them apart.
 */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return true; // no /proc: trust kill(0)
  }
  for (const entry of entries) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // pid (comm) state ppid pgrp ...; comm may contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true;
  }
  return false;
}

async function readIfExists(file: string): Promise<string | null> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** A command-line coding agent. */
export class CliAgent implements Agent {
  readonly name: string;

  constructor(
    /** The command line, run with the shell (`sh -c`). */
    readonly command: string,
    private readonly options: CliAgentOptions = {},
  ) {
    if (command.trim() === '') throw new AgentError('failed', 'the agent command is empty: pass --agent "<command line>"');
    this.name = command;
  }

  async propose(context: AgentContext, options: ProposeOptions): Promise<Proposal> {
    options.signal?.throwIfAborted();
    const prompt = buildPrompt(context, { mode: 'edit' });
    const before = await fs.readFile(context.configPath, 'utf8');
    const descriptionFile = path.join(context.repoDir, DESCRIPTION_FILE);
    await fs.rm(descriptionFile, { force: true }); // a stale one from an earlier run must not be read
    const promptDir = await fs.mkdtemp(path.join(os.tmpdir(), 'autoresearch-prompt-'));
    const promptFile = path.join(promptDir, 'prompt.md');
    await fs.writeFile(promptFile, prompt);
    try {
      const run = await this.run(context, prompt, { promptFile, descriptionFile }, options);
      if (run.outcome === 'timeout') {
        throw new AgentError('timeout', `agent command timed out after ${options.timeoutMs} ms and was killed: ${this.command}`);
      }
      if (run.outcome === 'aborted') throw options.signal?.reason ?? new Error('aborted');
      if (run.code !== 0) {
        const how = run.code === null ? `was killed by ${run.signal}` : `exited with code ${run.code}`;
        const stderr = tail(run.stderr);
        throw new AgentError(
          'failed',
          `agent command ${how}: ${this.command}${stderr ? `\nstderr (last lines):\n${stderr}` : ' (no stderr)'}`,
        );
      }
      const written = await readIfExists(descriptionFile);
      const after = await readIfExists(context.configPath);
      if (after === before) {
        throw new AgentError('no-change', `agent command finished without changing ${path.relative(context.repoDir, context.configPath)}`);
      }
      const description =
        (written !== null ? cleanDescription(written) : '') || lastLine(run.stdout) || 'change by the agent command (no description given)';
      return { description };
    } finally {
      await fs.rm(promptDir, { recursive: true, force: true });
      await fs.rm(descriptionFile, { force: true });
      await fs.rmdir(path.dirname(descriptionFile)).catch(() => undefined); // only when empty
    }
  }

  private run(
    context: AgentContext,
    prompt: string,
    files: { promptFile: string; descriptionFile: string },
    options: ProposeOptions,
  ): Promise<{ outcome: 'exit' | 'timeout' | 'aborted'; code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
    const grace = this.options.killGraceMs ?? 2000;
    const turn = randomUUID();
    return new Promise((resolve, reject) => {
      const child = spawn(this.command, {
        shell: true,
        cwd: context.repoDir,
        detached: true, // its own process group, so the whole tree can be stopped
        stdio: ['pipe', 'pipe', 'pipe'],
        env: {
          ...process.env,
          ...this.options.env,
          [TURN_MARKER]: turn,
          AUTORESEARCH_PROMPT_FILE: files.promptFile,
          AUTORESEARCH_DESCRIPTION_FILE: files.descriptionFile,
          AUTORESEARCH_CONFIG_FILE: context.configPath,
        },
      });
      const pid = child.pid;
      let stdout = '';
      let stderr = '';
      let outcome: 'exit' | 'timeout' | 'aborted' = 'exit';
      let killTimer: NodeJS.Timeout | undefined;

      const stop = (why: 'timeout' | 'aborted') => {
        if (outcome !== 'exit' || pid === undefined) return;
        outcome = why;
        killGroup(pid, 'SIGTERM');
        killTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), grace);
      };
      const timer = setTimeout(() => stop('timeout'), options.timeoutMs);
      const onAbort = () => stop('aborted');
      options.signal?.addEventListener('abort', onAbort, { once: true });

      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout = (stdout + chunk).slice(-KEEP_OUTPUT_CHARS);
        this.options.onOutput?.(chunk, 'stdout');
      });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr = (stderr + chunk).slice(-KEEP_OUTPUT_CHARS);
        this.options.onOutput?.(chunk, 'stderr');
      });
      child.stdin.on('error', () => undefined); // EPIPE: the command does not read its stdin
      child.stdin.end(prompt);

      child.on('error', (e) => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        reject(new AgentError('failed', `agent command could not be started (${e.message}): ${this.command}`, { cause: e }));
      });
      // 'close': the process exited and its output pipes are closed (or everyone holding them died).
      child.on('close', async (code, signal) => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        if (pid !== undefined && groupAlive(pid)) {
          // Leftovers of the command (background processes); give them the same treatment.
          killGroup(pid, 'SIGTERM');
          const deadline = Date.now() + grace;
          while (groupAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
          killGroup(pid, 'SIGKILL');
        }
        // Descendants that left the group (setsid, a daemon) still carry the turn's marker.
        for (const leftover of processesWithEnv(TURN_MARKER, turn)) {
          try {
            process.kill(leftover, 'SIGKILL');
          } catch {
            // gone meanwhile
          }
        }
        if (killTimer) clearTimeout(killTimer);
        resolve({ outcome, code, signal, stdout, stderr });
      });
    });
  }
}

/** A coding-agent CLI agent for a command line. */
export function createCliAgent(command: string, options: CliAgentOptions = {}): CliAgent {
  return new CliAgent(command, options);
}
