// `autoresearch dashboard`: serve the live view of a research session until Ctrl-C. One loop tag
// at a time: --tag NAME, else the loop's (run.json's, followed when it starts another), else the
// tag `autoresearch results` would show.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import type { CommandModule } from 'yargs';

import { DEFAULT_DASHBOARD_PORT, isLoopback, startDashboard, type Dashboard, type DashboardOptions } from '../dashboard/server';
import { UnknownTagError } from '../errors';
import { openRepo } from '../loop/git';
import { tagLabel, UNTAGGED } from '../loop/report';
import { UsageError } from './exit';

interface DashboardArgs {
  dir: string;
  port: number;
  host: string;
  'allow-remote': boolean;
  open: boolean;
  tag?: string;
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

/** The dashboard, with an unknown --tag reported as a usage error (exit 2), as `results` reports it. */
async function start(options: DashboardOptions): Promise<Dashboard> {
  try {
    return await startDashboard(options);
  } catch (error) {
    throw error instanceof UnknownTagError ? new UsageError(error.message) : error;
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
      .option('tag', {
        type: 'string',
        describe: `the loop tag to show ('${UNTAGGED}' for rows from before results recorded their tag); default: the running loop's (.autoresearch/run.json), followed when it starts another, else the autoresearch/<tag> branch checked out, else the tag of the last experiment`,
      })
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
    const dashboard = await start({ dir, port: argv.port, host: argv.host, allowRemote: argv['allow-remote'], tag: argv.tag });
    const { tag, tags } = dashboard.session.tagView;
    const shown = tag !== null || tags.length > 0 ? ` (tag ${tagLabel(tag)})` : '';
    process.stdout.write(`dashboard of ${dir}${shown} at ${dashboard.url} (Ctrl-C to stop)\n`);
    if (argv.open) openBrowser(dashboard.url);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await dashboard.close();
  },
};
