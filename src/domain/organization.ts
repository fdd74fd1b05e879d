/**
 * The organization stream (`organization-<id>`): its registration, memberships of it, and
 * the chairmanship passing from state to state. Chairmanship terms of one organization do
 * not overlap beyond the handover day.
 */
import type { FactData } from '../../events/index.js';
import type { Rule } from './decide.js';
import { standing } from './state.js';
import { streamDecider } from './stream.js';
import { refuseMembershipConflict } from './membership.js';
import { refuseOverlap, type HeldTerm } from './terms.js';

const chairTerm = (f: { factId: string; data: FactData<'ChairmanshipPassed'> }): HeldTerm => ({ factId: f.factId, holder: f.data.chair, term: f.data.term });

const chairmanshipsDoNotOverlap: Rule = (state, fact) => {
  if (fact.type !== 'ChairmanshipPassed') return;
  const held = standing(state, 'ChairmanshipPassed').map(chairTerm);
  refuseOverlap(chairTerm(fact), held, 'chairmanship', new Map(held.map((c) => [c.factId, c.term])));
};

export const organizationDecider = streamDecider('organization', { rules: [refuseMembershipConflict, chairmanshipsDoNotOverlap] });
