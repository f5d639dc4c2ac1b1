#!/usr/bin/env node
// The `autoresearch` command: wiring only; each command lives in lib/cli/.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';

import { doctorCommand } from '../lib/cli/doctor';

void yargs(hideBin(process.argv))
  .scriptName('autoresearch')
  .command(doctorCommand)
  .demandCommand(1, 'Name a command (see --help).')
  .recommendCommands()
  .strict()
  .help()
  .parseAsync();
