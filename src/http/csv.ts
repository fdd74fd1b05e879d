/**
 * CSV (RFC 4180) for people who take a list into a spreadsheet: encoding, and the content
 * negotiation that picks it (`Accept: text/csv`, or `format=csv` for a plain link).
 *
 * Cells that a spreadsheet would run as a formula (starting with =, +, -, @, a tab or a
 * carriage return) are written with a leading apostrophe: a name recorded as a fact is data,
 * never a formula (OWASP, "CSV injection"). The body starts with a byte-order mark, so that
 * spreadsheet programs read names in Cyrillic or any other script as UTF-8.
 */

export type Cell = string | number | boolean | null | undefined;

export interface Column<T> {
  readonly header: string;
  readonly value: (item: T) => Cell;
}

const FORMULA = /^[=+\-@\t\r]/;

/** One cell: quoted when it holds a comma, a quote or a line break; formulas defused. */
export function csvCell(value: Cell): string {
  if (value === null || value === undefined) return '';
  let s = String(value);
  if (typeof value === 'string' && FORMULA.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const BOM = '\ufeff';

/** A header line and one line per item, CRLF-terminated (RFC 4180). */
export function toCsv<T>(items: readonly T[], columns: readonly Column<T>[]): string {
  const lines = [columns.map((c) => csvCell(c.header)).join(',')];
  for (const item of items) lines.push(columns.map((c) => csvCell(c.value(item))).join(','));
  return `${BOM}${lines.join('\r\n')}\r\n`;
}

interface MediaRange {
  type: string;
  q: number;
}

function parseAccept(header: string): MediaRange[] {
  return header.split(',').map((part) => {
    const [type = '', ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => /^\s*q\s*=(.*)$/.exec(p)).find((m) => m !== null);
    // An unreadable q is taken as 0: a malformed range asks for nothing.
    const n = q ? Number((q[1] as string).trim() || NaN) : 1;
    return { type: type.trim(), q: Number.isFinite(n) ? n : 0 };
  });
}

/** How much the client wants `type` (most specific range wins: text/csv over text/* over * / *). */
function quality(ranges: readonly MediaRange[], type: string): number {
  const [major] = type.split('/');
  const exact = ranges.find((r) => r.type === type);
  if (exact) return exact.q;
  const partial = ranges.find((r) => r.type === `${major}/*`);
  if (partial) return partial.q;
  return ranges.find((r) => r.type === '*/*')?.q ?? 0;
}

/** True when the request asks for CSV: `format=csv`, or an Accept header preferring text/csv to JSON (a tie goes to JSON). */
export function wantsCsv(accept: string | undefined, format: string | null): boolean {
  if (format !== null) return format.toLowerCase() === 'csv';
  if (!accept || !accept.toLowerCase().includes('csv')) return false;
  const ranges = parseAccept(accept);
  const csv = quality(ranges, 'text/csv');
  return csv > 0 && csv > quality(ranges, 'application/json');
}
