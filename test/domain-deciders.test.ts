/**
 * Given/When/Then for the organization, document, session, talks, person and key deciders:
 * chairmanship terms do not overlap, a document is adopted once, a key is registered once,
 * talks take the session's first day.
 */
import t from 'tap';
import { fieldOf, storedFact } from '../events/index.js';
import {
  documentDecider, keyDecider, organizationDecider, personDecider, sessionDecider, talksDecider,
  type DomainEvent, type StreamDecider, type StreamState,
} from '../src/domain/index.js';
import { newFactId, refusal, SOURCE } from './fixtures/facts.js';

// Test data is untyped on purpose (storedFact takes it as the type's data, as the log's reader does).
const ev = (type: DomainEvent['type'], data: Record<string, unknown>, factId = newFactId()): DomainEvent => ({ ...storedFact(type, data), factId, source: { ...SOURCE } });

function given(decider: StreamDecider, ...events: DomainEvent[]): StreamState {
  let s = decider.initialState();
  events.forEach((e, revision) => (s = decider.evolve(s, { ...e, revision })));
  return s;
}

const ORG = newFactId();
const RU = newFactId();
const KG = newFactId();
const org = ev('OrganizationRegistered', { key: 'csto', name: 'CSTO', classification: 'organization' }, ORG);
const chair = (state: string, term: { from: string; to?: string }): DomainEvent => ev('ChairmanshipPassed', { organization: ORG, chair: state, term });

t.test('chairmanship terms of one organization do not overlap', async (t) => {
  const ru = chair(RU, { from: '2025-01-01', to: '2025-12-31' });
  t.test('given Russia for 2025, when Kyrgyzstan takes the chair for 2026, then it is recorded', async (t) => {
    const cmd = chair(KG, { from: '2026-01-01', to: '2026-12-31' });
    t.same(organizationDecider.decide(cmd, given(organizationDecider, org, ru)), [cmd]);
  });
  t.test('given Russia for 2025, when Kyrgyzstan takes it from its last day (handover), then it is recorded', async (t) => {
    const cmd = chair(KG, { from: '2025-12-31', to: '2026-12-31' });
    t.same(organizationDecider.decide(cmd, given(organizationDecider, org, ru)), [cmd]);
  });
  t.test('given Russia for 2025, when Kyrgyzstan is given 2025-07-01..2026-06-30, then 409 naming Russia\'s term', async (t) => {
    const r = refusal(() => organizationDecider.decide(chair(KG, { from: '2025-07-01', to: '2026-06-30' }), given(organizationDecider, org, ru)));
    t.equal(r.kind, 'conflict');
    t.equal(r.collidesWith, ru.factId);
  });
  t.test('given Russia for 2025, when it is corrected to run into 2026 over Kyrgyzstan\'s term, then 409', async (t) => {
    const kg = chair(KG, { from: '2026-01-01', to: '2026-12-31' });
    const cmd = ev('FactCorrected', { fact: ru.factId, data: { ...ru.data, term: { from: '2025-01-01', to: '2026-06-30' } }, reason: 'misread' });
    const r = refusal(() => organizationDecider.decide(cmd, given(organizationDecider, org, ru, kg)));
    t.equal(r.collidesWith, kg.factId);
  });
  t.test('given two terms that already certainly overlap (a record kept before a rule was tightened), when one is corrected in its motto alone, then it is recorded; a new overlap is still refused', async (t) => {
    const kg = chair(KG, { from: '2025-06-01', to: '2026-05-31' });
    const cmd = ev('FactCorrected', { fact: kg.factId, data: { ...kg.data, motto: 'Together' }, reason: 'the motto' });
    t.same(organizationDecider.decide(cmd, given(organizationDecider, org, ru, kg)), [cmd], 'the inherited overlap is not the correction\'s doing');
    const worse = ev('FactCorrected', { fact: kg.factId, data: { ...kg.data, term: { from: '2026-01-01', to: '2026-12-31' } }, reason: 'the term' });
    t.same(organizationDecider.decide(worse, given(organizationDecider, org, ru, kg)), [worse], 'nor one that takes it away');
    const third = chair(newFactId(), { from: '2026-03-01', to: '2026-12-31' });
    t.equal(refusal(() => organizationDecider.decide(third, given(organizationDecider, org, ru, kg))).collidesWith, kg.factId, 'a new term over either is refused');
  });
  t.test('given an unregistered organization, when a membership is recorded in its stream, then 404', async (t) => {
    t.equal(refusal(() => organizationDecider.decide(ev('MembershipStarted', { organization: ORG, member: RU, on: '1992' }), given(organizationDecider))).kind, 'not_found');
  });
  t.test('given the organization, when a membership starts, then it is recorded', async (t) => {
    const cmd = ev('MembershipStarted', { organization: ORG, member: RU, on: '1992-05-15' });
    t.same(organizationDecider.decide(cmd, given(organizationDecider, org)), [cmd]);
  });
});

t.test('a document is adopted once', async (t) => {
  const DOC = newFactId();
  const considered = ev('DocumentConsidered', { title: 'Strategy', kind: 'strategy', body: ORG, session: newFactId() }, DOC);
  const adopt = (): DomainEvent => ev('DocumentAdopted', { document: DOC, body: ORG, adoptedOn: '2025-11-27' });
  t.test('given a considered document, when it is adopted, then it is recorded', async (t) => {
    const cmd = adopt();
    t.same(documentDecider.decide(cmd, given(documentDecider, considered)), [cmd]);
  });
  t.test('given an adopted document, when it is adopted again, then 409 naming the adoption', async (t) => {
    const first = adopt();
    const r = refusal(() => documentDecider.decide(adopt(), given(documentDecider, considered, first)));
    t.equal(r.kind, 'conflict');
    t.equal(r.collidesWith, first.factId);
  });
  t.test('given the adoption retracted, when it is adopted again, then it is recorded', async (t) => {
    const first = adopt();
    const cmd = adopt();
    t.same(documentDecider.decide(cmd, given(documentDecider, considered, first, ev('FactRetracted', { fact: first.factId, reason: 'wrong' }))), [cmd]);
  });
  t.test('given no document, when an adoption names it, then 404', async (t) => {
    t.equal(refusal(() => documentDecider.decide(adopt(), given(documentDecider))).kind, 'not_found');
  });
  t.test('given nothing, when a new document is adopted outright, then it is recorded', async (t) => {
    const cmd = ev('DocumentAdopted', { title: 'Declaration', kind: 'declaration', body: ORG, adoptedOn: '2025-11-27' });
    t.same(documentDecider.decide(cmd, given(documentDecider)), [cmd]);
  });
});

t.test('sessions and talks', async (t) => {
  const SESSION = newFactId();
  const held = ev('SessionHeld', { body: ORG, held: { from: '2025-11-27' } }, SESSION);
  t.test('given a session, when sideline talks without a date are held at it, then they take its first day', async (t) => {
    const cmd = ev('SidelineTalksHeld', { session: SESSION, participants: [{ person: newFactId() }] });
    const [out] = sessionDecider.decide(cmd, given(sessionDecider, held));
    t.equal(out && fieldOf(out, 'on'), '2025-11-27');
  });
  t.test('given the talks recorded, when they are sent again without a date, then nothing new', async (t) => {
    const cmd = ev('SidelineTalksHeld', { session: SESSION, participants: [{ person: newFactId() }] });
    const [out] = sessionDecider.decide(cmd, given(sessionDecider, held));
    t.same(sessionDecider.decide(cmd, given(sessionDecider, held, out as DomainEvent)), []);
  });
  t.test('given no session, when a delegate attends it, then 404', async (t) => {
    t.equal(refusal(() => sessionDecider.decide(ev('DelegateAttended', { session: SESSION, person: newFactId() }), given(sessionDecider))).kind, 'not_found');
  });
  t.test('given a retracted session, when a report is delivered at it, then 404', async (t) => {
    const s = given(sessionDecider, held, ev('FactRetracted', { fact: SESSION, reason: 'no such session' }));
    t.equal(refusal(() => sessionDecider.decide(ev('ReportDelivered', { session: SESSION, person: newFactId(), subject: 'x' }), s)).kind, 'not_found');
  });
  t.test('talks without a session live in their own stream', async (t) => {
    const cmd = ev('SidelineTalksHeld', { on: '2025-11-27', participants: [{ organization: ORG }] });
    t.same(talksDecider.decide(cmd, given(talksDecider)), [cmd]);
  });
});

t.test('registrations', async (t) => {
  t.test('given nothing, when a person is registered, then it is recorded; when corrected, the name is replaced', async (t) => {
    const p = ev('PersonRegistered', { name: 'Imangali Tasmagambetov' });
    t.same(personDecider.decide(p, given(personDecider)), [p]);
    const c = ev('FactCorrected', { fact: p.factId, data: { name: 'Imangali N. Tasmagambetov' }, reason: 'full name' });
    const s = given(personDecider, p, c);
    const now = s.facts.get(p.factId);
    t.equal(now && fieldOf(now, 'name'), 'Imangali N. Tasmagambetov');
  });
  t.test('given a registration, a correction may not change its key', async (t) => {
    const r = refusal(() => organizationDecider.decide(ev('FactCorrected', { fact: ORG, data: { ...org.data, key: 'odkb' }, reason: 'x' }), given(organizationDecider, org)));
    t.equal(r.kind, 'invalid');
    t.match(JSON.stringify(r.errors), 'data.data.key');
  });
});

t.test('a key is registered once', async (t) => {
  const first = { key: 'csto', entityId: ORG, entityKind: 'organization' as const, factId: ORG };
  const reserved = keyDecider.evolve(keyDecider.initialState(), { revision: 0, data: first });
  t.test('given no reservation, when the key is reserved, then KeyReserved', async (t) => {
    t.same(keyDecider.decide(first, keyDecider.initialState()), [first]);
  });
  t.test('given the key reserved by this fact (a retry after a crash), then it is re-used', async (t) => {
    t.same(keyDecider.decide(first, reserved), []);
  });
  t.test('given the key reserved by another fact, then 409 naming it', async (t) => {
    const other = newFactId();
    const r = refusal(() => keyDecider.decide({ key: 'csto', entityId: other, entityKind: 'organization', factId: other }, reserved));
    t.equal(r.kind, 'conflict');
    t.equal(r.collidesWith, ORG);
  });
});
