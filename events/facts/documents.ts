/** Facts about documents: put before a body, adopted. "Considered" is not "adopted". */
import { z } from 'zod';
import { Key } from '../ids.js';
import { PartialDate, isPartialDate, lowerBound, upperBound } from '../partial-date.js';
import { Term } from '../term.js';
import { fact } from './entry.js';
import { Name, Ref, Text } from './common.js';

export const DocumentKind = z.enum(['strategy', 'plan', 'programme', 'declaration', 'decision', 'statement', 'agreement', 'other']);

export const Period = z
  .strictObject({ from: PartialDate, to: PartialDate })
  // Bad dates are reported by their own fields: zod runs this refinement even after they failed.
  .refine((p) => !isPartialDate(p.from) || !isPartialDate(p.to) || upperBound(p.to) >= lowerBound(p.from), { message: 'the period ends before it begins', path: ['to'] })
  .describe('The years the document covers, e.g. { from: "2026", to: "2030" }');

export const DocumentConsidered = fact({
  data: z.strictObject({
    key: Key.optional(),
    title: Name,
    kind: DocumentKind,
    body: Ref,
    session: Ref,
    period: Period.optional(),
    summary: Text.optional(),
  }),
  stream: { own: 'document' },
  identity: ['key'],
  refs: { body: 'organization', session: 'session' },
});

export const DocumentAdopted = fact({
  data: z
    .strictObject({
      document: Ref.optional().describe('An existing document (e.g. one only considered so far), instead of key/title/kind'),
      key: Key.optional(),
      title: Name.optional(),
      kind: DocumentKind.optional(),
      body: Ref,
      session: Ref.optional(),
      adoptedOn: PartialDate,
      effective: Term.optional().describe('Period of effect; none: in force from adoptedOn, open'),
      period: Period.optional(),
      summary: Text.optional(),
    })
    .superRefine((d, ctx) => {
      if (d.document !== undefined) {
        for (const field of ['key', 'title', 'kind'] as const) {
          if (d[field] !== undefined) {
            ctx.addIssue({ code: 'custom', path: [field], message: `give either \`document\` or \`${field}\`, not both` });
          }
        }
        return;
      }
      if (d.title === undefined) ctx.addIssue({ code: 'custom', path: ['title'], message: 'required unless `document` names an existing document' });
      if (d.kind === undefined) ctx.addIssue({ code: 'custom', path: ['kind'], message: 'required unless `document` names an existing document' });
    }),
  // The adoption of an existing document lives in its stream; otherwise it creates the document.
  stream: { in: 'document', by: 'document', own: 'document' },
  identity: ['key', 'document'],
  refs: { document: 'document', body: 'organization', session: 'session' },
});
