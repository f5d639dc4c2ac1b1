// Compiles, loads and validates a train/config.ts as a run would, in a throw-away worker,
// without training: the loop's check before it commits an agent's change.
import path from 'node:path';

import { ConfigError } from '../errors';
import { compileConfig } from './config-compile';
import { CONFIG_LOAD_TIMEOUT_MS } from './config-sandbox';
import { runWorker, type WorkerMessage } from './worker-process';

export interface ConfigCheck {
  ok: boolean;
  /** The cause when not ok (syntax error, value import, wrong type, impossible size, time-out...). */
  message: string;
}

/** Default limit of one check: the sandbox's own load limit plus the worker's start-up. */
const CONFIG_CHECK_TIMEOUT_MS = CONFIG_LOAD_TIMEOUT_MS + 50_000;

export async function checkConfig(options: { configPath: string; dataset?: string; cacheDir?: string; timeoutMs?: number }): Promise<ConfigCheck> {
  let config;
  try {
    config = await compileConfig(options.configPath);
  } catch (err) {
    if (err instanceof ConfigError) return { ok: false, message: err.message };
    throw err;
  }
  let out = '';
  let verdict: WorkerMessage | null = null;
  const timeoutMs = options.timeoutMs ?? CONFIG_CHECK_TIMEOUT_MS;
  const { code, signal, killedFor } = await runWorker(
    { config, dataset: options.dataset, cacheDir: options.cacheDir === undefined ? undefined : path.resolve(options.cacheDir), timeBudget: 1, device: 'cpu', checkOnly: true },
    {
      onOutput: (text) => (out += text),
      onMessage: (m) => (m.type === 'config-ok' || m.type === 'error' ? (verdict = m) : undefined),
      timeLimit: { ms: timeoutMs, reason: `the config check timed out after ${timeoutMs / 1000} s` },
    },
  );
  const v = verdict as WorkerMessage | null;
  if (v?.type === 'config-ok' && code === 0) return { ok: true, message: 'config ok' };
  if (v?.type === 'error') return { ok: false, message: v.message };
  if (killedFor) return { ok: false, message: killedFor };
  const tail = out.trim().split('\n').slice(-5).join('\n');
  return { ok: false, message: signal ? `the config check was killed by ${signal}${tail ? `: ${tail}` : ''}` : tail || `the config check exited with code ${code}` };
}
