/**
 * The bundled example data set: every line is a valid POST /v1/facts body, quotes the press
 * release verbatim (what a quote leaves out marked with …), names entities only after
 * registering them, and reads the release literally (considered is not adopted; no guessed
 * dates).
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { FactMetadata, Source, factSchemas, isFactType, isKey, isUlid } from '../events/index.js';
import { exampleFacts, exampleFilePath } from '../src/example/facts.js';

// CI lays shared/ beside the clone; a checkout elsewhere (e.g. GitHub Actions) may not have it.
const releasePath = fileURLToPath(new URL('../../shared/sources/csto-collective-security-council-2025-11-27.txt', import.meta.url));
const release = existsSync(releasePath) ? readFileSync(releasePath, 'utf8') : null;
const facts = exampleFacts();

t.test('every line is a fact body of a known type whose data validates', async (t) => {
  const lines = readFileSync(exampleFilePath(), 'utf8').trim().split('\n');
  t.equal(lines.length, facts.length);
  for (const [i, f] of facts.entries()) {
    t.same(Object.keys(f).sort(), ['data', 'factId', 'source', 'type'], `line ${i + 1}: exactly type, factId, data, source`);
    t.ok(isFactType(f.type), `line ${i + 1}: ${f.type} is a fact type`);
    if (!isFactType(f.type)) continue;
    const parsed = factSchemas[f.type].safeParse(f.data);
    t.ok(parsed.success, `line ${i + 1} (${f.type}) validates${parsed.success ? '' : `: ${parsed.error.message}`}`);
    t.ok(isUlid(f.factId), `line ${i + 1}: factId is a ULID`);
    t.ok(FactMetadata.shape.factId.safeParse(f.factId).success);
  }
});

t.test('factIds are fixed, unique and ascending (file order is log order)', async (t) => {
  const ids = facts.map((f) => f.factId);
  t.equal(new Set(ids).size, ids.length);
  t.same([...ids].sort(), ids);
  // The time part is 2025-11-27T00:00:00.000Z, the day of the release.
  for (const id of ids) t.equal(id.slice(0, 10), '01KB19R500');
});

/**
 * Why a quote is not verbatim, or null. A quote is one passage of the release as it stands,
 * or passages of it in their order with `…` where something is left out: each passage is in
 * the release after the one before it, cut at word boundaries, and a mark stands for words
 * really left out. Runs of white space (line ends between paragraphs) count as one space.
 */
function quoteProblem(release: string, quote: string): string | null {
  const text = release.replace(/\s+/g, ' ');
  const parts = quote.replace(/\s+/g, ' ').split('…').map((p) => p.trim());
  const word = (c: string | undefined) => c !== undefined && /[\p{L}\p{N}]/u.test(c);
  let end = -1;
  for (const [i, part] of parts.entries()) {
    if (part === '') {
      if (i === 0 || i === parts.length - 1) continue; // a mark at the start or the end: the passage is cut there
      return 'two marks with nothing quoted between them';
    }
    const at = text.indexOf(part, Math.max(end, 0));
    if (at < 0) return text.includes(part) ? `"${part.slice(0, 50)}…" is in the release, but before the passage quoted ahead of it` : `"${part.slice(0, 50)}…" is not in the release`;
    if ((word(text[at - 1]) && word(part[0])) || (word(text[at + part.length]) && word(part.at(-1)))) return `"${part.slice(0, 50)}…" cuts a word`;
    if (end >= 0 && text.slice(end, at).trim() === '') return `the mark before "${part.slice(0, 50)}…" leaves nothing out`;
    end = at + part.length;
  }
  return null;
}

t.test('a quote is verbatim, or marks what it leaves out (…)', async (t) => {
  const release = 'One two three. Four five six. Seven eight.\nNine ten.';
  t.equal(quoteProblem(release, 'One two three. Four five six.'), null, 'one passage');
  t.equal(quoteProblem(release, 'Four five six. Seven eight. Nine ten.'), null, 'across a line end');
  t.equal(quoteProblem(release, 'One two three. … Seven eight.'), null, 'a cut, marked');
  t.equal(quoteProblem(release, '… five six.'), null, 'cut at the start');
  t.match(quoteProblem(release, 'One two three. Seven eight.'), /not in the release/, 'two passages joined without a mark');
  t.match(quoteProblem(release, 'Seven eight. … One two three.'), /before the passage/, 'passages out of order');
  t.match(quoteProblem(release, 'One two three. … Four five six.'), /leaves nothing out/, 'a mark where nothing is left out');
  t.match(quoteProblem(release, 'One two thre'), /cuts a word/);
  t.match(quoteProblem(release, 'One two four.'), /not in the release/);
});

t.test('every fact cites the release and quotes it verbatim, cuts marked', async (t) => {
  if (release === null) return t.skip(`${releasePath} not found: shared/ is not beside this checkout, quotes not checked`, () => {});
  for (const f of facts) {
    t.ok(Source.safeParse(f.source).success);
    t.equal(f.source.publisher, 'CSTO Secretariat');
    t.equal(f.source.publishedOn, '2025-11-27');
    t.ok(f.source.quote, `${f.factId} has a quote`);
    t.equal(quoteProblem(release, f.source.quote ?? ''), null, `${f.type} ${f.factId}: "${(f.source.quote ?? '').slice(0, 60)}…" is verbatim`);
  }
  // The SessionHeld quote once joined the first sentence and the agenda's, which are not next to each other.
  const held = facts.find((f) => f.type === 'SessionHeld');
  t.match(quoteProblem(release, (held?.source.quote ?? '').replace(' … ', ' ')), /not in the release/, 'without its mark, the session\'s quote would not be verbatim');
});

t.test('every quote anywhere in the bundled example (its walk-through included) is verbatim, cuts marked', async (t) => {
  if (release === null) return t.skip(`${releasePath} not found: quotes not checked`, () => {});
  const dir = fileURLToPath(new URL('../src/example/', import.meta.url));
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => statSync(join(dir, f)).isFile());
  let quotes = 0;
  for (const file of files) {
    // A quote as JSON writes it, in the data file, the walk-through's answers or the code.
    for (const m of readFileSync(join(dir, file), 'utf8').matchAll(/"quote":\s*("(?:[^"\\]|\\.)*")/g)) {
      const quote = JSON.parse(m[1] as string) as string;
      quotes++;
      t.equal(quoteProblem(release, quote), null, `${file}: "${quote.slice(0, 60)}…" is verbatim`);
    }
  }
  t.ok(quotes > facts.length, `${quotes} quotes in ${files.length} files, the data file's ${facts.length} among them`);
});

t.test('the keys API.md lists are registered, and every reference resolves to an earlier registration', async (t) => {
  const registered = new Set<string>();
  const refFields = ['parent', 'organization', 'office', 'person', 'body', 'session', 'chair', 'decidedBy', 'appointedBy', 'representing', 'country', 'document'];
  const refsOf = (value: unknown, out: string[] = []): string[] => {
    if (Array.isArray(value)) value.forEach((v) => refsOf(v, out));
    else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        if (refFields.includes(k) && typeof v === 'string') out.push(v);
        else refsOf(v, out);
      }
    }
    return out;
  };
  for (const f of facts) {
    for (const ref of refsOf(f.data)) {
      t.ok(isKey(ref), `${f.type} names ${ref} by key`);
      t.ok(registered.has(ref), `${f.type} ${f.factId}: ${ref} is registered before it is named`);
    }
    const key = f.data.key;
    if (typeof key === 'string') {
      t.notOk(registered.has(key), `${key} registered once`);
      registered.add(key);
    }
  }
  for (const key of ['csto', 'csto-collective-security-council', 'csto-secretary-general', 'ru', 'kg', 'kg-president', 'cis', 'cis-executive-committee', 'cis-first-deputy-secretary-general', 'sco']) {
    t.ok(registered.has(key), `key ${key}`);
  }
});

t.test('the release read literally', async (t) => {
  const ofType = (type: string) => facts.filter((f) => f.type === type);
  t.same(ofType('DocumentConsidered').map((f) => [f.data.kind, f.data.period]), [
    ['strategy', { from: '2026', to: '2030' }],
    ['plan', { from: '2026', to: '2030' }],
  ]);
  const adopted = ofType('DocumentAdopted');
  t.equal(adopted.length, 1, 'only the Declaration is adopted');
  t.equal(adopted[0]?.data.kind, 'declaration');
  t.equal(adopted[0]?.data.adoptedOn, '2025-11-27');
  t.notOk('effective' in (adopted[0]?.data ?? {}), 'no period of effect: the release gives none');
  t.notOk('period' in (adopted[0]?.data ?? {}), 'no period: the release gives none');
  const considered = new Set(ofType('DocumentConsidered').map((f) => f.data.key));
  t.notOk(adopted.some((f) => considered.has(f.data.document as string)), 'considered documents are not adopted');

  const appointed = ofType('OfficialAppointed');
  t.same(appointed.map((f) => [f.data.person, f.data.office, f.data.term]), [
    ['taalatbek-masadykov', 'csto-secretary-general', { from: '2026-01-01', to: '2028-12-31' }],
  ], 'Tasmagambetov is attested, not appointed: the release says nothing of his term');
  t.same(ofType('ChairmanshipPassed').map((f) => [f.data.chair, f.data.term, f.data.decidedBy]), [
    ['ru', { from: '2026-01-01', to: '2026-12-31' }, 'csto-collective-security-council'],
  ]);
  t.equal(ofType('SessionHeld').length, 1);
  const session = ofType('SessionHeld')[0]?.data;
  t.same(session?.held, { from: '2025-11-27' });
  t.same(session?.chairedBy, { person: 'sadyr-japarov', office: 'kg-president' });
  t.same(ofType('MembershipStarted'), [], 'the release names no member states');
  t.same(ofType('OfficialLeftOffice'), [], 'the release says nothing of anyone leaving office');
});
