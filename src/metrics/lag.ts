/**
 * How far a reader of the log (the read models, the audit tree) is behind it: the events
 * after the position it applied, counted up to LAG_CAP, and how long the first of them has
 * been in the log. Read when /metrics is scraped; costs one head lookup when caught up.
 */
import type { EventStore, Position } from '../store/port.js';
import type { Lag } from './prometheus.js';

export const LAG_CAP = 10_000;

export async function lagBehind(store: Pick<EventStore, 'head' | 'readAll'>, applied: Position | null): Promise<Lag> {
  const head = await store.head();
  if (head === null || (applied !== null && head <= applied)) return { events: 0, seconds: 0 };
  const pending = await store.readAll({ ...(applied === null ? {} : { after: applied }), limit: LAG_CAP });
  const first = pending[0];
  return { events: pending.length, seconds: first ? Math.max(0, (Date.now() - Date.parse(first.recordedAt)) / 1000) : 0 };
}
