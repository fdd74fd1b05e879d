/**
 * GET /v1/popolo over the bundled example: every item validates against the Popolo schema
 * for its kind (test/fixtures/popolo-schemas.ts: draft-03 converted, resolved locally), the
 * answer is not empty, and a deliberately broken item fails (so this test can fail).
 */
import t, { type Test } from 'tap';
import { startTestApp } from './fixtures/app.js';
import { POPOLO_DIR, popoloValidators } from './fixtures/popolo-schemas.js';

const KINDS = { persons: 'person', organizations: 'organization', posts: 'post', memberships: 'membership', events: 'event' } as const;

const validators = popoloValidators();
if (!validators) {
  t.skip(`Popolo schemas not found: ${POPOLO_DIR}`, () => {});
} else {
  const schema = validators;
  const validateAll = (t: Test, doc: Record<string, any>) => {
    for (const [list, name] of Object.entries(KINDS)) {
      t.ok(Array.isArray(doc[list]), `${list} is an array`);
      const v = schema(name);
      for (const item of doc[list] as unknown[]) {
        const ok = v(item);
        if (!ok) t.fail(`${list} item is not a Popolo ${name}`, { item, errors: v.errors });
      }
      t.pass(`${(doc[list] as unknown[]).length} ${list} validated as ${name}`);
    }
  };

  t.test('GET /v1/popolo: Popolo-valid, not empty', async (t) => {
    const { app } = await startTestApp(t, { env: { ANNALS_SEED: 'example' } });
    const get = async (url: string) => {
      const r = await app.inject({ url });
      return { status: r.statusCode, body: r.json() as Record<string, any> };
    };

    const csto = await get('/v1/popolo?organization=csto');
    t.equal(csto.status, 200);
    validateAll(t, csto.body);
    const doc = csto.body;
    const key = (x: any) => x.identifiers?.find((i: any) => i.scheme === 'annals-key')?.identifier;
    const org = doc.organizations.find((o: any) => key(o) === 'csto');
    t.ok(org, 'the CSTO is an organization');
    t.ok(doc.organizations.some((o: any) => key(o) === 'csto-collective-security-council' && o.parent_id === org.id), 'its body, with parent_id');
    const post = doc.posts.find((p: any) => key(p) === 'csto-secretary-general');
    t.ok(post, 'the Secretary-General post');
    t.equal(post.organization_id, org.id);
    const person = (k: string) => doc.persons.find((p: any) => key(p) === k);
    const masadykov = person('taalatbek-masadykov');
    t.ok(masadykov, 'Masadykov is a person');
    t.match(
      doc.memberships.filter((m: any) => m.post_id === post.id && m.person_id === masadykov.id),
      [{ start_date: '2026-01-01', end_date: '2028-12-31', organization_id: org.id, role: post.label }],
      "Masadykov's appointment 2026-01-01..2028-12-31",
    );
    const tasmagambetov = person('imangali-tasmagambetov');
    t.ok(tasmagambetov, 'Tasmagambetov is a person');
    const attested = doc.memberships.filter((m: any) => m.post_id === post.id && m.person_id === tasmagambetov.id);
    t.equal(attested.length, 1, "Tasmagambetov's attested membership");
    t.match(attested[0]?.label, /^Attested/, 'marked attested');
    t.match(attested[0]?.annals_source, { title: String }, 'with its provenance (the example sources have no url, so no Popolo sources)');
    t.ok(doc.memberships.some((m: any) => m.role === 'chair' && m.member?.['@type'] === 'Organization' && m.organization_id === org.id), 'the chairing state, as an organization member');
    t.ok(doc.events.length > 0 && doc.events.every((e: any) => typeof e.start_date === 'string'), 'sessions as events');
    t.ok(doc.memberships.every((m: any) => typeof m.id === 'string'), 'every membership has an id (its factId)');

    const all = await get('/v1/popolo');
    t.equal(all.status, 200);
    validateAll(t, all.body);
    t.ok(all.body.persons.length >= doc.persons.length && all.body.organizations.length >= doc.organizations.length, 'everything includes the CSTO slice');
    t.ok(all.body.organizations.some((o: any) => key(o) === 'sco'), 'and organizations outside it');

    const broken = { ...doc.memberships[0], start_date: 'soon', sources: [{ note: 'no url' }] };
    t.notOk(schema('membership')(broken), 'a real membership, broken, fails validation');

    t.equal((await get('/v1/popolo?organization=no-such-org')).status, 404);
    t.equal((await get('/v1/popolo?knownAt=yesterday')).status, 400);
  });

  t.test('a broken item fails validation', async (t) => {
    const bad = [
      ['membership', { id: 'x', start_date: '27 November 2025' }],
      ['membership', { id: 'x', sources: [{ note: 'a link without url' }] }],
      ['person', { id: 'x', other_names: ['not an object'] }],
      ['organization', { id: 7 }],
      ['post', { id: 'x', start_date: '2025-11-27T10:00:00Z' }],
    ] as const;
    for (const [name, item] of bad) {
      const v = schema(name);
      t.notOk(v(item), `${name} ${JSON.stringify(item)} is refused`);
    }
    t.ok(schema('membership')({ id: 'x', start_date: '2025', end_date: '2025-11', sources: [{ url: 'https://example.org', note: 'n' }] }), 'a good one passes');
  });
}
