/**
 * An organization (a state or a body too): its bodies and offices with who held each on the
 * chosen day, who chaired it when, its members, its sessions, and its documents, those in force
 * on the chosen day apart from all adopted or considered.
 */
import type { DocumentItem, ReadQueries } from '../../../projections/index.js';
import { Certainty, Corrected, Download, EntityLink, FactLink, Name, Pager, Scroll, Term, cap, nameOf, onThe } from '../components.js';
import { href, keysetPage, pathOf, queryString, type PageContext } from '../context.js';
import { Layout } from '../layout.js';

export const LIST_PAGE = 50;

type Org = NonNullable<ReturnType<ReadQueries['organization']>>;

function DocumentRows({ ctx, docs, label }: { label: string; ctx: PageContext; docs: (DocumentItem & { correctedBy?: { factId: string; reason: string | null; recordedAt: string } })[] }) {
  return (
    <Scroll label={label}>
      <table>
        <thead>
          <tr>
            <th scope="col">Document</th>
            <th scope="col">Kind</th>
            <th scope="col">Status</th>
            <th scope="col">Adopted on</th>
            <th scope="col">In force</th>
            <th scope="col">Period</th>
            <th scope="col">Source</th>
          </tr>
        </thead>
        <tbody>
          {docs.map((d) => (
            <tr>
              <td>
                <EntityLink ctx={ctx} kind="document" v={d} />
                {d.certainty && (
                  <>
                    {' '}
                    <Certainty c={d.certainty} />
                  </>
                )}
                <Corrected ctx={ctx} c={d.correctedBy} />
              </td>
              <td>{d.kind}</td>
              <td>
                <span class={`status ${d.status}`}>{d.status === 'adopted' ? 'adopted' : 'considered, no outcome recorded'}</span>
              </td>
              <td>{d.adoptedOn ?? '—'}</td>
              <td>{d.effective ? <Term term={d.effective} /> : 'not in force'}</td>
              <td>{d.period ? `${d.period.from}–${d.period.to}` : '—'}</td>
              <td>
                <FactLink ctx={ctx} factId={d.factId} what={`the document ${d.title ?? d.id}`} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Scroll>
  );
}

const apiUrl = (ctx: PageContext, path: string, params: Record<string, string | null>): string => `${path}${queryString({ ...params, knownAt: ctx.knownAt })}`;

export function OrganizationPage({ ctx, org }: { ctx: PageContext; org: Org }) {
  const q = ctx.q;
  const ref = org.key ?? org.id;
  const chairsNow = q.chair(org.id, ctx.day, ctx.k)?.chairs ?? [];
  const chairingNow = new Set(chairsNow.map((c) => c.factId));
  // Every list a page at a time, through the keyset pages of the API ("next" links carry the
  // cursor); a session shows only its title, days and place (one item of its own lists is read).
  const sessions = keysetPage(ctx, 'sessionsCursor', LIST_PAGE, (p) => q.sessions(org.id, ctx.k, undefined, p, 1));
  const inForce = keysetPage(ctx, 'inForceCursor', LIST_PAGE, (p) => q.documents(org.id, ctx.k, ctx.day, p));
  const allDocs = keysetPage(ctx, 'documentsCursor', LIST_PAGE, (p) => q.documents(org.id, ctx.k, undefined, p));
  const members = keysetPage(ctx, 'membersCursor', LIST_PAGE, (p) => q.members(org.id, ctx.k, ctx.day, p));
  // Each office shown costs its holder question.
  const offices = keysetPage(ctx, 'officesCursor', LIST_PAGE, (p) => q.offices(org.id, ctx.k, p));
  return (
    <Layout ctx={ctx} title={nameOf(org)} api={apiUrl(ctx, `/v1/organizations/${encodeURIComponent(ref)}`, { validAt: ctx.validAt })}>
      <h1>
        <Name v={org} />
      </h1>
      <p class="lede">
        {org.classification === 'state' ? 'A state' : org.classification === 'body' ? 'A body' : 'An organization'}
        {org.parent && (
          <>
            {' '}
            of <EntityLink ctx={ctx} kind="organization" v={org.parent} />
          </>
        )}
        {org.aliases.length > 0 && (
          <>
            , also written{' '}
            {org.aliases.map((a, i) => (
              <>
                {i > 0 ? ', ' : ''}
                <bdi>{a}</bdi>
              </>
            ))}
          </>
        )}
        . <FactLink ctx={ctx} factId={org.id} what={`the registration of ${nameOf(org)}`} />
        <Corrected ctx={ctx} c={org.correctedBy} />
      </p>

      <section aria-labelledby="chair-heading">
        <h2 id="chair-heading">Chairmanship</h2>
        {org.chairs.length === 0 ? (
          <p>No chairmanship recorded.</p>
        ) : (
          <>
            <p>
              {cap(onThe(ctx.day))}:{' '}
              {chairsNow.length === 0
                ? 'no chair recorded.'
                : chairsNow.map((c, i) => (
                    <>
                      {i > 0 ? '; ' : ''}
                      <EntityLink ctx={ctx} kind="organization" v={c.state} /> <Certainty c={c.certainty} />
                    </>
                  ))}
            </p>
            <ul>
              {org.chairs.map((c) => (
                <li class={chairingNow.has(c.factId) ? 'current' : undefined}>
                  <EntityLink ctx={ctx} kind="organization" v={c.state} />, <Term term={c.term} />
                  {c.motto && (
                    <>
                      , motto <q>{c.motto}</q>
                    </>
                  )}
                  . <FactLink ctx={ctx} factId={c.factId} what={`chairmanship of ${nameOf(c.state)}, ${c.term.from}`} />
                  <Corrected ctx={ctx} c={c.correctedBy} />
                </li>
              ))}
            </ul>
          </>
        )}
      </section>

      <section aria-labelledby="offices-heading">
        <h2 id="offices-heading">Offices</h2>
        {offices.items.length === 0 ? (
          <p>No office recorded.</p>
        ) : (
          <ul>
            {offices.items.map((o) => {
              const holders = q.holder(o.id, ctx.day, ctx.k)?.holders ?? [];
              return (
                <li>
                  <EntityLink ctx={ctx} kind="office" v={o} /> {onThe(ctx.day)}:{' '}
                  {holders.length === 0
                    ? 'no holder recorded'
                    : holders.map((h, i) => (
                        <>
                          {i > 0 ? '; ' : ''}
                          <EntityLink ctx={ctx} kind="person" v={h.person} />
                          {h.acting ? ' (acting)' : ''} <Certainty c={h.certainty} />
                        </>
                      ))}
                </li>
              );
            })}
          </ul>
        )}
        <Pager ctx={ctx} next={offices.nextCursor} param="officesCursor" label="offices" />
      </section>

      {org.bodies.length > 0 && (
        <section aria-labelledby="bodies-heading">
          <h2 id="bodies-heading">Bodies</h2>
          <ul>
            {org.bodies.map((b) => (
              <li>
                <EntityLink ctx={ctx} kind="organization" v={b} />
              </li>
            ))}
          </ul>
        </section>
      )}

      {members.items.length > 0 && (
        <section aria-labelledby="members-heading">
          <h2 id="members-heading">Members {onThe(ctx.day)}</h2>
          <ul>
            {members.items.map((m) => (
              <li>
                <EntityLink ctx={ctx} kind="organization" v={m.member} />, <Term term={m.term} /> <Certainty c={m.certainty} /> <FactLink ctx={ctx} factId={m.factId} what={`membership of ${nameOf(m.member)}`} />
              </li>
            ))}
          </ul>
          <Pager ctx={ctx} next={members.nextCursor} param="membersCursor" label="members" />
        </section>
      )}

      <section aria-labelledby="in-force-heading">
        <h2 id="in-force-heading">Documents in force {onThe(ctx.day)}</h2>
        {inForce.items.length === 0 ? <p>No adopted document is recorded in force then.</p> : <DocumentRows ctx={ctx} docs={inForce.items} label="Table of the documents in force" />}
        <Pager ctx={ctx} next={inForce.nextCursor} param="inForceCursor" label="documents in force" />
        <Download url={apiUrl(ctx, '/v1/documents', { organization: ref, validAt: ctx.day, format: 'csv', limit: '500' })} what="the documents in force" />
      </section>

      <section aria-labelledby="documents-heading">
        <h2 id="documents-heading">All documents adopted or considered</h2>
        <p>A document a session only considered is shown as such: the record does not say it was adopted, so it is never in force.</p>
        {allDocs.items.length === 0 ? <p>No document recorded.</p> : <DocumentRows ctx={ctx} docs={allDocs.items} label="Table of all documents" />}
        <Pager ctx={ctx} next={allDocs.nextCursor} param="documentsCursor" label="documents" />
        <Download url={apiUrl(ctx, '/v1/documents', { organization: ref, format: 'csv', limit: '500' })} what="all documents" />
      </section>

      <section aria-labelledby="sessions-heading">
        <h2 id="sessions-heading">Sessions</h2>
        {sessions.items.length === 0 ? (
          <p>No session recorded.</p>
        ) : (
          <ul>
            {sessions.items.map((s) => (
              <li>
                <a href={href(ctx, pathOf('session', s.key ?? s.id))}>
                  <bdi>{s.title ?? s.key ?? s.id}</bdi>
                </a>
                , <Term term={{ from: s.held.from, to: s.held.to ?? s.held.from }} />
                {s.place && (
                  <>
                    , <bdi>{s.place.city}</bdi>
                  </>
                )}
              </li>
            ))}
          </ul>
        )}
        <Pager ctx={ctx} next={sessions.nextCursor} param="sessionsCursor" label="sessions" />
        <Download url={apiUrl(ctx, '/v1/sessions', { organization: ref, format: 'csv', limit: '500' })} what="the sessions" />
      </section>
    </Layout>
  );
}
