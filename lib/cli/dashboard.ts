// `autoresearch dashboard`: serve the live view of a research session until Ctrl-C.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import type { CommandModule } from 'yargs';

import { DEFAULT_DASHBOARD_PORT, isLoopback, startDashboard } from '../dashboard/server';
import { openRepo } from '../loop/git';

interface DashboardArgs {
  dir: string;
  port: number;
  host: string;
  'allow-remote': boolean;
  open: boolean;
}

/** The repository's top directory when `dir` is inside one, else `dir` (e.g. a copied session). */
async function sessionDir(dir: string): Promise<string> {
  if (fs.existsSync(path.join(dir, 'results.jsonl'))) return path.resolve(dir);
  try {
    return (await openRepo(dir)).dir;
  } catch {
    return path.resolve(dir);
  }
}

/** Opens `url` in the desktop's browser, if there is one; says so when there is not. */
function openBrowser(url: string): void {
  const command = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'cmd' : 'xdg-open';
  const args = process.platform === 'win32' ? ['/c', 'start', '', url] : [url];
  const child = spawn(command, args, { stdio: 'ignore', detached: true });
  child.on('error', () => process.stderr.write(`could not start ${command}; open ${url} yourself\n`));
  child.unref();
}

export const dashboardCommand: CommandModule<object, DashboardArgs> = {
  command: 'dashboard',
  describe: 'Watch a research session live in the browser: cards, charts, the running loss, diffs, a stop button',
  builder: (y) =>
    y
      .option('dir', { type: 'string', default: '.', describe: 'the research repository (where results.jsonl and run.log are)' })
      .option('port', { type: 'number', default: DEFAULT_DASHBOARD_PORT, describe: 'port to listen on (0: any free port)' })
      .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to listen on (anything but loopback needs --allow-remote)' })
      .option('allow-remote', { type: 'boolean', default: false, describe: 'allow --host to be an address other machines can reach' })
      .option('open', { type: 'boolean', default: false, describe: 'open the page in the browser' })
      .check((argv) => {
        if (!Number.isInteger(argv.port) || argv.port < 0 || argv.port > 65535) throw new Error(`--port ${argv.port} is not a port number`);
        return true;
      }),
  handler: async (argv) => {
    const dir = await sessionDir(argv.dir);
    if (!isLoopback(argv.host)) {
      if (!argv['allow-remote']) {
        throw new Error(`--host ${argv.host} would let other machines see the session and stop the loop; add --allow-remote if that is intended`);
      }
      process.stderr.write(
        `warning: listening on ${argv.host}: anyone who can reach this address can see the results, the diffs and the logs, and stop the loop (there is no login)\n`,
      );
    }
    const dashboard = await startDashboard({ dir, port: argv.port, host: argv.host, allowRemote: argv['allow-remote'] });
    process.stdout.write(`dashboard of ${dir} at ${dashboard.url} (Ctrl-C to stop)\n`);
    if (argv.open) openBrowser(dashboard.url);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await dashboard.close();
  },
};
