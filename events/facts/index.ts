/**
 * The fact catalogue (catalogue.ts): one entry per fact type, each beside its schema, and
 * what is derived from them. The stored contract: change a schema with care, bump
 * SCHEMA_VERSION and add an upcaster (events/upcast.ts) for old shapes.
 */
export * from './catalogue.js';
export * from './common.js';
export * from './corrections.js';
export * from './documents.js';
export * from './entry.js';
export * from './offices.js';
export * from './refs.js';
export * from './registrations.js';
export * from './sessions.js';
