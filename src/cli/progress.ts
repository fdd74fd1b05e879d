/**
 * A progress line on stderr: a bar redrawn in place when stderr is a terminal, otherwise a
 * plain line at most every `everyMs` (default 2 s), so a log file gets a few lines, not
 * thousands. The clock is injectable for tests.
 */
export interface ProgressOptions {
  stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  label: string;
  /** Known total, or null: no bar and no percentage. */
  total: number | null;
  /** Default 2000 ms (non-TTY); a terminal is redrawn at most every 100 ms. */
  everyMs?: number;
  now?: () => number;
}

export interface Progress {
  /** `note`: what is under way when the count alone stands still (a rebuild's steps after the last event). */
  update(done: number, note?: string): void;
  /** The last line (newline-terminated on a terminal). */
  finish(done: number): void;
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

export function progress(options: ProgressOptions): Progress {
  const now = options.now ?? Date.now;
  const tty = options.stream.isTTY === true;
  const every = tty ? 100 : (options.everyMs ?? 2000);
  const started = now();
  let lastDraw = started;

  let note = '';
  const text = (done: number): string => {
    const seconds = Math.max((now() - started) / 1000, 0.001);
    const rate = `${fmt(done / seconds)}/s${note}`;
    const total = options.total;
    if (total === null || total <= 0) return `${options.label}: ${fmt(done)} ${rate}`;
    const ratio = Math.min(done / total, 1);
    const pct = `${Math.floor(ratio * 100)}%`.padStart(4);
    if (!tty) return `${options.label}: ${fmt(done)}/${fmt(total)} (${pct.trim()}) ${rate}`;
    const width = 30;
    const filled = Math.round(ratio * width);
    return `${options.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct} ${fmt(done)}/${fmt(total)} ${rate}`;
  };

  return {
    update(done, what) {
      note = what === undefined ? '' : `, ${what}`;
      const t = now();
      if (t - lastDraw < every) return;
      lastDraw = t;
      options.stream.write(tty ? `\r${text(done)}\x1b[K` : `${text(done)}\n`);
    },
    finish(done) {
      note = '';
      options.stream.write(tty ? `\r${text(done)}\x1b[K\n` : `${text(done)}\n`);
    },
  };
}
