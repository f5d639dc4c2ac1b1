// Replacing a file so that a reader, or a kill at any moment, sees the whole old text or the
// whole new one, never a part: a temporary file beside it, synced, then renamed over it.
import fs from 'node:fs';
import path from 'node:path';

/** Writes `text` to `file` atomically (creating its folder), synchronously. */
export function writeFileAtomic(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}
