/**
 * `annals rebuild`: rebuilds every read model from the log into a fresh file and swaps it in
 * for the data dir's read models (readmodels.db), with a progress line. Run it on a stopped
 * service; a running one rebuilds through its admin API.
 */
import { join } from 'node:path';
import { RebuildStoppedError, rebuildReadModels } from '../../projections/index.js';
import type { Command } from './main.js';
import { EXIT, GLOBAL_HELP, withLock, withStore } from './common.js';
import { progress } from './progress.js';

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

const HELP = `annals rebuild — rebuild the read models from the log

Usage: annals rebuild

Replays the whole log into a fresh read-model file beside <data dir>/readmodels.db and
renames it over the old one. Refused (exit 5) while the service runs on this data dir: a
running service rebuilds through POST /v1/admin/rebuild. It is also what to run when the
service refuses to start because its read models follow another log, or a log that lost
events. Prints a progress line on stderr and a summary at the end (events/s, CPU an event).
Ctrl-C (SIGINT) or SIGTERM stops it at its next batch: the fresh file is removed, the read
models stay as they were, and it exits 130 (a second signal ends it at once).
${GLOBAL_HELP}`;

export const rebuildCommand: Command = {
  name: 'rebuild',
  summary: 'rebuild the read models from the log (service stopped)',
  help: HELP,
  async run({ io, config, log }) {
    const beside = 'Stop the service first, or rebuild through its POST /v1/admin/rebuild (an admin token)';
    return await withLock(config, 'annals rebuild', beside, () => withStore(config, async (store) => {
      const head = await store.head();
      const bar = progress({ stream: io.stderr, label: 'rebuild', total: null });
      const cpu0 = process.cpuUsage();
      const path = join(config.dataDir, 'readmodels.db');
      // The first SIGINT or SIGTERM stops the build at its next batch (its file removed); the listener goes with it, so a second ends the process as usual.
      const stop = new AbortController();
      let signalled: string | null = null;
      const onSignal = (signal: NodeJS.Signals): void => {
        signalled = signal;
        for (const s of SIGNALS) process.removeListener(s, onSignal);
        io.stderr.write(`\n${signal}: stopping the rebuild at its next batch (again to end it at once)\n`);
        stop.abort();
      };
      for (const s of SIGNALS) process.once(s, onSignal);
      let result;
      try {
        result = await rebuildReadModels({ store, path, log, signal: stop.signal, onProgress: (p) => bar.update(p.applied, p.stage === undefined ? undefined : `log applied, finishing: ${p.stage} done`) });
      } catch (err) {
        if (!(err instanceof RebuildStoppedError)) throw err;
        io.stderr.write(`annals rebuild: stopped by ${signalled ?? 'a signal'} before it completed: the partial file was removed and the read models in ${path} are as they were. Run 'annals rebuild' again to rebuild them\n`);
        return EXIT.stopped;
      } finally {
        for (const s of SIGNALS) process.removeListener(s, onSignal);
      }
      const cpu = process.cpuUsage(cpu0);
      bar.finish(result.events);
      // CPU of this process (user + system, every thread): on a shared machine the figure to compare, not the wall time.
      const perEvent = result.events > 0 ? `, ${((cpu.user + cpu.system) / result.events).toFixed(1)} µs of CPU an event` : '';
      io.stderr.write(`rebuilt the read models from ${result.events} events in ${(result.elapsedMs / 1000).toFixed(1)} s (${result.eventsPerSecond}/s${perEvent}), up to position ${result.position ?? head ?? '(empty log)'}\n`);
      return EXIT.ok;
    }, { oneRead: true }));
  },
};
