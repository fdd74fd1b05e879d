/**
 * Memberships of an organization (MembershipStarted / MembershipEnded, in its stream): an
 * organization is not a member of itself, and one member's memberships do not overlap. A
 * member is a member from a start until an end, so a start is refused while another start of
 * the same member stands with no end between them, whichever of the two is dated first (a
 * history recorded out of order records the end of the earlier membership first). As with
 * terms, only dates that certainly order the facts count: a start in `2013` and another on
 * `2013-05-01` are not refused. A correction is refused only for what it would newly break.
 *
 * A rule of its own, called by the organization decider, so it can move with the deciders.
 */
import { lowerBound, upperBound } from '../../events/index.js';
import { conflict, type Candidate } from './decide.js';
import { creation, standing, type StreamState } from './state.js';

interface Dated {
  factId: string;
  start: boolean;
  member: string;
  on: string;
  lo: string;
  hi: string;
}

const TYPES = ['MembershipStarted', 'MembershipEnded'] as const;
/** A membership fact, new or stored. */
type Membership = Extract<Candidate, { type: (typeof TYPES)[number] }>;

const dated = (f: Membership): Dated => {
  const on = f.data.on;
  return { factId: f.factId, start: f.type === 'MembershipStarted', member: f.data.member, on, lo: lowerBound(on), hi: upperBound(on) };
};

/** Pairs of starts [earlier, later] of one member with no end certainly between them. */
function overlaps(facts: readonly Dated[]): Array<[Dated, Dated]> {
  const starts = facts.filter((f) => f.start);
  const ends = facts.filter((f) => !f.start);
  const found: Array<[Dated, Dated]> = [];
  for (const later of starts) {
    for (const earlier of starts) {
      if (earlier === later || earlier.hi > later.lo) continue;
      // Equal dates: one pair, not two.
      if (earlier.lo === later.lo && earlier.hi === later.hi && earlier.factId > later.factId) continue;
      const ended = ends.some((e) => earlier.lo <= e.lo && e.hi <= later.lo);
      if (!ended) found.push([earlier, later]);
    }
  }
  return found;
}

const key = ([a, b]: [Dated, Dated]): string => `${a.factId}|${b.factId}`;

/** Throws a 409 when `fact` (new, or replacing the version with its factId) makes a member of itself or overlapping memberships. */
export function refuseMembershipConflict(state: StreamState, fact: Candidate): void {
  if (fact.type !== 'MembershipStarted' && fact.type !== 'MembershipEnded') return;
  const candidate = dated(fact);
  if (candidate.member === fact.data.organization) {
    const registration = creation(state, 'OrganizationRegistered');
    throw conflict(`an organization is not a member of itself (${candidate.member}); name another organization as member`, registration?.factId);
  }
  const before = standing(state, ...TYPES).map(dated).filter((f) => f.member === candidate.member);
  const after = [...before.filter((f) => f.factId !== candidate.factId), candidate];
  const known = new Set(overlaps(before).map(key));
  const broken = overlaps(after).find((pair) => !known.has(key(pair)));
  if (!broken) return;
  const [earlier, later] = broken;
  const other = earlier.factId === candidate.factId ? later : earlier;
  throw conflict(
    `${candidate.member} would be a member twice: its membership started ${earlier.on} (fact ${earlier.factId}) has no end recorded before the one started ${later.on} (fact ${later.factId}); record a MembershipEnded for the earlier one first`,
    other.factId,
  );
}
