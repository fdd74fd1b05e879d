/**
 * A session: where and when, who chaired it, the agenda, who attended (whom they represented,
 * in what capacity; paged), the reports, the documents considered and adopted, and the talks
 * on the sidelines.
 */
import type { Page, SessionView } from '../../../projections/index.js';
import type { Corrected as CorrectedMark } from '../../../projections/index.js';
import { Corrected, Download, EntityLink, FactLink, Pager, Scroll, Term, nameOf } from '../components.js';
import { keysetPage, queryString, type PageContext } from '../context.js';
import { Layout } from '../layout.js';

export const ATTENDEES_PAGE = 100;

type Marked<T> = T & CorrectedMark;

export function SessionPage({ ctx, session }: { ctx: PageContext; session: Marked<SessionView> }) {
  const ref = session.key ?? session.id;
  const title = session.title ?? session.key ?? session.id;
  // Attendees a page at a time, from the session's own list (keyset pages, as /v1/sessions/{session}/attendees).
  const page = keysetPage(ctx, 'cursor', ATTENDEES_PAGE, (p) => ctx.q.sessionList(session.id, 'attendees', ctx.k, p) as Page<Marked<SessionView['attendees'][number]>> | null);
  return (
    <Layout ctx={ctx} title={title} api={`/v1/sessions/${encodeURIComponent(ref)}${queryString({ knownAt: ctx.knownAt })}`}>
      <h1>
        <bdi>{title}</bdi>
      </h1>
      <dl class="facts">
        <dt>Body</dt>
        <dd>
          <EntityLink ctx={ctx} kind="organization" v={session.body} />
        </dd>
        <dt>Held</dt>
        <dd>
          <Term term={{ from: session.held.from, to: session.held.to ?? session.held.from }} />
        </dd>
        {session.number && (
          <>
            <dt>Number</dt>
            <dd>{session.number}</dd>
          </>
        )}
        <dt>Place</dt>
        <dd>
          {session.place ? (
            <>
              <bdi>{session.place.city}</bdi>
              {session.place.country ? (
                <>
                  , <EntityLink ctx={ctx} kind="organization" v={session.place.country} />
                </>
              ) : null}
            </>
          ) : (
            'not recorded'
          )}
        </dd>
        <dt>Chaired by</dt>
        <dd>
          {session.chairedBy ? (
            <>
              <EntityLink ctx={ctx} kind="person" v={session.chairedBy.person} />
              {session.chairedBy.office ? (
                <>
                  , <EntityLink ctx={ctx} kind="office" v={session.chairedBy.office} />
                </>
              ) : null}
            </>
          ) : (
            'not recorded'
          )}
        </dd>
        <dt>Recorded</dt>
        <dd>
          <FactLink ctx={ctx} factId={session.factId} what={`the session ${title}`} />
          <Corrected ctx={ctx} c={session.correctedBy} />
        </dd>
      </dl>
      {session.agenda.length > 0 && (
        <section aria-labelledby="agenda-heading">
          <h2 id="agenda-heading">Agenda</h2>
          <ol>
            {session.agenda.map((a) => (
              <li>{a}</li>
            ))}
          </ol>
        </section>
      )}

      <section aria-labelledby="attendees-heading">
        <h2 id="attendees-heading">Attendees</h2>
        {page.items.length === 0 ? (
          <p>No attendance is recorded (the chair and those who reported are named above and below).</p>
        ) : (
          <Scroll label="Table of the attendees">
            <table>
              <caption>{page.items.length}{page.nextCursor || ctx.extra['cursor'] ? ' on this page' : ' recorded'}, in the order recorded</caption>
              <thead>
                <tr>
                  <th scope="col">Person</th>
                  <th scope="col">Representing</th>
                  <th scope="col">Capacity</th>
                  <th scope="col">Source</th>
                </tr>
              </thead>
              <tbody>
                {page.items.map((a) => (
                  <tr>
                    <td>
                      <EntityLink ctx={ctx} kind="person" v={a.person} />
                      <Corrected ctx={ctx} c={a.correctedBy} />
                    </td>
                    <td>{a.representing ? <EntityLink ctx={ctx} kind="organization" v={a.representing} /> : '—'}</td>
                    <td>{a.office ? <EntityLink ctx={ctx} kind="office" v={a.office} /> : '—'}</td>
                    <td>
                      <FactLink ctx={ctx} factId={a.factId} what={`${nameOf(a.person)} attended`} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Scroll>
        )}
        <Pager ctx={ctx} next={page.nextCursor} param="cursor" label="attendees" />
        {page.items.length > 0 && <Download url={`/v1/sessions/${encodeURIComponent(ref)}/attendees${queryString({ knownAt: ctx.knownAt, format: 'csv', limit: '500' })}`} what="the attendees" />}
      </section>

      <section aria-labelledby="reports-heading">
        <h2 id="reports-heading">Reports</h2>
        {session.reports.length === 0 ? (
          <p>No report is recorded.</p>
        ) : (
          <ul>
            {session.reports.map((r) => (
              <li>
                <EntityLink ctx={ctx} kind="person" v={r.person} />
                {r.office ? (
                  <>
                    {' '}
                    (<EntityLink ctx={ctx} kind="office" v={r.office} />)
                  </>
                ) : null}
                : <q>{r.subject}</q> <FactLink ctx={ctx} factId={r.factId} what={`report by ${nameOf(r.person)}`} />
                <Corrected ctx={ctx} c={(r as Marked<typeof r>).correctedBy} />
              </li>
            ))}
          </ul>
        )}
      </section>

      <section aria-labelledby="documents-heading">
        <h2 id="documents-heading">Documents</h2>
        {session.documents.length === 0 ? (
          <p>No document is recorded.</p>
        ) : (
          <ul>
            {session.documents.map((d) => (
              <li>
                <EntityLink ctx={ctx} kind="document" v={d} />: <span class={`status ${d.status}`}>{d.status === 'adopted' ? `adopted on ${d.adoptedOn}` : 'considered (no outcome recorded)'}</span>
                {d.period ? `, for ${d.period.from}–${d.period.to}` : ''}. <FactLink ctx={ctx} factId={d.factId} what={`the document ${d.title ?? d.id}`} />
              </li>
            ))}
          </ul>
        )}
      </section>

      <section aria-labelledby="talks-heading">
        <h2 id="talks-heading">Talks on the sidelines</h2>
        {session.talks.length === 0 ? (
          <p>No talks are recorded.</p>
        ) : (
          <ul>
            {session.talks.map((talk) => (
              <li>
                {talk.on ? <>On {talk.on}, </> : null}
                {talk.participants.map((p, i) => (
                  <>
                    {i > 0 ? (i === talk.participants.length - 1 ? ' and ' : ', ') : ''}
                    {p.person ? <EntityLink ctx={ctx} kind="person" v={p.person} /> : null}
                    {p.person && p.organization ? ' of ' : null}
                    {p.organization ? <EntityLink ctx={ctx} kind="organization" v={p.organization} /> : null}
                  </>
                ))}
                {talk.topics.length > 0 && (
                  <>
                    , on{' '}
                    {talk.topics.map((topic, i) => (
                      <>
                        {i > 0 ? '; ' : ''}
                        <q>{topic}</q>
                      </>
                    ))}
                  </>
                )}
                {talk.summary ? <>. {talk.summary}</> : null}. <FactLink ctx={ctx} factId={talk.factId} what="the talks" />
              </li>
            ))}
          </ul>
        )}
      </section>
    </Layout>
  );
}
