// A run's log file (run.log), written by the experiment process itself: the file is its
// stdout and stderr. The parent no longer relays every progress line through a pipe: on a
// machine whose cores the training keeps busy, each line woke the parent on the training
// thread's core, and the line's write waited for it (~2 ms a step; docs/benchmarks.md). A
// caller that wants the output live gets what was appended, read back at a human pace.
import fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

/** How often a live reader gets the lines appended since the last read. */
export const FOLLOW_INTERVAL_MS = 500;

/** Bytes read from the end of the log for an excerpt. */
const TAIL_BYTES = 64 * 1024;

export class RunLog {
  /** Open for reading and appending; the worker's stdout and stderr share it. */
  readonly fd: number;
  #read = 0; // bytes handed to the follower so far
  #decoder = new StringDecoder('utf8');
  #timer: NodeJS.Timeout | undefined;
  #onText: ((text: string) => void) | undefined;

  /** Creates (or empties) the log at `file`. */
  constructor(file: string) {
    const { O_RDWR, O_CREAT, O_TRUNC, O_APPEND } = fs.constants;
    // O_APPEND: every write (the worker's two streams, then this process's own lines) lands
    // whole at the end.
    this.fd = fs.openSync(file, O_RDWR | O_CREAT | O_TRUNC | O_APPEND);
  }

  /** Hands `onText` what is appended, every FOLLOW_INTERVAL_MS, until close(). */
  follow(onText: (text: string) => void): void {
    this.#onText = onText;
    this.#timer = setInterval(() => this.#drain(), FOLLOW_INTERVAL_MS);
  }

  /** Appends this process's own text (after the worker has ended). */
  append(text: string): void {
    fs.writeSync(this.fd, text);
  }

  /** The last `n` lines of the log. */
  lastLines(n: number): string {
    const size = fs.fstatSync(this.fd).size;
    const start = Math.max(0, size - TAIL_BYTES);
    const buffer = Buffer.alloc(size - start);
    fs.readSync(this.fd, buffer, 0, buffer.length, start);
    const lines = buffer.toString('utf8').replace(/\s+$/, '').split('\n');
    if (start > 0) lines.shift(); // cut mid-line
    return lines.slice(-n).join('\n');
  }

  /** Hands the follower the rest, and closes the file. */
  close(): void {
    clearInterval(this.#timer);
    this.#drain();
    const rest = this.#decoder.end();
    if (rest && this.#onText) this.#onText(rest);
    fs.closeSync(this.fd);
  }

  #drain(): void {
    if (!this.#onText) return;
    const size = fs.fstatSync(this.fd).size;
    if (size <= this.#read) return;
    const buffer = Buffer.alloc(size - this.#read);
    const got = fs.readSync(this.fd, buffer, 0, buffer.length, this.#read);
    this.#read += got;
    const text = this.#decoder.write(buffer.subarray(0, got));
    if (text) this.#onText(text);
  }
}
