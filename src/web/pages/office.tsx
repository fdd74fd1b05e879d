/**
 * An office: who held it on the chosen day (the point question), and its succession a page at a
 * time (the keyset pages of the API), drawn as a timeline and as a list with the spans no
 * holder is recorded for; a "next" link carries the cursor to the following terms.
 */
import type { HolderItem, OfficeView } from '../../../projections/index.js';
import { Certainty, Corrected, Download, EntityLink, FactLink, Name, Pager, Scroll, Term, cap, nameOf, onThe } from '../components.js';
import { factPath, href, queryString, type PageContext, type ShownPage } from '../context.js';
import { Layout } from '../layout.js';
import { Timeline, TimelineLegend, dayString, layoutTimeline } from '../timeline.js';

export const SUCCESSION_PAGE = 100;

function basisText(h: HolderItem): string {
  if (h.basis === 'attested') return `attested: named in the office at a session (${h.capacity === 'chair' ? 'as its chair' : h.capacity === 'report' ? 'reporting to it' : h.capacity === 'delegate' ? 'attending it' : 'named'})`;
  return 'appointed';
}

/** The succession's rows, with a row for each span no holder is recorded for. */
type Row = { item: HolderItem; index: number } | { gap: { from: string; to: string } };

/** Terms the timeline draws at most (read page by page; beyond it the list still pages on). */
export const TIMELINE_MAX = 1_000;

export function OfficePage({ ctx, office, succession, page, onDay }: { ctx: PageContext; office: OfficeView; succession: HolderItem[]; page: ShownPage<HolderItem>; onDay: HolderItem[] }) {
  const ref = office.key ?? office.id;
  const layout = layoutTimeline(succession, ctx.day, ctx.today);
  const indexOf = new Map(succession.map((item, index) => [item.factId, index]));
  const rows: Row[] = [];
  for (const x of page.items.map((item) => ({ item, index: indexOf.get(item.factId) ?? -1 }))) {
    // The span before this term that no term covers (gaps end where a term may begin).
    const from = layout.bars[x.index]?.from;
    const gap = x.index > 0 && from !== undefined && layout.bars[x.index - 1]?.from !== from ? layout.gaps.find((g) => g.to === from) : undefined;
    if (gap) rows.push({ gap: { from: dayString(gap.from), to: dayString(gap.to - 1) } });
    rows.push({ item: x.item, index: x.index });
  }
  const api = `/v1/offices/${encodeURIComponent(ref)}/holders${queryString({ knownAt: ctx.knownAt })}`;
  return (
    <Layout ctx={ctx} title={nameOf(office)} api={api}>
      <h1>
        <Name v={office} />
      </h1>
      <p class="lede">
        An office of <EntityLink ctx={ctx} kind="organization" v={office.organization} />
        {office.multipleHolders ? ', held by several people at once' : ', held by one person at a time'}. <FactLink ctx={ctx} factId={office.id} what={`the establishment of ${nameOf(office)}`} />
      </p>

      <section aria-labelledby="day-heading">
        <h2 id="day-heading">Holder {onThe(ctx.day)}</h2>
        {onDay.length === 0 ? (
          <p>No holder is recorded {onThe(ctx.day)} (vacant, if the succession is fully recorded).</p>
        ) : (
          <ul class="holders">
            {onDay.map((h) => (
              <li>
                <EntityLink ctx={ctx} kind="person" v={h.person} /> <Certainty c={h.certainty} />
                {h.acting ? ' acting,' : ''} {basisText(h)}, <Term term={h.term} />. <FactLink ctx={ctx} factId={h.factId} what={`${nameOf(h.person)} in office, ${h.term.from}`} />
                <Corrected ctx={ctx} c={h.correctedBy} />
                {h.source?.quote && (
                  <blockquote>
                    <p>{h.source.quote}</p>
                  </blockquote>
                )}
              </li>
            ))}
          </ul>
        )}
      </section>

      <section aria-labelledby="succession-heading">
        <h2 id="succession-heading">Succession</h2>
        {succession.length === 0 ? (
          <p>No holder of this office is recorded.</p>
        ) : (
          <>
            <figure>
              <Scroll label="Timeline of the succession">
                <Timeline items={succession} validAt={ctx.day} today={ctx.today} label={`Timeline of the succession: ${succession.length} terms`} link={(factId) => href(ctx, factPath(factId))} />
              </Scroll>
              <figcaption>
                Each term a bar; the list below says the same in words. <TimelineLegend />
              </figcaption>
            </figure>
            <Scroll label="The succession as a list">
              <table class="succession">
                <caption>
                  The succession, {succession.length} {succession.length === 1 ? 'term' : 'terms'} in order of their start
                </caption>
                <thead>
                  <tr>
                    <th scope="col">Holder</th>
                    <th scope="col">Term</th>
                    <th scope="col">Basis</th>
                    <th scope="col">{cap(onThe(ctx.day))}</th>
                    <th scope="col">Source</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((r) =>
                    'gap' in r ? (
                      <tr class="gap-row">
                        <td colSpan={5}>
                          No holder recorded from {r.gap.from} to {r.gap.to}
                        </td>
                      </tr>
                    ) : (
                      <tr class={onDay.some((h) => h.factId === r.item.factId) ? 'current' : undefined}>
                        <td>
                          <EntityLink ctx={ctx} kind="person" v={r.item.person} />
                          {r.item.acting ? <span class="badge acting">acting</span> : null}
                        </td>
                        <td>
                          <Term term={r.item.term} />
                        </td>
                        <td>
                          {basisText(r.item)}
                          <Corrected ctx={ctx} c={r.item.correctedBy} />
                        </td>
                        <td>
                          <Certainty c={onDay.find((h) => h.factId === r.item.factId)?.certainty} />
                        </td>
                        <td>
                          <FactLink ctx={ctx} factId={r.item.factId} what={`${nameOf(r.item.person)}, ${r.item.term.from}`} />
                        </td>
                      </tr>
                    ),
                  )}
                </tbody>
              </table>
            </Scroll>
            <Pager ctx={ctx} next={page.nextCursor} param="cursor" label="the succession" />
            <Download url={`/v1/offices/${encodeURIComponent(ref)}/holders${queryString({ knownAt: ctx.knownAt, format: 'csv', limit: '500' })}`} what="the succession" />
          </>
        )}
      </section>
    </Layout>
  );
}
