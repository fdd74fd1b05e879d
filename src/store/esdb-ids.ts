/**
 * Event ids unique across streams. The port refuses an id already stored in another stream;
 * EventStoreDB only knows ids within one stream and has no index by id. So before an append,
 * each id is reserved with a one-event stream `annals-event-id-<id>` written with
 * `no_stream` (EventStoreDB's optimistic check is the lock), whose event names the owning
 * stream. Reservation events have a `$`-type, so every read of the adapter skips them like
 * system events. A reservation whose append never happened (a failed or conflicting append)
 * is stale: the next append of that id to another stream checks the owner and takes it over.
 * Known gap: two appends racing with one id into two streams can both pass while the first
 * has reserved but not yet written.
 */
import { EventStoreDBClient, NO_STREAM, StreamNotFoundError, WrongExpectedVersionError, jsonEvent } from '@eventstore/db-client';
import { DuplicateEventError, StoreUnavailableError } from './errors.js';
import { translateError } from './esdb-errors.js';

export const ID_STREAM_PREFIX = 'annals-event-id-';
export const ID_EVENT_TYPE = '$annals-event-id';

/** `prior`: the id was already reserved for this very stream (a retry, or a stale reservation). */
export type Reservation = 'fresh' | 'prior';

const MAX_ATTEMPTS = 5;

export async function reserveIds(
  client: EventStoreDBClient,
  stream: string,
  ids: readonly string[],
  isStoredIn: (owner: string, id: string) => Promise<boolean>,
  /** Runs each call to the server (the adapter bounds how many are in flight). */
  run: <T>(op: () => Promise<T>) => Promise<T> = (op) => op(),
): Promise<Reservation[]> {
  return Promise.all(ids.map((id) => reserve(client, stream, id, isStoredIn, run)));
}

async function reserve(
  client: EventStoreDBClient,
  stream: string,
  id: string,
  isStoredIn: (owner: string, id: string) => Promise<boolean>,
  run: <T>(op: () => Promise<T>) => Promise<T>,
): Promise<Reservation> {
  const name = ID_STREAM_PREFIX + id;
  const event = () => jsonEvent({ type: ID_EVENT_TYPE, data: { stream } });
  let expectedRevision: typeof NO_STREAM | bigint = NO_STREAM;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    try {
      await run(() => client.appendToStream(name, event(), { expectedRevision, requiresLeader: true }));
      return 'fresh';
    } catch (err) {
      if (!(err instanceof WrongExpectedVersionError)) throw translateError(err, `reserve event id ${id}`);
    }
    const current = await run(() => owner(client, name));
    if (!current) {
      expectedRevision = NO_STREAM;
      continue;
    }
    if (current.stream === stream) return 'prior';
    if (await isStoredIn(current.stream, id)) throw new DuplicateEventError(stream, id);
    expectedRevision = current.revision;
  }
  throw new StoreUnavailableError(`event id ${id}: reservation kept changing after ${MAX_ATTEMPTS} attempts`);
}

async function owner(client: EventStoreDBClient, name: string): Promise<{ stream: string; revision: bigint } | null> {
  try {
    // Read to the end, never break out: an abandoned read keeps its gRPC call open and
    // client.dispose() would wait for it forever.
    let last: { stream: string; revision: bigint } | null = null;
    for await (const r of client.readStream<{ type: string; data: { stream: string } }>(name, { direction: 'backwards', fromRevision: 'end', maxCount: 1, requiresLeader: true })) {
      if (r.event) last ??= { stream: r.event.data.stream, revision: r.event.revision };
    }
    return last;
  } catch (err) {
    if (err instanceof StreamNotFoundError) return null;
    throw translateError(err, `read reservation ${name}`);
  }
}
