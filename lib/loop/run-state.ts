// The per-run state file (.autoresearch/run.json) the loop keeps beside the results: the tag
// being run, where its experiment numbers start, the noise measured. Its own module because
// both the loop's start-up and the results reader (tag inference) need it.
import fs from 'node:fs/promises';
import path from 'node:path';

import { writeFileAtomic } from '../atomic-file';
import { STATE_DIR } from './paths';

/** Per-run state kept beside the results: where this tag's rows start, the noise measured. */
export interface RunState {
  tag: string;
  firstExperiment: number;
  noise?: number;
  /** The lowest experiment number never handed out (written before a number is used). */
  nextExperiment?: number;
}

export function stateText(state: RunState): string {
  return JSON.stringify(state, null, 2) + '\n';
}

export async function readState(dir: string): Promise<RunState | null> {
  try {
    return JSON.parse(await fs.readFile(path.join(dir, STATE_DIR, 'run.json'), 'utf8')) as RunState;
  } catch {
    return null;
  }
}

export async function writeState(dir: string, state: RunState): Promise<void> {
  writeFileAtomic(path.join(dir, STATE_DIR, 'run.json'), stateText(state));
}
