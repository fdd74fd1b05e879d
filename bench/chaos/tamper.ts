/**
 * Rows changed while the service is stopped, by someone who can write the data dir but has not
 * the key (kept outside it): a row appended is parked, never signed, and /readyz and verify
 * say where; a row altered, with audit.db deleted so a fresh tree would cover it, stops the
 * rebuilt tree before it, and nothing is signed.
 */
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { check, http, layout, recordAndStop, startServer, waitUnready, type Check, type Scenario } from './harness.js';


export const tamper: Scenario = {
  name: 'tamper',
  summary: 'a row appended or altered offline is found, parked, and not signed',
  async run(ctx) {
    const checks: Check[] = [];
    const { dataDir, env } = layout(ctx);
    await recordAndStop(ctx, env, 't', 30);

    const db = new Database(join(dataDir, 'events.db'));
    const position = (db.prepare('SELECT max(position) FROM events').pluck().get() as number) + 1;
    db.prepare('INSERT INTO events (position, id, stream, revision, type, data, metadata, recorded_at) VALUES (?, ?, ?, 0, ?, ?, ?, ?)').run(
      position,
      randomUUID(),
      'person-01KB19R500F0RGED0000000001',
      'PersonRegistered',
      JSON.stringify({ key: 'forged', name: 'Forged' }),
      JSON.stringify({ factId: '01KB19R500F0RGED0000000001', recordedBy: 'recorder:deadbeef', source: { title: 'forged' } }),
      '2020-01-01T00:00:00.000Z',
    );
    db.close();
    const intruder = String(position).padStart(20, '0');
    const first = await startServer(ctx, env);
    const unready = await waitUnready(first.base, /unsealed/);
    checks.push(check('appended row: /readyz 503 names it', unready.status === 503 && unready.detail.includes(intruder), unready.detail));
    const head = await http(first.base, '/v1/audit/tree-head', { method: 'POST', role: 'admin' });
    checks.push(check('appended row: the head signed now stops before it', (head.json['head'] as { lastPosition?: string })?.lastPosition === String(position - 1).padStart(20, '0'), JSON.stringify(head.json['head'])));
    const verify = await http(first.base, '/v1/audit/verify', { method: 'POST', role: 'auditor' });
    const divergence = (verify.json['firstDivergence'] ?? (verify.json['report'] as Record<string, unknown> | undefined)?.['firstDivergence']) as { reason?: string; position?: string } | undefined;
    checks.push(check('appended row: verify reports it', divergence?.reason === 'unsealed-event' && divergence.position === intruder, JSON.stringify(verify.json).slice(0, 300)));
    await first.stop();
    // The short version leaves the altered row to test/integrity-seal.test.ts.
    if (ctx.short) return { checks };

    // Altered, in another data dir: a row changed, and the tree deleted so a new one would cover the change.
    const other = layout(ctx, 'altered');
    await recordAndStop(ctx, other.env, 'u', 30);
    const db2 = new Database(join(other.dataDir, 'events.db'));
    db2.prepare("UPDATE events SET data = json_set(data, '$.name', 'Someone Else') WHERE position = 5").run();
    db2.close();
    for (const s of ['', '-wal', '-shm']) rmSync(join(other.dataDir, `audit.db${s}`), { force: true });
    const second = await startServer(ctx, other.env);
    const altered = await waitUnready(second.base, /altered/);
    checks.push(check('altered row: /readyz 503 names it', altered.status === 503 && altered.detail.includes('00000000000000000005'), altered.detail));
    const signed = await http(second.base, '/v1/audit/tree-head', { method: 'POST', role: 'admin' });
    checks.push(check('altered row: nothing is signed over the rebuilt tree', signed.status === 503, `${signed.status} ${JSON.stringify(signed.json).slice(0, 200)}`));
    await second.stop();
    return { checks };
  },
};
