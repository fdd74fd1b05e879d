/** Every read model, in the order the runner applies them. */
import { chairs } from './chairs/evolve.js';
import { documents } from './documents/evolve.js';
import { entities } from './entities/evolve.js';
import { memberships } from './memberships/evolve.js';
import { offices } from './offices/evolve.js';
import { sessions } from './sessions/evolve.js';
import { timeline } from './timeline/evolve.js';
import type { Projection } from './types.js';

export const PROJECTIONS: readonly Projection[] = [entities, offices, chairs, memberships, sessions, documents, timeline];

/**
 * Changes when any projection's version does (or the runner's own tables and indexes: v2 added
 * where each fact lives and why it was amended; v3 the correction that wrote each row's version,
 * `corrected_by`; v4 closes versions through a key led by the id of the fact's stream's entity,
 * so most tables lost their (fact_id) index, and entities' (kind, parent, name, id) holds the
 * rows with a parent only): a stored read-model file with another one is rebuilt.
 */
export const SCHEMA_TAG = `v4:${PROJECTIONS.map((p) => `${p.name}@${p.version}`).join(',')}`;
