/**
 * One writer per data dir: beside a running service, the commands that write (import,
 * rebuild) are refused with exit 5 and record nothing, a second service is refused, and the
 * commands that only read (export) work.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { annals, check, http, layout, startRefused, startServer, waitReady, type Scenario } from './harness.js';

export const cliBeside: Scenario = {
  name: 'cli-beside',
  summary: 'the CLI and a second service refused beside a running service; export still reads',
  async run(ctx) {
    const { env } = layout(ctx);
    const server = await startServer(ctx, env);
    await waitReady(server.base);
    await http(server.base, '/v1/facts/batch', { role: 'recorder', body: Array.from({ length: 10 }, (_, i) => ({ type: 'PersonRegistered', data: { key: `b-${i}`, name: `P ${i}` }, source: { title: 'Fault campaign' } })) });
    const file = join(ctx.workDir, 'facts.ndjson');
    writeFileSync(file, `${JSON.stringify({ type: 'PersonRegistered', data: { key: 'beside', name: 'Beside' }, source: { title: 'Fault campaign' } })}\n`);
    const [imported, rebuilt, exported, second] = await Promise.all([annals(ctx, env, ['import', file]), annals(ctx, env, ['rebuild']), annals(ctx, env, ['export']), startRefused(ctx, env)]);
    const people = await http(server.base, '/v1/people/beside');
    const ready = await http(server.base, '/readyz');
    await server.stop();
    return {
      checks: [
        check('annals import refused: exit 5, naming the service', imported.code === 5 && /in use by the service \(pid \d+/.test(imported.stderr), `${imported.code} ${imported.stderr.trim()}`),
        check('nothing imported', people.status === 404, `${people.status}`),
        check('annals rebuild refused: exit 5', rebuilt.code === 5, `${rebuilt.code} ${rebuilt.stderr.trim()}`),
        check('a second service refused: exit 1, never listening', second.code === 1 && !second.listened && /in use by the service/.test(second.stderr), second.stderr.trim().split('\n').at(-1)),
        check('annals export reads beside it', exported.code === 0 && exported.stdout.trim().split('\n').length >= 10, `${exported.code} ${exported.stderr.trim()}`),
        check('the running service stays ready', ready.status === 200),
      ],
    };
  },
};
