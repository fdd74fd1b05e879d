/**
 * What bench:record and bench/record-ab.ts both send and read: the facts of a client's stream
 * and the recorder's group counts from the metrics text.
 */
/** Every benchmark fact's source. */
export const SOURCE = { title: 'Benchmark', publisher: 'Annals' };

/** The i-th fact of a stream of work for `client`: a person, then their attendance. */
export function factFor(prefix: string, client: number, i: number): object {
  const key = `${prefix}-c${client}-p${i >> 1}`;
  return i % 2 === 0
    ? { type: 'PersonRegistered', data: { key, name: `Person ${client}/${i >> 1}` }, source: SOURCE }
    : { type: 'DelegateAttended', data: { session: `bench-session-${client}`, person: key, representing: 'bench-org' }, source: SOURCE };
}

/** Groups the recorder decided and appended so far, and the facts in them (annals_record_group_size), from GET /metrics' text. */
export function groupsIn(text: string): { groups: number; facts: number } {
  const read = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return { groups: read('annals_record_group_size_count'), facts: read('annals_record_group_size_sum') };
}
