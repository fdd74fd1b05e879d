/**
 * Callers waiting until a follower of the log (read models, the audit tree) reaches a
 * position, each with a time limit. Positions compare as strings (store/port.ts).
 */
import type { Position } from './port.js';

export class PositionWaiters {
  private readonly waiters = new Set<{ position: Position; resolve(ok: boolean): void }>();

  /** Resolves true once `reached` passes `position`, false after `timeoutMs` or on `cancelAll`. */
  wait(position: Position, timeoutMs: number): Promise<boolean> {
    if (timeoutMs <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const w = {
        position,
        resolve: (ok: boolean) => {
          clearTimeout(timer);
          this.waiters.delete(w);
          resolve(ok);
        },
      };
      const timer = setTimeout(() => w.resolve(false), timeoutMs);
      this.waiters.add(w);
    });
  }

  /** The follower reached `position`: everyone waiting for it or an earlier one is answered. */
  reached(position: Position): void {
    for (const w of [...this.waiters]) if (position >= w.position) w.resolve(true);
  }

  /** How many wait (someone waiting makes the audit follower write at once: feeder.ts). */
  get size(): number {
    return this.waiters.size;
  }

  cancelAll(): void {
    for (const w of [...this.waiters]) w.resolve(false);
  }
}
