// The prompt every LLM-backed agent gets: program.md, the current train/config.ts, the results
// so far (the best, then the last rows as a small table), the crash log when the last run
// crashed, and the exact task with the form of the reply. Two reply forms: a coding-agent CLI
// edits the file itself and ends its output with the description ('edit'); a chat model
// returns the whole module in a code block plus a DESCRIPTION line ('reply').

import * as path from 'node:path';
import type { AgentContext, ResultRow } from './types';

/** Options of buildPrompt. */
export interface PromptOptions {
  /** 'edit': the agent edits the file on disk (CLI agents, the default); 'reply': it returns the module. */
  mode?: 'edit' | 'reply';
  /** How many of the latest results to list (default 20). */
  lastRows?: number;
}

/** The default number of latest results listed in the prompt. */
export const PROMPT_LAST_ROWS = 20;

function fence(text: string, lang = ''): string {
  // A fence longer than any backtick run inside, so the block cannot end early.
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const ticks = '`'.repeat(longest + 1);
  return `${ticks}${lang}\n${text.replace(/\n$/, '')}\n${ticks}`;
}

function describeRow(r: ResultRow): string {
  const mem = r.status === 'crash' ? 'crashed' : `${r.memory_gb.toFixed(1)} GB`;
  return `#${r.number} (commit ${r.commit}): val_bpb ${r.val_bpb.toFixed(6)}, ${mem} — ${r.description}`;
}

/** The results section: the best so far and the last `lastRows` rows as a table. */
export function formatResults(results: readonly ResultRow[], best: ResultRow | null, lastRows = PROMPT_LAST_ROWS): string {
  if (results.length === 0) return 'No experiments yet: the next run is the baseline.';
  const counts = { keep: 0, discard: 0, crash: 0 };
  for (const r of results) counts[r.status]++;
  const lines = [
    `${results.length} experiment${results.length === 1 ? '' : 's'} so far: ${counts.keep} kept, ${counts.discard} discarded, ${counts.crash} crashed.`,
    best ? `Best so far (the config below): ${describeRow(best)}` : 'No kept experiment yet.',
    '',
  ];
  const shown = results.slice(-Math.max(1, lastRows));
  if (shown.length < results.length) lines.push(`The last ${shown.length}:`);
  lines.push('| # | commit | val_bpb | memory_gb | status | description |', '|---|---|---|---|---|---|');
  for (const r of shown) {
    const desc = r.description.replace(/\|/g, '\\|').replace(/\s+/g, ' ');
    lines.push(`| ${r.number} | ${r.commit} | ${r.val_bpb.toFixed(6)} | ${r.memory_gb.toFixed(1)} | ${r.status} | ${desc} |`);
  }
  return lines.join('\n');
}

/** The full prompt for one proposal. */
export function buildPrompt(context: AgentContext, options: PromptOptions = {}): string {
  const mode = options.mode ?? 'edit';
  const rel = path.relative(context.repoDir, context.configPath) || context.configPath;
  const sections: string[] = [];

  sections.push(
    'You are the researcher of an autonomous LLM-training loop. Each experiment trains a small GPT ' +
      'for a fixed time budget with the settings of train/config.ts and is scored by val_bpb ' +
      '(validation bits per byte, lower is better). A change is kept only if it lowers the best val_bpb.',
  );
  sections.push(`# Research directives (program.md)\n\n${context.program.trim()}`);

  const fixed = context.fixed;
  if (fixed) {
    sections.push(
      '# Fixed constants (set by the harness, not in the config, cannot be changed)\n\n' +
        `TIME_BUDGET = ${fixed.TIME_BUDGET} s of training, MAX_SEQ_LEN = ${fixed.MAX_SEQ_LEN}, EVAL_TOKENS = ${fixed.EVAL_TOKENS}.`,
    );
  }

  sections.push(`# The current ${rel}${context.best ? ' (the best config so far)' : ''}\n\n${fence(context.configSource, 'ts')}`);
  sections.push(`# Results so far\n\n${formatResults(context.results, context.best, options.lastRows)}`);

  if (context.inFlight && context.inFlight.length > 0) {
    sections.push(
      `# Running now on other workers (${context.inFlight.length})\n\n` +
        'These experiments are queued or running and have no result yet. Do not propose them again; a different idea is worth more.\n\n' +
        context.inFlight.map((e) => `- #${e.number}: ${e.description}`).join('\n'),
    );
  }

  if (context.crashLog !== null) {
    const last = context.results.at(-1);
    sections.push(
      `# The last run crashed${last ? ` (#${last.number}: ${last.description})` : ''}\n\n` +
        'Its last log lines are below. The config above is the best one again (the crashed change was reset); ' +
        'if the crash came from a trivial mistake (a typo, a value the model refuses, out of memory), ' +
        'you may retry the idea with the mistake fixed.\n\n' +
        fence(context.crashLog),
    );
  }

  const task = [
    '# Your task',
    '',
    `Propose the next experiment: make ONE focused change to ${rel}, guided by the directives and the results.`,
    `- Change only ${rel}. Do not touch any other file, do not commit, do not run the training: the harness does that.`,
    '- Keep it a valid TypeScript module whose default export still `satisfies ExperimentConfig`; keep the comments accurate.',
    '- Do not repeat a config that was already tried (see the results) or one that is running now. Prefer simple changes; bold ones are fine when the results suggest them.',
    '',
  ];
  if (mode === 'edit') {
    task.push(
      '# How to reply',
      '',
      `Edit ${context.configPath} in place. When you are done, print as the LAST line of your output a short ` +
        'description of the change (one line, under 100 characters), e.g. `MATRIX_LR 0.04 -> 0.05` or ' +
        '`swiglu MLP with MLP_RATIO 3`. (Alternatively write that line to .autoresearch/description ' +
        'in the repository, the path in $AUTORESEARCH_DESCRIPTION_FILE.)',
    );
  } else {
    task.push(
      '# How to reply',
      '',
      `Reply with the COMPLETE new ${rel} in one \`\`\`ts code block (the whole module, not a diff: it replaces ` +
        'the file as it is), followed by one line of the form',
      '',
      'DESCRIPTION: <a short description of the change, under 100 characters, e.g. MATRIX_LR 0.04 -> 0.05>',
    );
  }
  sections.push(task.join('\n'));
  return `${sections.join('\n\n')}\n`;
}
