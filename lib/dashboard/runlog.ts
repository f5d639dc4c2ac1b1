// Reading an experiment's log (run.log) as it grows: the training loss per step from the
// trainer's progress lines (`step 00042 (12.3%) | loss: 4.567890 | ...`), the phase the run
// is in, and the val_bpb of its summary block once it has one. Lines are fed as they arrive;
// nothing here touches the file system.

/** One training step of a run, as its progress line reports it. */
export interface LossPoint {
  step: number;
  /** Counted training time over the budget, in percent (0 during the warm-up steps). */
  progress: number;
  /** The smoothed (EMA, debiased) training loss the line shows. */
  loss: number;
}

/** Where a run is, judged from its log. */
export type RunPhase = 'starting' | 'training' | 'evaluating' | 'finished' | 'crashed';

const STEP_LINE = /^step (\d+) \(([\d.]+)%\) \| loss: (-?[\d.]+(?:e[+-]?\d+)?)/;
const VAL_BPB_LINE = /^val_bpb:\s+(-?[\d.]+)\s*$/;

/** The loss point of a progress line, or null for any other line. */
function parseStepLine(line: string): LossPoint | null {
  const match = STEP_LINE.exec(line);
  if (!match) return null;
  const point = { step: Number(match[1]), progress: Number(match[2]), loss: Number(match[3]) };
  return Number.isFinite(point.loss) && Number.isFinite(point.progress) ? point : null;
}

/**
 * The state of one run's log, fed line by line. `push` returns the loss points the lines
 * added; `restarted` turns true when a step number goes backwards (the file was rewritten by
 * the next run without this reader noticing the truncation).
 */
export class RunLogReader {
  readonly points: LossPoint[] = [];
  phase: RunPhase = 'starting';
  /** The summary block's val_bpb, once printed. */
  valBpb: number | null = null;
  /** The `crash: ...` line's text, when the run crashed. */
  crash: string | null = null;
  /** The last few lines, for showing what the run prints. */
  readonly tail: string[] = [];
  restarted = false;
  private partial = '';

  /** Feeds a chunk of the log (any split; partial lines are kept until completed). */
  push(chunk: string): LossPoint[] {
    const text = this.partial + chunk;
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    const added: LossPoint[] = [];
    for (const raw of lines) {
      const line = raw.replace(/\r$/, '');
      if (line === '') continue;
      this.tail.push(line);
      if (this.tail.length > 50) this.tail.shift();
      const point = parseStepLine(line);
      if (point) {
        const last = this.points[this.points.length - 1];
        if (last && point.step <= last.step) this.restarted = true;
        this.points.push(point);
        added.push(point);
        this.phase = 'training';
        continue;
      }
      if (line.startsWith('evaluating ')) this.phase = 'evaluating';
      else if (line.startsWith('crash:') || line === 'FAIL') {
        this.phase = 'crashed';
        this.crash = line;
      } else {
        const bpb = VAL_BPB_LINE.exec(line);
        if (bpb) {
          this.valBpb = Number(bpb[1]);
          this.phase = 'finished';
        }
      }
    }
    return added;
  }
}

/**
 * The loss of `curve` at each of `progress` (percent), linearly interpolated between its
 * counted steps; null outside the curve's range. For comparing a run with another at equal
 * progress through the budget.
 */
export function lossAtProgress(curve: readonly LossPoint[], progress: readonly number[]): Array<number | null> {
  const counted = curve.filter((p) => p.progress > 0);
  return progress.map((x) => {
    if (counted.length === 0 || x < counted[0]!.progress || x > counted[counted.length - 1]!.progress) return null;
    let lo = 0;
    let hi = counted.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (counted[mid]!.progress <= x) lo = mid;
      else hi = mid;
    }
    const a = counted[lo]!;
    const b = counted[hi]!;
    if (b.progress === a.progress) return a.loss;
    return a.loss + ((b.loss - a.loss) * (x - a.progress)) / (b.progress - a.progress);
  });
}
