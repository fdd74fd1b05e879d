/** Provenance: required on every fact, so a historian can cite it. */
import { z } from 'zod';
import { PartialDate } from './partial-date.js';

export const Source = z
  .strictObject({
    title: z.string().trim().min(1).max(1000),
    publisher: z.string().trim().min(1).max(500).optional(),
    url: z.url({ protocol: /^https?$/ }).max(2000).optional(),
    publishedOn: PartialDate.optional(),
    quote: z.string().trim().min(1).max(20000).optional(),
  })
  .describe('Where the fact comes from: title, publisher, url, publication date, the quoted passage');
export type Source = z.infer<typeof Source>;
