#!/usr/bin/env node
// The `autoresearch` command: wiring only; each command lives in lib/cli/.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';

import { dashboardCommand } from '../lib/cli/dashboard';
import { doctorCommand } from '../lib/cli/doctor';
import { initCommand } from '../lib/cli/init';
import { loopCommand } from '../lib/cli/loop';
import { plotCommand } from '../lib/cli/plot';
import { prepareCommand } from '../lib/cli/prepare';
import { resultsCommand } from '../lib/cli/results';
import { runCommand } from '../lib/cli/run';
import { evalCommand } from '../lib/cli/eval';
import { sampleCommand } from '../lib/cli/sample';

void yargs(hideBin(process.argv))
  .scriptName('autoresearch')
  .command(initCommand)
  .command(prepareCommand)
  .command(runCommand)
  .command(loopCommand)
  .command(evalCommand)
  .command(sampleCommand)
  .command(doctorCommand)
  .command(resultsCommand)
  .command(plotCommand)
  .command(dashboardCommand)
  .demandCommand(1, 'Name a command (see --help).')
  .recommendCommands()
  .strict()
  .help()
  .fail((message, error) => {
    // Our errors already say what is wrong and what to do: print them plainly.
    process.stderr.write(`autoresearch: ${error ? error.message : `${message} (see autoresearch --help)`}\n`);
    process.exit(1);
  })
  .parseAsync();
