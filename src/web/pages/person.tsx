/**
 * A person: the offices they held (appointed or attested at a session) and the sessions they
 * attended, reported to or chaired, each in time order; those on the chosen day marked.
 */
import { overlap } from '../../../events/index.js';
import type { Participation, PersonView, RoleItem } from '../../../projections/index.js';
import type { Corrected as CorrectedMark } from '../../../projections/index.js';
import { Certainty, Corrected, EntityLink, FactLink, Name, Pager, Scroll, Term, cap, nameOf, onThe } from '../components.js';
import { queryString, slicePage, type PageContext } from '../context.js';
import { Layout } from '../layout.js';

export const SESSIONS_PAGE = 100;

const ROLE: Record<Participation['role'], string> = { attended: 'attended', reported: 'reported to', chaired: 'chaired' };

export function PersonPage({ ctx, person, roles, sessions }: { ctx: PageContext; person: PersonView & CorrectedMark; roles: RoleItem[]; sessions: (Participation & CorrectedMark)[] }) {
  const ref = person.key ?? person.id;
  // A person's sessions are read whole (a career's worth) and shown a page at a time.
  const page = slicePage(ctx, 'cursor', SESSIONS_PAGE, sessions.map((s) => ({ s })));
  return (
    <Layout ctx={ctx} title={nameOf(person)} api={`/v1/people/${encodeURIComponent(ref)}${queryString({ knownAt: ctx.knownAt })}`}>
      <h1>
        <Name v={person} />
      </h1>
      <p class="lede">
        {person.aliases.length > 0 ? (
          <>
            Also written{' '}
            {person.aliases.map((a, i) => (
              <>
                {i > 0 ? ', ' : ''}
                <bdi>{a}</bdi>
              </>
            ))}
            .{' '}
          </>
        ) : null}
        <FactLink ctx={ctx} factId={person.factId} what={`the registration of ${nameOf(person)}`} />
        <Corrected ctx={ctx} c={person.correctedBy} />
      </p>

      <section aria-labelledby="roles-heading">
        <h2 id="roles-heading">Offices held</h2>
        {roles.length === 0 ? (
          <p>No office is recorded for this person.</p>
        ) : (
          <ol class="roles">
            {roles.map((r) => {
              const onDay = overlap(r.term, ctx.day);
              return (
                <li class={onDay ? 'current' : undefined}>
                  <EntityLink ctx={ctx} kind="office" v={r.office} />
                  {r.organization ? (
                    <>
                      {' '}
                      (<EntityLink ctx={ctx} kind="organization" v={r.organization} />)
                    </>
                  ) : null}
                  , <Term term={r.term} />
                  {r.acting ? ', acting' : ''}, {r.basis === 'attested' ? 'attested at a session' : 'appointed'}
                  {onDay ? (
                    <>
                      ; {onThe(ctx.day)}: <Certainty c={onDay} />
                    </>
                  ) : null}
                  . <FactLink ctx={ctx} factId={r.factId} what={`${nameOf(r.office)}, ${r.term.from}`} />
                  <Corrected ctx={ctx} c={r.correctedBy} />
                </li>
              );
            })}
          </ol>
        )}
      </section>

      <section aria-labelledby="sessions-heading">
        <h2 id="sessions-heading">Sessions</h2>
        {sessions.length === 0 ? (
          <p>No session is recorded for this person.</p>
        ) : (
          <Scroll label="Table of the sessions">
            <table>
              <thead>
                <tr>
                  <th scope="col">Held</th>
                  <th scope="col">Session</th>
                  <th scope="col">Role</th>
                  <th scope="col">Capacity</th>
                  <th scope="col">Source</th>
                </tr>
              </thead>
              <tbody>
                {page.items.map(({ s }) => (
                  <tr>
                    <td>
                      <Term term={{ from: s.held.from, to: s.held.to ?? s.held.from }} />
                    </td>
                    <td>
                      <EntityLink ctx={ctx} kind="session" v={s.session} /> of <EntityLink ctx={ctx} kind="organization" v={s.body} />
                    </td>
                    <td>
                      {ROLE[s.role]}
                      {s.subject ? (
                        <>
                          : <q>{s.subject}</q>
                        </>
                      ) : null}
                      {s.representing ? (
                        <>
                          , representing <EntityLink ctx={ctx} kind="organization" v={s.representing} />
                        </>
                      ) : null}
                      <Corrected ctx={ctx} c={s.correctedBy} />
                    </td>
                    <td>{s.office ? <EntityLink ctx={ctx} kind="office" v={s.office} /> : '—'}</td>
                    <td>
                      <FactLink ctx={ctx} factId={s.factId} what={`${ROLE[s.role]} ${nameOf(s.session)}`} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Scroll>
        )}
        <Pager ctx={ctx} next={page.nextCursor} param="cursor" label="sessions" />
      </section>
    </Layout>
  );
}
