// Run output for non-terminals: a throttled progress line instead of one line per step.
import { PLAIN_PROGRESS_SECONDS } from '../progress';

/**
 * Passes a run's output on, but on a non-terminal only one `step ...` line every
 * PLAIN_PROGRESS_SECONDS (and the last one before any other line), so CI logs get a moving
 * progress line instead of one line per step. Terminals get every line.
 */
export function plainRunOutput(write: (text: string) => void, tty: boolean, seconds = PLAIN_PROGRESS_SECONDS): (text: string) => void {
  if (tty) return write;
  let partial = '';
  let held: string | null = null;
  let last = 0;
  return (text: string) => {
    partial += text;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (/^step \d+ /.test(line)) {
        const now = Date.now();
        if (now - last >= seconds * 1000) {
          last = now;
          held = null;
          write(line + '\n');
        } else {
          held = line;
        }
        continue;
      }
      if (held !== null) write(held + '\n');
      held = null;
      write(line + '\n');
    }
  };
}
