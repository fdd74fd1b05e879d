/**
 * The audit follower tells the event loop how far the tree got at most every 50 ms
 * (src/audit/follower-coalesced.ts): the first position at once, the ones within the spell as
 * one (the last) at its end, nothing lost, and close() flushes what waits. A hand-moved clock,
 * no sleeping.
 */
import t from 'tap';
import { coalesced, type CoalescedClock } from '../src/audit/follower-coalesced.js';

function manualClock(): CoalescedClock & { advance(ms: number): void; pending(): number } {
  let now = 1000;
  let timers: Array<{ at: number; fn: () => void }> = [];
  return {
    now: () => now,
    later(fn, ms) {
      const timer = { at: now + ms, fn };
      timers.push(timer);
      return () => {
        timers = timers.filter((x) => x !== timer);
      };
    },
    advance(ms) {
      now += ms;
      const due = timers.filter((x) => x.at <= now);
      timers = timers.filter((x) => x.at > now);
      for (const x of due) x.fn();
    },
    pending: () => timers.length,
  };
}

t.test('audited positions: the first at once, a burst as its last one at the end of the spell', async (t) => {
  const clock = manualClock();
  const told: number[] = [];
  const c = coalesced((p: number) => told.push(p), 50, clock);
  c.tell(1);
  t.same(told, [1], 'after a quiet spell: told at once');
  clock.advance(10);
  c.tell(2);
  clock.advance(10);
  c.tell(3);
  t.same(told, [1], 'within the spell: held');
  t.equal(clock.pending(), 1, 'one timer for the whole burst');
  clock.advance(29);
  t.same(told, [1]);
  clock.advance(1);
  t.same(told, [1, 3], 'at the end of the spell: the last position only');
  clock.advance(10);
  c.tell(4);
  t.same(told, [1, 3], 'a new spell began when 3 was told');
  clock.advance(40);
  t.same(told, [1, 3, 4]);
  clock.advance(100);
  c.tell(5);
  t.same(told, [1, 3, 4, 5], 'quiet again: at once');
  t.equal(clock.pending(), 0);
});

t.test('audited positions: flush tells what waits, once, and cancels its timer', async (t) => {
  const clock = manualClock();
  const told: number[] = [];
  const c = coalesced((p: number) => told.push(p), 50, clock);
  c.tell(1);
  c.tell(2);
  c.flush();
  t.same(told, [1, 2]);
  t.equal(clock.pending(), 0, 'no timer left to keep the thread alive');
  c.flush();
  clock.advance(100);
  t.same(told, [1, 2], 'nothing told twice');
});

t.test('audited positions: the real timer tells the held value', async (t) => {
  const told: number[] = [];
  const c = coalesced((p: number) => told.push(p), 5);
  c.tell(1);
  c.tell(2);
  await t.resolves(new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (told.length === 2) {
        clearInterval(poll);
        resolve();
      }
    }, 1);
  }));
  t.same(told, [1, 2]);
});
