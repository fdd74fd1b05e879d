/**
 * The worker's side of a thread, written once for the store writer (sqlite-writer-thread.ts),
 * the read models (projections/thread.ts), the audit follower (src/audit/follower-thread.ts)
 * and each read worker (projections/read-worker.ts); thread-client.ts is the main thread's
 * side. It takes the port and the thread's `workerData`, answers the handshake (`ready` once
 * the thread serves; `failed` when opening threw, after closing what was opened, and the port
 * closes so the thread ends), hands every request to the thread's own handler, and on `close`
 * closes what the thread serves, says `closed` (where the protocol has it) and closes the port.
 *
 * What each message means stays with the thread: the helper knows only `close`. A thread with
 * a failure handshake opens through `serveThread`; one without (the read worker: an error
 * while opening is its uncaught error, and the main thread hears the exit) serves through
 * `workerSide` directly.
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';

export interface Served<Request extends { kind: string }, Reply> {
  /** The handshake's answer, sent once the handler listens. */
  readonly ready: Reply;
  /** Every request but `close`. */
  readonly onMessage: (message: Exclude<Request, { kind: 'close' }>) => void;
  /** What `close` does before the port closes (finish what was accepted, close connections). */
  readonly close: () => Promise<void> | void;
  /** Said after `close`, where the protocol has a `closed` answer. */
  readonly closed?: Reply;
  /** Told once `ready` is sent: what the thread then says of itself comes after the handshake. */
  readonly afterReady?: () => void;
}

export interface WorkerSide<Init, Request extends { kind: string }, Reply> {
  /** The thread's workerData, as the main thread's side sent it. */
  readonly init: Init;
  readonly port: MessagePort;
  readonly post: (message: Reply) => void;
  /** Listens for requests, then answers the handshake with `ready`. */
  serve(served: Served<Request, Reply>): void;
  /**
   * The next request already waiting on the port, taken now, while the thread is busy with
   * another (the read worker answers point questions that came during a page before the
   * pages ahead of them); null when none waits. Only requests `keep` accepts are handed back:
   * any other (a `close`, say) is handled as if it had arrived in turn once the thread is free
   * again, and nothing more is taken until then, so the requests behind it keep their order.
   * Only while a request is handled (from `onMessage`).
   */
  take(keep: (message: Request) => boolean): Request | null;
  /** Answers the handshake with a refusal and closes the port: the thread ends. */
  refuse(failed: Reply): void;
}

/** This thread's side; `name` is in the error when the module is loaded outside a worker thread. */
export function workerSide<Init, Request extends { kind: string }, Reply>(name: string): WorkerSide<Init, Request, Reply> {
  const port = parentPort;
  /* c8 ignore next: only ever started as a worker */
  if (port === null) throw new Error(`${name} runs as a worker thread`);
  const post = (m: Reply): void => port.postMessage(m);
  let served: Served<Request, Reply> | null = null;
  // A request `take` found but did not hand back, until it is handled.
  let deferred: Request | null = null;
  const handle = (msg: Request): void => {
    dispatch(msg);
    // A request `take` set aside while `msg` was handled: handled now, before any behind it.
    for (let d = deferred; d !== null; d = deferred) {
      deferred = null;
      dispatch(d);
    }
  };
  const dispatch = (msg: Request): void => {
    const s = served as Served<Request, Reply>;
    if (msg.kind !== 'close') {
      s.onMessage(msg as Exclude<Request, { kind: 'close' }>);
      return;
    }
    void (async () => {
      await s.close();
      if (s.closed !== undefined) post(s.closed);
      port.close();
    })();
  };
  return {
    init: workerData as Init,
    port,
    post,
    serve(s) {
      served = s;
      port.on('message', handle);
      post(s.ready);
      s.afterReady?.();
    },
    take(keep) {
      if (deferred !== null) return null;
      const got = receiveMessageOnPort(port);
      if (got === undefined) return null;
      const msg = got.message as Request;
      if (keep(msg)) return msg;
      deferred = msg;
      return null;
    },
    refuse(failed) {
      post(failed);
      port.close();
    },
  };
}

export interface Opening<Init, Reply> {
  readonly init: Init;
  readonly port: MessagePort;
  readonly post: (message: Reply) => void;
  /** Something to close if opening fails after it was opened (a store, when the read models on it failed). */
  readonly undo: (close: () => Promise<unknown> | unknown) => void;
}

/** Opens what the thread serves, then serves it; a throw while opening is answered with `failed(error)`. */
export async function serveThread<Init, Request extends { kind: string }, Reply>(o: {
  readonly name: string;
  readonly open: (side: Opening<Init, Reply>) => Promise<Served<Request, Reply>> | Served<Request, Reply>;
  readonly failed: (e: unknown) => Reply;
}): Promise<void> {
  const side = workerSide<Init, Request, Reply>(o.name);
  const undo: Array<() => Promise<unknown> | unknown> = [];
  let served: Served<Request, Reply>;
  try {
    served = await o.open({ init: side.init, port: side.port, post: side.post, undo: (close) => undo.push(close) });
  } catch (e) {
    for (const close of undo.reverse()) await Promise.resolve().then(close).catch(() => undefined);
    side.refuse(o.failed(e));
    return;
  }
  side.serve(served);
}
