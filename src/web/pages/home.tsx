/**
 * `/`: search across organizations, offices, people and documents by name and alias (any
 * script), and a short tour of what the record holds, built from the record itself.
 */
import { hitSortKey } from '../../../projections/search/queries.js';
import type { NameHit, OrganizationView, Page } from '../../../projections/index.js';
import { EntityLink, Name, Pager, onThe } from '../components.js';
import { href, pathOf, type PageContext } from '../context.js';
import { Layout } from '../layout.js';

export const SEARCH_PAGE = 50;
const KIND_LABEL: Record<NameHit['kind'], string> = { organization: 'organization', office: 'office', person: 'person', document: 'document' };

function Hit({ ctx, hit }: { ctx: PageContext; hit: NameHit }) {
  const kindLabel = hit.kind === 'organization' && hit.classification && hit.classification !== 'international organization' ? hit.classification : KIND_LABEL[hit.kind];
  return (
    <li>
      <a href={href(ctx, pathOf(hit.kind, hit.key ?? hit.id))}>
        <Name v={hit} />
      </a>{' '}
      <span class="kind">{kindLabel}</span>
      {hit.parent && (
        <>
          {' '}
          of <Name v={hit.parent} />
        </>
      )}
      {hit.aliases.length > 0 && (
        <span class="aliases">
          {' '}
          — also{' '}
          {hit.aliases.map((a, i) => (
            <>
              {i > 0 ? ', ' : ''}
              <bdi>{a}</bdi>
            </>
          ))}
        </span>
      )}
    </li>
  );
}

function Search({ ctx, text, hits, next, cursor }: { ctx: PageContext; text: string; hits: NameHit[] | null; next: string | null; cursor: string | null }) {
  return (
    <section aria-labelledby="search-heading">
      <h2 id="search-heading">Search the record</h2>
      <form role="search" method="get" action="/">
        {ctx.validAt && <input type="hidden" name="validAt" value={ctx.validAt} />}
        {ctx.knownAt && <input type="hidden" name="knownAt" value={ctx.knownAt} />}
        <label for="q">Name or alias of a person, office, organization or document, in any script</label>
        <div class="inline">
          <input id="q" name="q" type="search" value={text} placeholder="Japarov, Жапаров, CSTO, ОДКБ…" />
          <button type="submit">Search</button>
        </div>
      </form>
      {hits !== null && (
        <>
          <h3>
            {hits.length === 0 ? 'Nothing found' : next || cursor ? `Found, ${SEARCH_PAGE} a page,` : `${hits.length} found`} for <q>{text}</q>
          </h3>
          {hits.length > 0 && (
            <ul class="hits">
              {hits.map((h) => (
                <Hit ctx={ctx} hit={h} />
              ))}
            </ul>
          )}
          <Pager ctx={ctx} next={next} param="cursor" label="results" />
        </>
      )}
    </section>
  );
}

function Tour({ ctx }: { ctx: PageContext }) {
  // Classification is free text (schema version 2): the organizations are those that are
  // neither states nor an organ of another (a parent), whatever their words. Read a keyset
  // page at a time, a bounded few, until twenty are found.
  const orgs: OrganizationView[] = [];
  let after: Page<OrganizationView>['next'] = null;
  for (let read = 0; read < 5 && orgs.length < 20; read++) {
    const page = ctx.q.organizations(ctx.k, {}, { after, limit: 100 });
    orgs.push(...(page?.items ?? []).filter((o) => o.classification !== 'state' && o.parent === null));
    after = page?.next ?? null;
    if (after === null) break;
  }
  orgs.splice(20);
  const first = orgs[0];
  const offices = first ? (ctx.q.offices(first.id, ctx.k, { after: null, limit: 1 })?.items ?? []) : [];
  const office = offices[0];
  return (
    <section aria-labelledby="tour-heading">
      <h2 id="tour-heading">What the record holds</h2>
      <p>
        Facts about organizations: their bodies and offices, who held each office and when, who chaired them, their sessions, who attended, and the documents they considered and adopted. Each fact cites its source, and a correction never erases what was recorded before it.
      </p>
      {orgs.length === 0 ? (
        <p>The record holds no organization yet.</p>
      ) : (
        <>
          <h3>Organizations</h3>
          <ul>
            {orgs.map((o) => (
              <li>
                <EntityLink ctx={ctx} kind="organization" v={o} />
                {o.aliases.length > 0 && <span class="aliases"> ({o.aliases.slice(0, 3).map((a, i) => <>{i > 0 ? ', ' : ''}<bdi>{a}</bdi></>)})</span>}
              </li>
            ))}
          </ul>
        </>
      )}
      <h3>Two time controls</h3>
      <p>
        Every page answers for a day, a month or a year (<em>on the day</em>) and for the record as it stood at a moment (<em>as the record stood on</em>), so you can see what was known before a correction. Both stay in the address, so a page can be cited as you saw it.
      </p>
      {first && office && (
        <ul>
          <li>
            <a href={href(ctx, pathOf('office', office.key ?? office.id))}>
              <Name v={office} />
            </a>{' '}
            {ctx.validAt ? onThe(ctx.validAt) : 'today'}, with its succession on a timeline.
          </li>
          <li>
            <a href={href(ctx, pathOf('organization', first.key ?? first.id), { validAt: String(Number(ctx.today.slice(0, 4)) + 1) })}>
              <Name v={first} /> next year
            </a>
            : who chairs it, and which documents are in force.
          </li>
        </ul>
      )}
    </section>
  );
}

export function HomePage({ ctx, text, cursor }: { ctx: PageContext; text: string; cursor: string | null }) {
  let hits: NameHit[] | null = null;
  let next: string | null = null;
  if (text.trim() !== '') {
    const after = cursor ? Buffer.from(cursor, 'base64url').toString('utf8') : null;
    const rows = ctx.q.search(text, ctx.k, after, SEARCH_PAGE + 1);
    hits = rows.slice(0, SEARCH_PAGE);
    const last = hits.at(-1);
    next = rows.length > SEARCH_PAGE && last ? Buffer.from(hitSortKey(last), 'utf8').toString('base64url') : null;
  }
  return (
    <Layout ctx={ctx} title={text ? `Search: ${text}` : 'The record'}>
      <h1>Annals: organizations, offices and the people who held them</h1>
      <Search ctx={ctx} text={text} hits={hits} next={next} cursor={cursor} />
      <Tour ctx={ctx} />
    </Layout>
  );
}
