import os from 'node:os';
import { benchIngest } from './ingest.js';
import { benchApi } from './api.js';
import { benchFootprint } from './footprint.js';
import { benchReadOffload } from './read-offload.js';
import { benchMappingOffload } from './mapping-offload.js';
import { benchFirestore, type ComparisonResult, type FirestoreVariantResult } from './firestore.js';
import { benchFeed } from './feed.js';

/**
 * `npm run bench`: every figure is a ratio against a baseline measured in the same run on the same
 * machine, so the numbers travel between machines; absolute rates are printed for context only.
 * Select sections with BENCH=ingest,offload,api,feed,footprint,firestore (default: all). BENCH_BASE_DIR, a
 * built checkout of the base commit, adds its API server to the API section ("before" rows).
 * BENCH_FOOTPRINT_STEPS (10,50,100) and BENCH_FOOTPRINT_DRIFT_S (60) shape the footprint section.
 */
const sections = new Set((process.env.BENCH ?? 'ingest,offload,api,feed,footprint,firestore').split(','));
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  const load = os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ');
  console.log(
    `# wasync benchmarks\n\nmachine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ` +
      `${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}; ` +
      // Shared machines: a latency figure means little without what else was running.
      `load average at start ${load} (1 / 5 / 15 min)\n`,
  );
  if (sections.has('ingest')) {
    const r = await benchIngest({ chats: 500, messagesPerChat: 200, trials: 3 });
    console.log('## History ingest into SQLite (best of %d trials)', r.trials);
    console.log(`- ${fmt(r.messages)} messages over ${r.chats} chats`);
    console.log(`- pipeline (mapping + batch writer + store, change log on): ${fmt(r.pipelineRate)} msg/s`);
    console.log(`- the same pipeline with the change log off: ${fmt(r.withoutLogRate)} msg/s`);
    console.log(`- **ratio change log on / off, per CPU second: ${r.logCpuRatio.toFixed(2)}** (aim ≥ 0.85: the log costs under 15%)`);
    console.log(`- the same ratio in wall-clock time: ${r.logRatio.toFixed(2)} (moves with whatever else the machine runs)`);
    console.log(`- mapping alone: ${fmt(r.mappingRate)} msg/s`);
    console.log(`- bare prepared-statement insert, same rows and table: ${fmt(r.bareRate)} msg/s`);
    console.log(
      `- transactions: pipeline ${fmt(r.pipelineTransactions)} (at most 500 mutations each), bare ${fmt(r.bareTransactions)} ` +
        '(500 rows each); same messages table and indexes (checked), same pragmas',
    );
    console.log(
      `- **ratio pipeline / bare: ${r.ratio.toFixed(2)}** (wall time); **${r.cpuRatio.toFixed(2)} per CPU second** ` +
        '(aim of issue 15: ≥ 0.9)\n',
    );
  }
  if (sections.has('offload')) {
    console.log('## Read offload to a piscina pool (one page read + JSON, 10,000-message thread)');
    console.log('| limit | inline on main thread, ms | through piscina, round trip ms | main-thread time per pooled read, ms |');
    console.log('|---|---|---|---|');
    for (const r of await benchReadOffload()) {
      console.log(`| ${r.limit} | ${r.inlineMs.toFixed(3)} | ${r.pooledMs.toFixed(3)} | ${r.pooledMainThreadMs.toFixed(3)} |`);
    }
    console.log('');
    const m = benchMappingOffload();
    console.log('## Mapping a history chunk: in the actor vs shipping it to a pool thread');
    console.log(
      `- chunk of ${fmt(m.messages)} messages: mapping ${fmt(m.mapMs)} ms; ` +
        `structured clone of the chunk ${fmt(m.cloneInMs)} ms, of the mutations back ${fmt(m.cloneOutMs)} ms`,
    );
    console.log(
      `- **ratio (clone in + out) / mapping: ${((m.cloneInMs + m.cloneOutMs) / m.mapMs).toFixed(1)}**: ` +
        'a pool would cost the actor more than it saves\n',
    );
  }
  if (sections.has('api')) {
    const r = await benchApi({ connections: 64, durationSec: 10, rate: 1000 });
    console.log(
      '## HTTP API, %d connections, %d s each, simulated phone streaming 1,000 msg/s, load generator on the same 2 cores',
      r.connections,
      r.durationSec,
    );
    console.log(
      '| route | server | offered req/s | req/s | p50 ms | p99 ms | server CPU ms / request | errors | non-2xx | live msg/s stored |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|---|');
    for (const x of r.runs) {
      const row = [x.path, x.label, x.rate ?? 'saturation', fmt(x.requestsPerSec), x.p50Ms, x.p99Ms, x.cpuMsPerRequest.toFixed(2)];
      console.log(`| ${[...row, x.errors, x.non2xx, fmt(x.liveMessagesPerSec)].join(' | ')} |`);
    }
    if (r.beforeRatio !== null && r.beforeCpuRatio !== null) {
      console.log(
        `\n- **ratio this build / base commit on GET …/messages: ${r.beforeRatio.toFixed(2)} in req/s**, ` +
          `${r.beforeCpuRatio.toFixed(2)} in server CPU per request (aim ≥ 2)`,
      );
    }
    if (r.distinctBeforeRatio !== null) {
      console.log(
        `- ratio this build / base commit with every request another page (the miss path): ${r.distinctBeforeRatio.toFixed(2)} in req/s`,
      );
    }
    console.log(
      `- **p99 at 500 req/s offered: ${r.p99At500.mine} ms** (aim < 20 ms)` +
        (r.p99At500.before === null ? '' : `; base commit ${r.p99At500.before} ms`) +
        `; GET /ready at the same offered load (the machine's floor then): ${r.p99At500.ready} ms`,
    );
    console.log(
      `- practical limit (bare prepared SELECT of the page + JSON.stringify, one core): ${fmt(r.limitPerCore)} pages/s; ` +
        `**ratio GET …/messages / limit per core: ${r.limitRatio.toFixed(2)}** in req/s, ` +
        `${r.cpuLimitRatio.toFixed(2)} in CPU per request (limit's / server's)`,
    );
    console.log(`- ratio uWS / node:http on GET …/messages: ${r.ratio.toFixed(2)}`);
    console.log(`- ratio uWS / node:http on GET /ready (HTTP layer alone): ${r.readyRatio.toFixed(2)}`);
    console.log(`- ratio read pool / inline reads under uWS on GET …/messages: ${r.poolRatio.toFixed(2)}\n`);
  }
  if (sections.has('feed')) {
    console.log(`(load average before the feed section: ${os.loadavg()[0]!.toFixed(1)})`);
    const r = await benchFeed({ rate: 1000, clients: [1, 100], warmupMs: 3000, measureMs: 10_000, webhookEvents: 5000 });
    console.log('## Live events: websocket latency, the simulated phone streaming 1,000 msg/s, clients in another process, same 2 cores');
    console.log('| clients | frames/s per client | p50 ms | p90 ms | p99 ms | max ms | closed early | live msg/s stored |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const x of r.latency) {
      console.log(
        `| ${[x.clients, fmt(x.framesPerClientPerSec), x.p50, x.p90, x.p99, x.max, x.closedEarly, fmt(x.storedPerSec)].join(' | ')} |`,
      );
    }
    const [one, many] = [r.latency[0]!, r.latency.at(-1)!];
    console.log(
      `\n- **p99 with ${many.clients} clients: ${many.p99} ms** (aim < 50 ms); ` +
        `ratio p99 ${many.clients} clients / 1 client: ${(many.p99 / Math.max(1, one.p99)).toFixed(2)}`,
    );
    console.log(`## Webhooks: ${fmt(r.webhooks.events)} events to a local receiver`);
    console.log(`- bare loop of the same signed POSTs, one at a time: ${fmt(r.webhooks.bare)} req/s`);
    console.log(`- dispatcher, one endpoint: ${fmt(r.webhooks.oneEndpoint)} deliveries/s`);
    console.log(`- dispatcher, four endpoints at once: ${fmt(r.webhooks.fourEndpoints)} deliveries/s`);
    console.log(`- **ratio dispatcher (one endpoint) / bare POST loop: ${r.webhooks.ratio.toFixed(2)}**\n`);
  }
  if (sections.has('footprint')) {
    const steps = (process.env.BENCH_FOOTPRINT_STEPS ?? '10,50,100').split(',').map(Number);
    // Issue 15 asks for memory flat over 10 minutes: BENCH_FOOTPRINT_DRIFT_S=600 (60 by default, to keep a run short).
    const driftSec = Number(process.env.BENCH_FOOTPRINT_DRIFT_S ?? 60);
    // BENCH_FOOTPRINT_RATE: live messages per second per account (1 by default), e.g. 10 accounts × 20
    // msg/s for 300 s sends what 100 × 1 msg/s sends in 600 s, in half the time and a tenth of the memory.
    const rate = process.env.BENCH_FOOTPRINT_RATE;
    const r = await benchFootprint({ steps, settleSec: 10, windowSec: 20, driftSec, env: rate ? { WA_SIM_RATE: rate } : {} });
    console.log(`## Footprint: simulated accounts (5 chats × 20 messages of history, ${rate ?? 1} live msg/s each), SQLite, one process\n`);
    console.log(`- RSS with no account: ${fmt(r.baselineMiB)} MiB; MALLOC_ARENA_MAX=${r.mallocArenaMax || '(unset)'}`);
    console.log(
      "- event-loop delay: the main thread over 20 s of streaming without a scrape (Node's monitorEventLoopDelay, " +
        '10 ms resolution: an idle loop reads 10 ms); CPU over the same window in % of one core, by thread\n',
    );
    console.log(
      '| accounts | connected | RSS MiB | **MiB per account** | main-thread ELD p99 ms | ELD max ms | ' +
        'CPU main % | CPU actors % | CPU other threads % | CPU ms per message | main thread waiting for a core, ms/s | ' +
        '/metrics p50 ms | /metrics max ms | load (1 min) |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const x of r.steps) {
      const row = [x.accounts, x.connected, fmt(x.rssMiB), `**${x.perAccountMiB.toFixed(1)}**`, x.eldP99Ms, x.eldMaxMs];
      const cpu = [x.cpu.main, x.cpu.actors, x.cpu.other, x.cpu.msPerMessage.toFixed(2), x.cpu.mainWaitMsPerSec];
      console.log(`| ${[...row, ...cpu, x.scrapeP50Ms.toFixed(1), x.scrapeMaxMs.toFixed(1), x.load.toFixed(1)].join(' | ')} |`);
    }
    const u = r.startup;
    console.log(
      `\n- restart with ${u.accounts} stored accounts: ${u.connected} connected after ${(u.allConnectedMs / 1000).toFixed(1)} s; ` +
        `main-thread event-loop delay meanwhile p99 ${u.eldP99Ms} ms, max ${u.eldMaxMs} ms (load ${u.load.toFixed(1)})`,
    );
    const d = r.drift;
    console.log(
      `- growth over ${d.seconds} s more of streaming (${fmt(d.messages)} messages): RSS ${fmt(d.startMiB)} → ${fmt(d.endMiB)} MiB ` +
        `(${fmt(d.bytesPerMessage)} bytes per message; over the second half only ${fmt(d.secondHalfBytesPerMessage)}); ` +
        `RSS through the window: ${d.samples.map((p) => `${p.atSec} s ${fmt(p.rssMiB)}`).join(', ')} MiB\n`,
    );
  }
  if (sections.has('firestore')) {
    const r = await benchFirestore({
      chats: 50,
      messagesPerChat: 100,
      latency: { rttMs: 10, chats: 5, messagesPerChat: 100 },
    });
    const header = '| variant | s | msg/s | documents written | round trips |\n|---|---|---|---|---|';
    const row = (x: FirestoreVariantResult): string =>
      `| ${x.label} | ${x.seconds.toFixed(2)} | ${fmt(x.rate)} | ${fmt(x.writes)} | ${fmt(x.roundTrips)} |`;
    const table = (c: ComparisonResult, title: string): void => {
      console.log(`### ${title}`);
      console.log(header);
      for (const x of [c.baseline, c.unpaced, ...(c.paced ? [c.paced] : []), ...(c.withoutLog ? [c.withoutLog] : [])]) console.log(row(x));
      if (c.pacedRatio !== undefined) console.log(`\n- **ratio pipeline as shipped / one-by-one: ${c.pacedRatio.toFixed(2)}**`);
      if (c.logRatio !== undefined) console.log(`- ratio unpaced pipeline, change log on / off: ${c.logRatio.toFixed(2)}`);
      console.log(
        `${c.pacedRatio === undefined ? '\n' : ''}- ratio pipeline unpaced (raw batched commits) / one-by-one: ` +
          c.unpacedRatio.toFixed(2),
      );
    };
    console.log("## History sync into Firestore: our pipeline vs one awaited set per message (Google's emulator in its own process)");
    table(r.loopback, `${fmt(r.loopback.messages)} messages, ${r.loopback.emulator}, loopback (no network latency)`);
    table(
      r.latency,
      `${fmt(r.latency.messages)} messages through a proxy adding ${r.latency.rttMs} ms of round-trip latency ` +
        `(a server near its Firestore), ${r.latency.emulator}`,
    );
    console.log(
      '- "as shipped" = the store\'s token bucket at its start rate of 500 writes/s ' +
        "(Google's 500/50/5 ramp; ×1.5 after every 5 min of sustained load) plus up to 25 ms of jitter between commits; " +
        '"unpaced" = the same code with the bucket\'s rate set to infinity and no jitter: what batching alone does.\n',
    );
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
