/**
 * A document: what it is, who adopted or considered it and at which session, when it is in
 * force, and whether it is in force on the chosen day. A considered document is never shown
 * as in force: the record says nothing of its adoption.
 */
import { overlap } from '../../../events/index.js';
import type { Corrected as CorrectedMark, DocumentItem } from '../../../projections/index.js';
import { Certainty, Corrected, EntityLink, FactLink, Term, cap, onThe } from '../components.js';
import { queryString, type PageContext } from '../context.js';
import { Layout } from '../layout.js';

export function DocumentPage({ ctx, doc }: { ctx: PageContext; doc: DocumentItem & CorrectedMark }) {
  const ref = doc.key ?? doc.id;
  const title = doc.title ?? ref;
  const inForce = doc.effective ? overlap(doc.effective, ctx.day) : null;
  return (
    <Layout ctx={ctx} title={title} api={`/v1/documents/${encodeURIComponent(ref)}${queryString({ knownAt: ctx.knownAt })}`}>
      <h1>
        <bdi>{title}</bdi>
      </h1>
      <p class="lede">
        <span class={`status ${doc.status}`}>{doc.status === 'adopted' ? `Adopted on ${doc.adoptedOn}` : 'Considered; no outcome is recorded, so it is not in force'}</span>
        {doc.status === 'adopted' && (
          <>
            {'. '}
            {inForce ? (
              <>
                In force {onThe(ctx.day)}: <Certainty c={inForce} />
              </>
            ) : (
              <>Not in force {onThe(ctx.day)}</>
            )}
          </>
        )}
        .
      </p>
      <dl class="facts">
        <dt>Kind</dt>
        <dd>{doc.kind ?? 'not recorded'}</dd>
        <dt>Body</dt>
        <dd>
          <EntityLink ctx={ctx} kind="organization" v={doc.body} />
        </dd>
        <dt>Session</dt>
        <dd>{doc.session ? <EntityLink ctx={ctx} kind="session" v={doc.session} /> : 'not recorded'}</dd>
        <dt>In force</dt>
        <dd>{doc.effective ? <Term term={doc.effective} /> : 'never, as recorded'}</dd>
        <dt>Period it covers</dt>
        <dd>{doc.period ? `${doc.period.from}–${doc.period.to}` : 'not recorded'}</dd>
        {doc.summary && (
          <>
            <dt>Summary</dt>
            <dd>{doc.summary}</dd>
          </>
        )}
        <dt>Recorded</dt>
        <dd>
          <FactLink ctx={ctx} factId={doc.factId} what={`the document ${title}`} />
          <Corrected ctx={ctx} c={doc.correctedBy} />
        </dd>
      </dl>
    </Layout>
  );
}
