/** The stored contract: fact schemas, partial dates, terms, ids, streams, the envelope. */
export * from './bookkeeping.js';
export * from './envelope.js';
export * from './facts/index.js';
export * from './ids.js';
export * from './partial-date.js';
export * from './source.js';
export * from './streams.js';
export * from './term.js';
export * from './upcast.js';
