#!/usr/bin/env node
// The `autoresearch` command: wiring only; each command lives in lib/cli/. Exit codes
// (lib/cli/exit.ts): 0 ok, 1 the experiment crashed, 2 usage or set-up error, 130 interrupted.
import fs from 'node:fs';
import path from 'node:path';

import yargs, { type CommandModule } from 'yargs';
import { hideBin } from 'yargs/helpers';

import { dashboardCommand } from '../lib/cli/dashboard';
import { doctorCommand } from '../lib/cli/doctor';
import { evalCommand } from '../lib/cli/eval';
import { EXIT, exitCodeFor, UsageError } from '../lib/cli/exit';
import { initCommand } from '../lib/cli/init';
import { loopCommand } from '../lib/cli/loop';
import { plotCommand } from '../lib/cli/plot';
import { prepareCommand } from '../lib/cli/prepare';
import { rebuildCommand } from '../lib/cli/rebuild';
import { resultsCommand } from '../lib/cli/results';
import { runCommand } from '../lib/cli/run';
import { sampleCommand } from '../lib/cli/sample';
import { smokeCommand } from '../lib/cli/smoke';
import { workerCommand } from '../lib/cli/worker';
import { packageRoot } from '../lib/native/load';

const commands = [
  initCommand,
  prepareCommand,
  runCommand,
  smokeCommand,
  loopCommand,
  evalCommand,
  sampleCommand,
  doctorCommand,
  resultsCommand,
  plotCommand,
  dashboardCommand,
  rebuildCommand,
  workerCommand,
] as unknown as CommandModule<object, object>[];
const version = (JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
const argv = hideBin(process.argv);
const names = new Set(commands.map((c) => String(c.command).split(' ')[0]));
const command = argv.find((a) => !a.startsWith('-'));

void yargs(argv)
  .scriptName('autoresearch')
  .usage('$0 <command> [options]\n\nExit codes: 0 ok, 1 the experiment crashed, 2 usage or set-up error, 130 interrupted.')
  .command(commands)
  .demandCommand(1, 'Name a command.')
  .recommendCommands()
  .strict()
  .version(version)
  .alias('v', 'version')
  .help()
  .alias('h', 'help')
  .wrap(Math.min(110, process.stdout.columns || 100))
  .fail((message, error) => {
    // Our errors already say what is wrong and what to do: print them plainly.
    const hint = command && names.has(command) ? `autoresearch ${command} --help` : 'autoresearch --help';
    if (error && !(error instanceof UsageError)) {
      process.stderr.write(`autoresearch: ${error.message}\n`);
      process.exit(exitCodeFor(error));
    }
    process.stderr.write(`autoresearch: ${error ? error.message : message} (see ${hint})\n`);
    process.exit(EXIT.usage);
  })
  .parseAsync();
