import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { waitFor } from '../support/e2e.js';
import { spawnServer, type SpawnedServer } from '../support/spawn-server.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const BOARD = path.join(REPO, 'deploy', 'grafana', 'wasync.json');
const RULES = path.join(REPO, 'deploy', 'prometheus', 'alerts.yml');

/** Series Prometheus makes itself at scrape time: never in a target's /metrics. */
const PROMETHEUS_OWN = new Set(['up']);

/**
 * Metrics whose samples appear only once something goes wrong (a labelled counter has no series before
 * its first event): for these the family's `# TYPE` line must exist, not a sample.
 */
const ONLY_ON_FAILURE = new Set(['wasync_actor_errors_total']);

const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'inf',
  'nan',
]);

/**
 * The metric names a PromQL expression reads. Removes what can hold identifiers that are not metric
 * names (strings, label matchers, ranges, grouping label lists, Grafana variables, numbers and
 * durations), then keeps the identifiers that are not a function or aggregation call (followed by
 * `(`) nor a keyword.
 */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{[^}]*\}|\$\w+/g, ' ')
    .replace(/\b\d[\w.]*/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/[A-Za-z_:][\w:]*/g)) {
    const after = stripped.slice(m.index + m[0].length);
    if (/^\s*\(/.test(after) || KEYWORDS.has(m[0])) continue;
    names.add(m[0]);
  }
  return [...names];
}

interface Board {
  panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
  templating: { list: Array<{ query?: string | { query: string } }> };
}

function boardExpressions(): string[] {
  const board = JSON.parse(readFileSync(BOARD, 'utf8')) as Board;
  const exprs = board.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
  for (const v of board.templating.list) {
    const q = typeof v.query === 'string' ? v.query : v.query?.query;
    // label_values(metric{…}, label): the metric is the first argument.
    const inner = q ? /^label_values\((.*),\s*\w+\)$/.exec(q)?.[1] : undefined;
    if (inner) exprs.push(inner);
  }
  return exprs;
}

function ruleExpressions(): Array<{ alert: string; expr: string }> {
  const doc = parse(readFileSync(RULES, 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
  return doc.groups.flatMap((g) => g.rules);
}

describe('metric names in PromQL', () => {
  it.each([
    ['sum by (source) (rate(wasync_messages_stored_total{job=~"$job"}[$__rate_interval]))', ['wasync_messages_stored_total']],
    ['(time() - a_seconds{x="y"}) > 6 * 3600 and on (job, instance, account) b_open == 1', ['a_seconds', 'b_open']],
    ['histogram_quantile(0.95, sum by (le, route) (rate(h_bucket[5m])))', ['h_bucket']],
    ['sum(x{status=~"5.. and or"}) / sum(rate(y[1h] offset 5m)) or vector(0)', ['x', 'y']],
    ['count(wasync_account_open{a="b"} == 0) or vector(1e3)', ['wasync_account_open']],
    ['sum without (code) (z) unless ignoring(a) group_left(b) w', ['z', 'w']],
  ])('%s', (expr, names) => {
    expect(metricNames(expr).sort()).toEqual([...names].sort());
  });
});

describe('deploy/grafana/wasync.json and deploy/prometheus/alerts.yml', () => {
  let dataDir: string;
  let server: SpawnedServer;
  let exposition: string;
  const token = 'observability-test-token-0123';

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'wasync-observability-'));
    // The real server with the simulated phone (history, live messages, media into the archive) and
    // the periodic jobs on short timers, so that the counters the board reads have samples.
    server = await spawnServer({
      env: {
        ...process.env,
        API_TOKEN: token,
        LOG_FORMAT: 'json',
        LOG_LEVEL: 'warn',
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: dataDir,
        WA_CONNECTOR: 'sim',
        WA_DEMO: 'true',
        WA_SIM_CHATS: '4',
        WA_SIM_MESSAGES_PER_CHAT: '10',
        WA_SIM_RATE: '20',
        MEDIA_ARCHIVE: 'fs',
        AUTO_BACKFILL_INTERVAL_MS: '1000',
        RECENT_SYNC_INTERVAL_MS: '1000',
      },
    });
    const api = (p: string, init: RequestInit = {}) =>
      fetch(new URL(p, server.url), { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
    await waitFor('the demo account to open', async () => {
      const a = (await (await api('/api/whatsapp/accounts/demo')).json()) as { account?: { runtime?: { connection: string } } };
      return a.account?.runtime?.connection === 'open' ? true : undefined;
    });
    await api('/api/whatsapp/send', { method: 'POST', body: JSON.stringify({ accountId: 'demo', to: '40700000001', text: 'hi' }) });
    await api('/api/whatsapp/backfill/demo', { method: 'POST' });
    await (await api('/api/whatsapp/export/demo?format=csv')).text();
    const has = (text: string, name: string) => new RegExp(`^${name}[{ ]`, 'm').test(text);
    exposition = await waitFor(
      'the counters to appear',
      async () => {
        const text = await (await fetch(new URL('/metrics', server.url))).text();
        const wanted = [
          'wasync_receipts_applied_total',
          'wasync_backfill_runs_total',
          'wasync_media_archive_files_total',
          'wasync_account_last_realtime_message_timestamp_seconds',
          'wasync_account_history_sync_progress_percent',
        ];
        return wanted.every((n) => has(text, n)) ? text : undefined;
      },
      30_000,
      250,
    );
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  function missing(names: Iterable<string>): string[] {
    const out: string[] = [];
    for (const name of names) {
      if (PROMETHEUS_OWN.has(name)) continue;
      const sample = new RegExp(`^${name}[{ ]`, 'm').test(exposition);
      const family = name.replace(/_(bucket|sum|count)$/, '');
      const typed = new RegExp(`^# TYPE (${name}|${family}) `, 'm').test(exposition);
      if (!(sample || (ONLY_ON_FAILURE.has(name) && typed))) out.push(name);
    }
    return out;
  }

  it('every metric the board reads is in /metrics of a running server', () => {
    const names = new Set(boardExpressions().flatMap(metricNames));
    expect(names.size).toBeGreaterThan(25);
    expect(missing(names)).toEqual([]);
  });

  it('every metric the alert rules read is in /metrics of a running server', () => {
    const rules = ruleExpressions();
    expect(rules.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        'WasyncAccountNotOpen',
        'WasyncIngestErrors',
        'WasyncBatchFlushFailures',
        'WasyncNoRealtimeMessages',
        'WasyncActorCrashLoop',
        'WasyncAccountParked',
      ]),
    );
    const names = new Set(rules.flatMap((r) => metricNames(r.expr)));
    expect(missing(names)).toEqual([]);
  });

  it('the new series hold what happened: the account open, its lag, its progress, the backfill runs', async () => {
    const text = await waitFor(
      'an auto backfill to finish',
      async () => {
        const t = await (await fetch(new URL('/metrics', server.url))).text();
        return /^wasync_auto_backfill_runs_total\{outcome="ok"\} [1-9]/m.test(t) ? t : undefined;
      },
      30_000,
      250,
    );
    const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('wasync_account_open{account="demo"}')).toBe(1);
    expect(value('wasync_actors{state="running"}')).toBe(1);
    const lag = Date.now() / 1000 - value('wasync_account_last_realtime_message_timestamp_seconds{account="demo"}');
    expect(lag).toBeGreaterThanOrEqual(-5);
    expect(lag).toBeLessThan(60);
    expect(value('wasync_account_history_sync_progress_percent{account="demo",sync_type="RECENT"}')).toBe(100);
    expect(value('wasync_backfill_runs_total{reason="manual",result="ok"}')).toBeGreaterThanOrEqual(1);
    expect(value('wasync_exports_total{format="csv",result="complete"}')).toBe(1);
  });

  it('per-account series carry only accounts this instance runs', () => {
    const accounts = new Set([...exposition.matchAll(/^wasync_account_\w+\{[^}]*account="([^"]+)"/gm)].map((m) => m[1]));
    expect(accounts).toEqual(new Set(['demo']));
  });

  const promtool = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => existsSync(p));
  if (!promtool) console.log('promtool checks (test/deploy/observability.test.ts) not run: promtool not found (Debian package prometheus)');

  it.skipIf(!promtool)('promtool check rules accepts the alert rules', () => {
    const out = execFileSync(promtool!, ['check', 'rules', RULES], { encoding: 'utf8' });
    expect(out).toMatch(/SUCCESS: \d+ rules found/);
  });

  it.skipIf(!promtool)("promtool parses every board expression (Grafana's variables filled in)", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wasync-board-rules-'));
    try {
      const rules = boardExpressions().map((expr, i) => ({
        record: `board:expr_${i}`,
        expr: expr.replaceAll('$__rate_interval', '5m').replace(/\$\{?\w+\}?/g, '.*'),
      }));
      const file = path.join(dir, 'board.yml');
      writeFileSync(file, JSON.stringify({ groups: [{ name: 'board', rules }] }));
      const out = execFileSync(promtool!, ['check', 'rules', file], { encoding: 'utf8' });
      expect(out).toMatch(new RegExp(`SUCCESS: ${rules.length} rules found`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
