/**
 * What reading the read-model file needs apart from the runner and the writer: a reader's
 * connection and the read models' errors that cross threads (crossed-errors.ts). index.ts
 * re-exports them; the read workers (read-worker.ts) import this alone, so their thread does
 * not load the projection runner, the writer's rows and the rebuild (~25–40 ms of a start's CPU).
 */
import Database from 'better-sqlite3';

/**
 * A connection that only reads the read-model file (queries), beside the writer's: its read
 * snapshots (query-context.ts) never hold the writer's transactions open.
 */
export function openReader(path: string): Database.Database {
  const db = new Database(path);
  db.pragma('cache_size = -65536');
  return db;
}

/** The read models cannot answer right now (their thread is restarting, or stopped mid-request); retry shortly. */
export class ReadModelsUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReadModelsUnavailableError';
  }
}

export class RebuildInProgressError extends Error {
  constructor() {
    super('a rebuild is already running');
    this.name = 'RebuildInProgressError';
  }
}

/**
 * A rebuild that failed on its storage (a full disk, a file that would not open or be
 * renamed): its message says where the service stands and what to do (503, not a bug's 500).
 */
export class RebuildFailedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RebuildFailedError';
  }
}

/**
 * A rebuild stopped before it completed because the service (or `annals rebuild`) was told to
 * stop: its fresh file removed, the read models as they were. A 503 (src/http/errors.ts).
 */
export class RebuildStoppedError extends Error {
  constructor(message = 'the service is stopping: the rebuild was stopped before it completed and the read models are as they were before it (they follow the log as usual; nothing acknowledged is lost); run the rebuild again once the service is back') {
    super(message);
    this.name = 'RebuildStoppedError';
  }
}
