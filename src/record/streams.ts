/** Which stream a fact goes to (DESIGN.md, "Facts"; events/streams.ts), from its resolved data and the catalogue. */
import { placementOf, streamOf, type Fact } from '../../events/index.js';

/** Corrections and retractions are not placed here: they go to the stream of the fact they name (null). */
export function streamFor(fact: Fact, factId: string): string | null {
  const place = placementOf(fact, factId);
  return place && streamOf(place.kind, place.id);
}
