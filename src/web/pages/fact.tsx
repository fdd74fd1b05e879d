/**
 * A fact: what it states (entities named in it linked to their pages), its source with the
 * verbatim quote, when it was recorded and by which role, and every correction and the
 * retraction with their reasons and moments, as the record stood at the chosen moment.
 */
import type { ComponentChildren } from 'preact';
import { isUlid } from '../../../events/index.js';
import type { EntityView } from '../../../projections/index.js';
import type { FactHistory, FactHistoryVersion } from '../../http/routes/fact-history.js';
import { Name, SourceBlock } from '../components.js';
import { factPath, href, pathOf, queryString, type PAGE_OF, type PageContext } from '../context.js';
import { Layout } from '../layout.js';

export type Resolve = (id: string) => { kind: keyof typeof PAGE_OF; view: EntityView } | null;

const KIND_TITLE: Record<FactHistoryVersion['kind'], string> = { original: 'As first recorded', correction: 'Corrected', retraction: 'Retracted' };

/** "recorder:1a2b3c4d" → the role, and the token's fingerprint. */
function byWhom(recordedBy: string | null): string {
  if (!recordedBy) return 'an unknown principal';
  const [role, who] = recordedBy.split(':');
  return who ? `a ${role} (token ${who})` : recordedBy;
}

/** Words for field names: `chairedBy` → "chaired by". */
const words = (key: string): string => key.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();

function Value({ ctx, value, resolve }: { ctx: PageContext; value: unknown; resolve: Resolve }): ComponentChildren {
  if (value === null || value === undefined) return <span class="unknown">none</span>;
  if (typeof value === 'string') {
    const entity = isUlid(value) ? resolve(value) : null;
    if (entity)
      return (
        <a href={href(ctx, pathOf(entity.kind, entity.view.key ?? entity.view.id))}>
          <Name v={entity.view} />
        </a>
      );
    return <bdi>{value}</bdi>;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) {
    if (value.length === 0) return <span class="unknown">none</span>;
    return (
      <ul>
        {value.map((v) => (
          <li>
            <Value ctx={ctx} value={v} resolve={resolve} />
          </li>
        ))}
      </ul>
    );
  }
  const entries = Object.entries(value as Record<string, unknown>);
  return (
    <dl>
      {entries.map(([k, v]) => (
        <>
          <dt>{words(k)}</dt>
          <dd>
            <Value ctx={ctx} value={v} resolve={resolve} />
          </dd>
        </>
      ))}
    </dl>
  );
}

function Version({ ctx, v, resolve, n }: { ctx: PageContext; v: FactHistoryVersion; resolve: Resolve; n: number }) {
  const id = `version-${n}`;
  return (
    <article class={`version ${v.kind}`} aria-labelledby={id}>
      <h3 id={id}>
        {KIND_TITLE[v.kind]} on <time dateTime={v.recordedAt}>{v.recordedAt}</time>
      </h3>
      <p>
        Recorded by {byWhom(v.recordedBy)}
        {v.kind !== 'original' && (
          <>
            {' '}
            as fact <a href={href(ctx, factPath(v.factId))}>{v.factId}</a>
          </>
        )}
        .
      </p>
      {v.reason !== null && (
        <p class="reason">
          Reason: <q>{v.reason}</q>
        </p>
      )}
      {v.data && (
        <div class="data">
          <h4>{v.kind === 'correction' ? 'What it states instead' : 'What it states'}</h4>
          <Value ctx={ctx} value={v.data} resolve={resolve} />
        </div>
      )}
      <h4>Source</h4>
      <SourceBlock source={v.source} />
    </article>
  );
}

const TYPE_WORDS = (type: string): string => type.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();

export function FactPage({ ctx, history, resolve }: { ctx: PageContext; history: FactHistory; resolve: Resolve }) {
  const first = history.versions[0] as FactHistoryVersion;
  const status =
    history.status === 'retracted'
      ? 'This fact was retracted: reads no longer show it. What it stated, and why it was withdrawn, stay in the record.'
      : history.status === 'corrected'
        ? 'This fact was corrected: reads show the latest correction. What it first stated stays in the record.'
        : 'This fact stands as first recorded.';
  return (
    <Layout ctx={ctx} title={`Fact ${history.factId}`} api={`/v1/facts/${history.factId}${queryString({ knownAt: ctx.knownAt })}`}>
      <h1>
        Fact: {TYPE_WORDS(history.type)} <small class="id">{history.factId}</small>
      </h1>
      {history.asked !== history.factId && (
        <p class="note">
          You asked for <span class="id">{history.asked}</span>, which amends this fact.
        </p>
      )}
      <p class={`lede status-${history.status}`}>{status}</p>
      <dl class="facts">
        <dt>First recorded</dt>
        <dd>
          <time dateTime={first.recordedAt}>{first.recordedAt}</time> by {byWhom(first.recordedBy)}
        </dd>
        <dt>Versions</dt>
        <dd>{history.versions.length}</dd>
        <dt>In the log</dt>
        <dd>
          stream <span class="id">{first.stream}</span>, revision {first.revision}, position {first.position}
        </dd>
      </dl>
      {history.current && (
        <section aria-labelledby="current-heading">
          <h2 id="current-heading">What the record states</h2>
          <div class="data">
            <Value ctx={ctx} value={history.current} resolve={resolve} />
          </div>
        </section>
      )}
      <section aria-labelledby="versions-heading">
        <h2 id="versions-heading">Every version, in the order recorded</h2>
        {history.versions.map((v, n) => (
          <Version ctx={ctx} v={v} resolve={resolve} n={n} />
        ))}
      </section>
    </Layout>
  );
}
