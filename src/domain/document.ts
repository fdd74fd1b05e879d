/**
 * The document stream (`document-<id>`): created by DocumentConsidered or DocumentAdopted;
 * a DocumentAdopted naming an existing `document` lands here too. A document is adopted once.
 */
import type { Rule } from './decide.js';
import { conflict } from './decide.js';
import { standing } from './state.js';
import { streamDecider } from './stream.js';

const adoptedOnce: Rule = (state, fact) => {
  if (fact.type !== 'DocumentAdopted') return;
  const adopted = standing(state, 'DocumentAdopted').find((f) => f.factId !== fact.factId);
  if (adopted) throw conflict(`the document was already adopted (fact ${adopted.factId}); a document is adopted once`, adopted.factId);
};

export const documentDecider = streamDecider('document', { rules: [adoptedOnce] });
