// Loads and validates a train/config.ts in a throw-away child process (tsx), as a run would,
// without training: the loop's check before it commits an agent's change.
import { spawn } from 'node:child_process';
import path from 'node:path';

import type { WorkerRequest } from './worker';

export interface ConfigCheck {
  ok: boolean;
  /** The cause when not ok (syntax error, wrong type, impossible size...). */
  message: string;
}

export async function checkConfig(options: { configPath: string; dataset?: string; cacheDir?: string; timeoutMs?: number }): Promise<ConfigCheck> {
  const ext = path.extname(__filename);
  const request: WorkerRequest = {
    configPath: path.resolve(options.configPath),
    dataset: options.dataset,
    cacheDir: options.cacheDir,
    timeBudget: 1,
    device: 'cpu',
    checkOnly: true,
  };
  const child = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), path.join(__dirname, `worker${ext}`)], {
    env: { ...process.env, AUTORESEARCH_WORKER_REQUEST: JSON.stringify(request) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearTimeout(timer);
  if (code === 0 && /config ok/.test(out)) return { ok: true, message: 'config ok' };
  const crash = /crash: (.*)/.exec(out);
  return { ok: false, message: crash ? crash[1]! : out.trim().split('\n').slice(-5).join('\n') || `exit code ${code}` };
}
