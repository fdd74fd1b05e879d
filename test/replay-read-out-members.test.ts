/**
 * A replay's organizations are read out with their members read and paired once an organization
 * (src/cli/state.ts unitLines: organizations/queries.ts membersWhole), not a page of 1,000 at a
 * time as `ReadQueries.members` answers them: on the fold a replay makes, for random histories of
 * memberships started, ended, corrected (their day, their member) and retracted, of chairmanships
 * and of the member states' names, at several knownAt (some before many of the facts), each
 * organization's line equals JSON.stringify of the object `readUnit` makes of it (every page of
 * `members` and `chairs`), one with more than a page of members among them.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import t from 'tap';
import { ReadQueries, buildFresh } from '../projections/index.js';
import { entityUnits, readUnit, unitLines } from '../src/cli/state.js';
import { TestLog } from './fixtures/history.js';
import { recordMemberships } from './fixtures/membership-history.js';

const silent = pino({ level: 'silent' });

t.test("a replay's organizations with their members paired once equal their objects serialized", async (t) => {
  const dir = t.testdir();
  const seen = { organizations: 0, members: 0, ended: 0, open: 0, corrected: 0, chairs: 0, unknownMember: 0, laterFacts: 0, retracted: 0, overPage: 0 };
  let differ = 0;
  for (const [seed, n, orgs] of [[5, 600, 3], [23, 900, 4], [977, 5000, 2]] as const) {
    const log = new TestLog();
    recordMemberships(log, n, seed, { orgs, bias: orgs === 2 ? 0.9 : 0.6 });
    const times = log.events.map((e) => e.recordedAt);
    for (const [i, k] of [times[Math.floor(times.length / 4)], times[Math.floor((2 * times.length) / 3)], times.at(-1)].entries()) {
      const at = k as string;
      seen.laterFacts += log.events.filter((e) => e.recordedAt > at && e.type.startsWith('Membership')).length;
      seen.retracted += log.events.filter((e) => e.recordedAt <= at && e.type === 'FactRetracted').length;
      const path = join(dir, `fold-${seed}-${i}.db`);
      await buildFresh(log, path, silent, undefined, undefined, { knownAt: at, tempOnDisk: true, readOutOnly: true, pageSize: 100 });
      const db = new Database(path, { readonly: true });
      try {
        const queries = new ReadQueries(db);
        for (const unit of entityUnits(queries, db, at)) {
          if (unit.kind !== 'organization') continue;
          const want = readUnit(queries, at, unit).map((e) => `${JSON.stringify(e)}\n`);
          const got = unitLines(queries, at, unit).texts.join('');
          if (got !== want.join('') && differ++ < 3) t.same(got.split(/(?<=\n)/), want, `seed ${seed} at ${at}: organization ${unit.items[0]?.id}`);
          for (const line of want) {
            const o = JSON.parse(line) as { members: { member: { name: string | null }; term: { to: string | null }; correctedBy?: unknown }[]; chairs: unknown[] };
            seen.organizations += 1;
            seen.members += o.members.length;
            seen.chairs += o.chairs.length;
            if (o.members.length > 1000) seen.overPage += 1;
            for (const m of o.members) {
              if (m.term.to === null) seen.open += 1;
              else seen.ended += 1;
              if (m.correctedBy !== undefined) seen.corrected += 1;
              if (m.member.name === null) seen.unknownMember += 1;
            }
          }
        }
      } finally {
        db.close();
      }
    }
  }
  t.equal(differ, 0, `${seen.organizations} organizations' lines (${seen.members} members, ${seen.chairs} chairs) equal their objects'`);
  t.ok(seen.ended > 100 && seen.open > 100, `${seen.ended} memberships ended, ${seen.open} not`);
  t.ok(seen.corrected > 20, `${seen.corrected} members corrected`);
  t.ok(seen.unknownMember > 0, `${seen.unknownMember} members whose state is not known at k (retracted)`);
  t.ok(seen.retracted > 20, `${seen.retracted} retractions recorded by the knownAt`);
  t.ok(seen.laterFacts > 100, `${seen.laterFacts} membership facts recorded after their knownAt`);
  t.ok(seen.overPage > 0, `${seen.overPage} organizations with more than a page (1,000) of members`);
});
