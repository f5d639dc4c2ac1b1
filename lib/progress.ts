// A one-line progress bar on stderr for terminals; on anything else (logs, CI) plain lines:
// a start line, a progress line every few seconds, a finish line, and no escape codes.

/** Seconds between progress lines when the output is not a terminal. */
export const PLAIN_PROGRESS_SECONDS = 5;

function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export interface ProgressOptions {
  unit?: 'items' | 'bytes';
  stream?: NodeJS.WriteStream;
}

export class ProgressBar {
  readonly #label: string;
  readonly #total: number;
  readonly #unit: 'items' | 'bytes';
  readonly #stream: NodeJS.WriteStream;
  readonly #tty: boolean;
  readonly #start = Date.now();
  #lastDraw = 0;
  #lastLine = Date.now();

  constructor(label: string, total: number, options: ProgressOptions = {}) {
    this.#label = label;
    this.#total = total;
    this.#unit = options.unit ?? 'items';
    this.#stream = options.stream ?? process.stderr;
    this.#tty = !!this.#stream.isTTY;
    if (!this.#tty) this.#stream.write(`${label}...\n`);
  }

  #amount(n: number): string {
    return this.#unit === 'bytes' ? formatBytes(n) : String(n);
  }

  update(done: number, detail = ''): void {
    const now = Date.now();
    if (!this.#tty) {
      if (now - this.#lastLine < PLAIN_PROGRESS_SECONDS * 1000) return;
      this.#lastLine = now;
      const percent = this.#total > 0 ? ` ${((100 * Math.min(1, done / this.#total)).toFixed(0))}%` : '';
      const total = this.#total > 0 ? `/${this.#amount(this.#total)}` : '';
      this.#stream.write(`${this.#label}:${percent} ${this.#amount(done)}${total}${detail ? ` ${detail}` : ''}\n`);
      return;
    }
    if (now - this.#lastDraw < 100 && done < this.#total) return;
    this.#lastDraw = now;
    const width = 30;
    const fraction = this.#total > 0 ? Math.min(1, done / this.#total) : 0;
    const filled = Math.round(fraction * width);
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
    const total = this.#total > 0 ? `/${this.#amount(this.#total)}` : '';
    this.#stream.write(`\r${this.#label} ${bar} ${(fraction * 100).toFixed(0).padStart(3)}% ${this.#amount(done)}${total} ${detail}\x1b[K`);
  }

  finish(detail = ''): void {
    const seconds = ((Date.now() - this.#start) / 1000).toFixed(1);
    const line = `${this.#label}: done in ${seconds} s${detail ? `, ${detail}` : ''}`;
    this.#stream.write(this.#tty ? `\r${line}\x1b[K\n` : `${line}\n`);
  }
}
