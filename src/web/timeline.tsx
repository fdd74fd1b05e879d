/**
 * An office's succession drawn as a timeline, in SVG made on the server (no script): each term
 * a bar on a time axis, in as few rows as overlapping terms allow. What the record makes
 * certain is drawn solid; where imprecise dates only make it possible (a term known to begin
 * "in 2026" may have begun on any day of it), hatched; an open term runs to the edge with an
 * arrow; acting terms and attestations (a person named in the office at a session) have their
 * own look, and days no term may cover are marked as "no holder recorded". The chosen day (or
 * month, or year) is a band across the rows.
 *
 * `layoutTimeline` is pure arithmetic on day numbers, tested on its own; `Timeline` draws it.
 */
import { OPEN_END, lowerBound, upperBound } from '../../events/index.js';
import type { HolderItem } from '../../projections/index.js';
import { nameOf } from './components.js';

const DAY_MS = 86_400_000;
/** Day number of a `YYYY-MM-DD` string (days since 1970-01-01). */
export const dayNumber = (d: string): number => Date.UTC(Number(d.slice(0, 4)), Number(d.slice(5, 7)) - 1, Number(d.slice(8, 10))) / DAY_MS;
const dayString = (n: number): string => new Date(n * DAY_MS).toISOString().slice(0, 10);

export interface Segment {
  /** First day (inclusive) and the day after the last, as day numbers. */
  from: number;
  to: number;
  kind: 'possible' | 'certain';
}

export interface Bar {
  item: HolderItem;
  lane: number;
  segments: Segment[];
  /** No end recorded: the bar runs to the axis end. */
  open: boolean;
  /** The earliest and latest days the term may cover (day numbers, `to` exclusive). */
  from: number;
  to: number;
}

export interface Gap {
  from: number;
  to: number;
}

export interface TimelineLayout {
  bars: Bar[];
  lanes: number;
  /** Axis, day numbers (end exclusive). */
  start: number;
  end: number;
  /** Spans between terms that no term may cover: no holder recorded. */
  gaps: Gap[];
  chosen: { from: number; to: number };
  today: number;
}

/**
 * Bars, lanes and gaps for a succession (items ordered by start, as the API gives them), the
 * chosen day/month/year and today. An open end runs to the later of today and the chosen days.
 */
export function layoutTimeline(items: readonly HolderItem[], validAt: string, today: string): TimelineLayout {
  const chosen = { from: dayNumber(lowerBound(validAt)), to: dayNumber(upperBound(validAt)) + 1 };
  const now = dayNumber(today);
  const lastFinite = items.reduce((m, i) => (i.term.to !== null ? Math.max(m, dayNumber(upperBound(i.term.to)) + 1) : m), -Infinity);
  const firstStart = items.reduce((m, i) => Math.min(m, dayNumber(lowerBound(i.term.from))), Infinity);
  let start = Math.min(firstStart, chosen.from);
  let end = Math.max(lastFinite, chosen.to, items.some((i) => i.term.to === null) ? now + 1 : -Infinity);
  if (!Number.isFinite(start)) start = chosen.from;
  if (!Number.isFinite(end)) end = chosen.to;
  // At least a year wide, and a little room on both sides.
  if (end - start < 365) {
    const mid = (start + end) / 2;
    start = Math.floor(mid - 183);
    end = Math.ceil(mid + 183);
  }
  const pad = Math.ceil((end - start) * 0.02);
  start -= pad;
  end += pad;

  const laneEnds: number[] = [];
  const bars: Bar[] = items.map((item) => {
    const s0 = dayNumber(lowerBound(item.term.from));
    const s1 = dayNumber(upperBound(item.term.from));
    const open = item.term.to === null;
    const e0 = open ? end : dayNumber(lowerBound(item.term.to as string));
    const e1 = open ? end : dayNumber(upperBound(item.term.to as string)) + 1;
    const segments: Segment[] = [];
    // Certain: from the last day it may have begun to the first day it may have ended.
    if (s1 <= e0) {
      if (s0 < s1) segments.push({ from: s0, to: s1, kind: 'possible' });
      segments.push({ from: s1, to: open ? end : e0 + 1, kind: 'certain' });
      if (!open && e0 + 1 < e1) segments.push({ from: e0 + 1, to: e1, kind: 'possible' });
    } else {
      segments.push({ from: s0, to: e1, kind: 'possible' });
    }
    let lane = laneEnds.findIndex((laneEnd) => laneEnd <= s0);
    if (lane < 0) lane = laneEnds.push(e1) - 1;
    else laneEnds[lane] = e1;
    return { item, lane, segments, open, from: s0, to: e1 };
  });

  // Days no term may cover, between the first term's start and the last one's end.
  const gaps: Gap[] = [];
  const spans = bars.map((b) => [b.from, b.to] as const).sort((a, b) => a[0] - b[0]);
  let reach = spans[0]?.[1] ?? 0;
  for (const [from, to] of spans.slice(1)) {
    if (from > reach) gaps.push({ from: reach, to: from });
    reach = Math.max(reach, to);
  }
  return { bars, lanes: Math.max(1, laneEnds.length), start, end, gaps, chosen, today: now };
}

/** Year ticks: a step of 1, 2, 5, 10, 20, 50 or 100 years, at most ~10 ticks. */
export function yearTicks(start: number, end: number): number[] {
  const y0 = new Date(start * DAY_MS).getUTCFullYear();
  const y1 = new Date(end * DAY_MS).getUTCFullYear();
  const step = [1, 2, 5, 10, 20, 50, 100, 200, 500].find((s) => (y1 - y0) / s <= 10) ?? 1000;
  const out: number[] = [];
  for (let y = Math.ceil(y0 / step) * step; y <= y1; y += step) {
    const d = Date.UTC(y, 0, 1) / DAY_MS;
    if (d >= start && d <= end) out.push(y);
  }
  return out;
}

const WIDTH = 960;
const LANE = 30;
const BAR = 18;
const TOP = 22;
const AXIS = 34;

/** A description of a term in words, for the bar's accessible name and tooltip. */
export function describeBar(b: Bar): string {
  const i = b.item;
  const parts = [`${nameOf(i.person)}: ${i.term.from} to ${i.term.to ?? 'no end recorded'}`];
  if (i.acting) parts.push('acting');
  parts.push(i.basis === 'attested' ? `attested at a session (${i.capacity ?? 'named in the office'})` : 'appointed');
  if (b.segments.some((s) => s.kind === 'possible')) parts.push('dates imprecise: hatched where only possible');
  if (i.correctedBy) parts.push('corrected');
  return parts.join('; ');
}

export function Timeline({ items, validAt, today, link, label }: { items: readonly HolderItem[]; validAt: string; today: string; link: (factId: string) => string; label: string }) {
  const t = layoutTimeline(items, validAt, today);
  const height = TOP + t.lanes * LANE + AXIS;
  const x = (d: number): number => Math.round(((d - t.start) / (t.end - t.start)) * WIDTH * 10) / 10;
  const w = (from: number, to: number): number => Math.max(1.5, x(to) - x(from));
  const chosenX = x(t.chosen.from);
  const chosenW = w(t.chosen.from, t.chosen.to);
  const laneY = (lane: number): number => TOP + lane * LANE + (LANE - BAR) / 2;
  return (
    <svg class="timeline" viewBox={`0 0 ${WIDTH} ${height}`} width={WIDTH} height={height} role="group" aria-label={label}>
      <defs>
        <pattern id="hatch" patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)">
          <rect class="hatch-bg" width="6" height="6" />
          <line class="hatch-line" x1="0" y1="0" x2="0" y2="6" />
        </pattern>
        <pattern id="gap-hatch" patternUnits="userSpaceOnUse" width="8" height="8" patternTransform="rotate(-45)">
          <line class="gap-line" x1="0" y1="0" x2="0" y2="8" />
        </pattern>
        <marker id="arrow" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="6" markerHeight="6" orient="auto">
          <path class="arrow" d="M0,0 L10,5 L0,10 z" />
        </marker>
      </defs>
      {t.gaps.map((g) => (
        <g class="gap">
          <title>{`No holder recorded from ${dayString(g.from)} to ${dayString(g.to - 1)}`}</title>
          <rect x={x(g.from)} y={TOP} width={w(g.from, g.to)} height={t.lanes * LANE} />
        </g>
      ))}
      <rect class="chosen" x={chosenX} y={4} width={chosenW} height={height - AXIS - 2} />
      <text class="chosen-label" x={Math.min(chosenX + chosenW + 3, WIDTH - 4)} y={14} text-anchor={chosenX + chosenW + 90 > WIDTH ? 'end' : 'start'}>
        {validAt}
      </text>
      {t.today >= t.start && t.today <= t.end && <line class="today" x1={x(t.today)} x2={x(t.today)} y1={TOP} y2={TOP + t.lanes * LANE} />}
      {t.bars.map((b) => {
        const y = laneY(b.lane);
        const kind = b.item.basis === 'attested' ? 'attested' : b.item.acting ? 'acting' : 'appointed';
        const label = describeBar(b);
        const bx = x(b.from);
        const bw = w(b.from, b.to);
        const name = nameOf(b.item.person);
        const fits = bw > name.length * 6.6 + 8;
        return (
          <a href={link(b.item.factId)} aria-label={label} class={`bar ${kind}${b.item.correctedBy ? ' corrected' : ''}`}>
            <title>{label}</title>
            {b.segments.map((s) => (
              <rect class={s.kind} x={x(s.from)} y={y} width={w(s.from, s.to)} height={BAR} />
            ))}
            {b.open && <line class="open" x1={x(b.to) - 14} x2={x(b.to) - 2} y1={y + BAR / 2} y2={y + BAR / 2} marker-end="url(#arrow)" />}
            {fits && (
              <text x={bx + 4} y={y + BAR - 5}>
                {name}
              </text>
            )}
          </a>
        );
      })}
      <g class="axis">
        <line x1={0} x2={WIDTH} y1={TOP + t.lanes * LANE + 2} y2={TOP + t.lanes * LANE + 2} />
        {yearTicks(t.start, t.end).map((year) => {
          const tx = x(Date.UTC(year, 0, 1) / DAY_MS);
          return (
            <g>
              <line x1={tx} x2={tx} y1={TOP + t.lanes * LANE + 2} y2={TOP + t.lanes * LANE + 8} />
              <text x={tx} y={TOP + t.lanes * LANE + 22} text-anchor="middle">
                {year}
              </text>
            </g>
          );
        })}
      </g>
    </svg>
  );
}

export function TimelineLegend() {
  return (
    <ul class="legend" aria-label="How to read the timeline">
      <li>
        <span class="key certain" aria-hidden="true" /> certain: the record places the term on these days
      </li>
      <li>
        <span class="key possible" aria-hidden="true" /> possible: the dates are known only to the month or year, so the term may have begun or ended on these days
      </li>
      <li>
        <span class="key acting" aria-hidden="true" /> acting
      </li>
      <li>
        <span class="key attested" aria-hidden="true" /> attested: named in the office at a session, no appointment recorded
      </li>
      <li>
        <span class="key gap" aria-hidden="true" /> no holder recorded (vacant, where the succession is fully recorded)
      </li>
      <li>
        <span class="key chosen" aria-hidden="true" /> the chosen day, month or year; <span class="key today" aria-hidden="true" /> today
      </li>
    </ul>
  );
}

export { dayString, OPEN_END };
