// Turns the raw measurements of one bench/run into RESULTS.md and results.json.
//   node report.mjs RAW_JSONL NOTES_TXT RESULTS_DIR   (run details come from BENCH_* environment variables)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [rawFile, notesFile, resultsDir] = process.argv.slice(2);
const records = fs.readFileSync(rawFile, 'utf8').split('\n').filter(Boolean).map(line => JSON.parse(line));
const notes = fs.readFileSync(notesFile, 'utf8').split('\n').filter(Boolean);
const env = process.env;
const streams = Number(env.BENCH_S5_STREAMS);
const requested = new Set((env.BENCH_ONLY ?? 'S1,S2,S3,S4,S5,S6,S7,S8').split(','));
// S8's hedging deadline (Junis:Llm:FirstTokenMs of HEDGE), which its figure is taken beyond; bench/run passes it.
const firstTokenMs = Number(env.BENCH_S8_FIRST_TOKEN_MS || 100);
// With --compare, BASE is the server built at another revision, measured beside SERVER in every scenario but S6.
const compare = env.BENCH_COMPARE
  ? { revision: env.BENCH_COMPARE, commit: env.BENCH_BASE_COMMIT, base: env.BENCH_BASE_TITLE, server: env.BENCH_SERVER_TITLE }
  : null;
// --engine: SERVER runs on SQLite, SERVER_PG (the same build) on PostgreSQL, measured in S2, S4, S5 and S6 only.
const engine = env.BENCH_ENGINE || 'sqlite';
const onSqlite = engine !== 'postgresql';
const onPostgres = engine !== 'sqlite';
const bothEngines = onSqlite && onPostgres;
const sqliteBuilds = [...(onSqlite ? ['SERVER'] : []), ...(compare ? ['BASE'] : [])];
const builds = [...sqliteBuilds, ...(onPostgres ? ['SERVER_PG'] : [])];
const measured = {
  SERVER: records.some(r => r.target === 'SERVER' || r.target === 'SMALL'),
  BASE: records.some(r => r.target === 'BASE'),
  SERVER_PG: records.some(r => r.target === 'SERVER_PG' || r.target === 'PG_SMALL'),
};
// Bars are the server's, on either engine.
const barred = target => target === 'SERVER' || target === 'SERVER_PG';

const median = values => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

// What went wrong in one record, or null when its figures can be trusted.
function problem(record) {
  const d = record.data;
  if (!d) return 'the measuring tool printed no result';
  if ('status_errors' in d) {
    if (d.requests === 0) return 'no request completed';
    if (d.status_errors > 0) return `${d.status_errors} of ${d.requests} answers were not 2xx`;
    if (d.errors > 0) return `${d.errors} socket errors or timeouts`;
  }
  if ('ok' in d && d.failed > 0) return `${d.failed} of ${d.count} requests failed (${d.first_failure})`;
  return null;
}

for (const r of records) {
  const p = problem(r);
  if (p && r.scenario !== 'S5') notes.push(`${r.scenario} ${r.target} repetition ${r.rep + 1}: ${p}`);
}

// Per repetition, the records of one scenario keyed by target.
function repetitions(scenario) {
  const reps = new Map();
  for (const r of records.filter(r => r.scenario === scenario)) {
    if (!reps.has(r.rep)) reps.set(r.rep, {});
    reps.get(r.rep)[r.target] = r;
  }
  return [...reps.values()];
}

const rows = [];

// row(...): one table line; `value(rep)` gives the figure for one repetition (or undefined when missing).
function row(scenario, target, figure, unit, value, { bar = null, pass = null, digits = 2 } = {}) {
  if (!requested.has(scenario)) return;
  const base = { scenario, target, figure, unit, bar };
  if (target in measured && !measured[target]) {
    rows.push({ ...base, result: 'not measured' });
    return;
  }
  const reps = repetitions(scenario);
  const broken = reps.some(rep => Object.values(rep).some(r => problem(r) && r.scenario !== 'S5'));
  const values = reps.map(value).filter(v => v !== undefined && v !== null && Number.isFinite(v));
  if (values.length === 0) {
    rows.push({ ...base, result: 'not measured' });
    return;
  }
  const result = broken ? 'errors (see notes)' : pass === null ? null : pass(median(values)) ? 'pass' : 'falls short';
  rows.push({ ...base, values, median: median(values), min: Math.min(...values), max: Math.max(...values), digits, result });
}

const ms = us => us / 1000;
const get = (rep, target, field) => rep[target]?.data?.[field];
const added = (target, field, pick = v => v) => rep => {
  const a = get(rep, target, field), b = get(rep, 'DIRECT', field);
  return a === undefined || b === undefined ? undefined : ms(pick(a) - pick(b));
};
const rate = d => (d ? (d.requests * 1e6) / d.duration_us : undefined);
const cpuPer = (rep, target) => (rep[target] ? rep[target].extra.cpu_us / rep[target].data.requests : undefined);
// SERVER_PG's database runs apart: its cluster's CPU over the same run, per request, and the two together.
const dbCpuPer = (rep, target) => (rep[target] ? rep[target].extra.db_cpu_us / rep[target].data.requests : undefined);
const totalCpuPer = (rep, target) => cpuPer(rep, target) + (target === 'SERVER_PG' ? dbCpuPer(rep, target) : 0);

// With both engines, a SERVER_PG ÷ SERVER line for a figure (PostgreSQL ÷ SQLite), taken within each repetition.
function versusSqlite(scenario, figure, value) {
  if (bothEngines) row(scenario, 'SERVER_PG', `${figure} ÷ SERVER's`, '×', rep => value(rep, 'SERVER_PG') / value(rep, 'SERVER'), { digits: 3 });
}

// With --compare, a SERVER ÷ BASE line for a figure, taken within each repetition; `value(rep, target)` gives it.
function versusBase(scenario, figure, value) {
  if (compare) row(scenario, 'SERVER', `${figure} ÷ BASE's`, '×', rep => value(rep, 'SERVER') / value(rep, 'BASE'), { digits: 3 });
}

// S1
row('S1', 'DIRECT', 'latency p50', 'ms', rep => ms(get(rep, 'DIRECT', 'p50_us')), { digits: 3 });
row('S1', 'DIRECT', 'latency p99', 'ms', rep => ms(get(rep, 'DIRECT', 'p99_us')), { digits: 3 });
for (const target of ['YARP', ...sqliteBuilds]) {
  const bar = target === 'SERVER' ? { bar: '≤ 0.3 ms', pass: v => v <= 0.3 } : {};
  row('S1', target, 'added latency p50', 'ms', added(target, 'p50_us'), { ...bar, digits: 3 });
  row('S1', target, 'added latency p99', 'ms', added(target, 'p99_us'), { digits: 3 });
}
versusBase('S1', 'added latency p50', (rep, target) => added(target, 'p50_us')(rep));

// S2 and S4
for (const [scenario, unit, cpuBar] of [['S2', 'requests/s', 150], ['S4', 'streams/s', 250]]) {
  for (const target of ['DIRECT', 'YARP', ...builds])
    row(scenario, target, unit, '', rep => rate(rep[target]?.data), { digits: 0 });
  for (const target of builds) {
    const bar = barred(target) ? { bar: '≥ 0.6', pass: v => v >= 0.6 } : {};
    row(scenario, target, `${unit} ÷ YARP's`, '×', rep => rate(rep[target]?.data) / rate(rep.YARP?.data), bar);
  }
  versusBase(scenario, unit, (rep, target) => rate(rep[target]?.data));
  versusSqlite(scenario, unit, (rep, target) => rate(rep[target]?.data));
  const per = scenario === 'S2' ? 'request' : 'stream';
  const cpu = { bar: `≤ ${cpuBar} µs`, pass: v => v <= cpuBar };
  for (const target of ['DIRECT', 'YARP', ...builds]) {
    // On SQLite the database works inside the target process; on PostgreSQL the bar is on the two together.
    const bar = target === 'SERVER' ? cpu : {};
    row(scenario, target, `CPU per ${per} (target process)`, 'µs', rep => cpuPer(rep, target), { ...bar, digits: 0 });
  }
  if (onPostgres) {
    row(scenario, 'SERVER_PG', `CPU per ${per} (database)`, 'µs', rep => dbCpuPer(rep, 'SERVER_PG'), { digits: 0 });
    row(scenario, 'SERVER_PG', `CPU per ${per} (target + database)`, 'µs', rep => totalCpuPer(rep, 'SERVER_PG'), { ...cpu, digits: 0 });
  }
  versusBase(scenario, `CPU per ${per}`, cpuPer);
  versusSqlite(scenario, `CPU per ${per} (target process)`, cpuPer);
  versusSqlite(scenario, `CPU per ${per} (target + database)`, totalCpuPer);
}

// S3
row('S3', 'DIRECT', 'time to first event p50', 'ms', rep => ms(get(rep, 'DIRECT', 'first_event_us').p50), { digits: 3 });
row('S3', 'DIRECT', 'last byte p50', 'ms', rep => ms(get(rep, 'DIRECT', 'latency_us').p50), { digits: 1 });
for (const target of ['YARP', ...sqliteBuilds]) {
  const server = target === 'SERVER';
  row('S3', target, 'added time to first event p50', 'ms', added(target, 'first_event_us', v => v.p50),
    { digits: 3, ...(server ? { bar: '≤ 1.5 ms', pass: v => v <= 1.5 } : {}) });
  row('S3', target, 'added last byte p50', 'ms', added(target, 'latency_us', v => v.p50),
    { digits: 2, ...(server ? { bar: '≤ 5 ms (≈ DIRECT)', pass: v => v <= 5 } : {}) });
  row('S3', target, 'content events bunched per stream', '', rep => get(rep, target, 'bunched_events'),
    { digits: 0, ...(server ? { bar: '0 (none held back)', pass: v => v === 0 } : {}) });
}
versusBase('S3', 'added time to first event p50', (rep, target) => added(target, 'first_event_us', v => v.p50)(rep));

// S5
const rssPerStream = (rep, target) =>
  rep[target] ? (rep[target].extra.peak_rss_kib - rep[target].extra.idle_rss_kib) / streams : undefined;
for (const target of ['DIRECT', 'YARP', ...builds]) {
  const server = barred(target);
  row('S5', target, 'RSS per open stream (peak − idle)', 'KiB', rep => rssPerStream(rep, target),
    { digits: 1, ...(server ? { bar: '≤ 100 KiB', pass: v => v <= 100 } : {}) });
  row('S5', target, `streams completed of ${streams}`, '', rep => rep[target]?.data?.completed,
    { digits: 0, ...(server ? { bar: `${streams}`, pass: v => v === streams } : {}) });
}
versusBase('S5', 'RSS per open stream', rssPerStream);
for (const r of records.filter(r => r.scenario === 'S5' && problem(r)))
  notes.push(`S5 ${r.target} repetition ${r.rep + 1}: ${problem(r)}`);
for (const r of records.filter(r => r.scenario === 'S5' && r.data?.failed))
  notes.push(`S5 ${r.target} repetition ${r.rep + 1}: ${r.data.failed} streams failed, first: ${r.data.first_failure}`);

// S6
const small = Number(env.BENCH_S6_SMALL).toLocaleString('en-US');
const big = Number(env.BENCH_S6_BIG).toLocaleString('en-US');
// Its records are named by database: SMALL and BIG on SQLite, PG_SMALL and PG_BIG on PostgreSQL.
const p50 = (rep, which) => rep[which]?.data?.latency_us.p50;
for (const [target, prefix] of [...(onSqlite ? [['SERVER', '']] : []), ...(onPostgres ? [['SERVER_PG', 'PG_']] : [])]) {
  row('S6', target, `turn latency p50, ${small} sessions`, 'ms', rep => ms(p50(rep, `${prefix}SMALL`)), { digits: 3 });
  row('S6', target, `turn latency p50, ${big} sessions`, 'ms', rep => ms(p50(rep, `${prefix}BIG`)), { digits: 3 });
  row('S6', target, `latency ratio ${big} ÷ ${small}`, '×',
    rep => p50(rep, `${prefix}BIG`) / p50(rep, `${prefix}SMALL`), { bar: '≤ 1.25', pass: v => v <= 1.25 });
}
versusSqlite('S6', `turn latency p50, ${small} sessions`, (rep, target) => p50(rep, target === 'SERVER' ? 'SMALL' : 'PG_SMALL'));
versusSqlite('S6', `turn latency p50, ${big} sessions`, (rep, target) => p50(rep, target === 'SERVER' ? 'BIG' : 'PG_BIG'));

// S7
for (const target of ['DIRECT', 'YARP', ...sqliteBuilds]) {
  const server = target === 'SERVER';
  row('S7', target, 'process start to first answer', 's', rep => get(rep, target, 'seconds'),
    { digits: 2, ...(server ? { bar: '≤ 1.5 s', pass: v => v <= 1.5 } : {}) });
  row('S7', target, 'idle RSS', 'MiB', rep => (rep[target] ? get(rep, target, 'idle_rss_kib') / 1024 : undefined),
    { digits: 1, ...(server ? { bar: '≤ 120 MiB', pass: v => v <= 120 } : {}) });
}
versusBase('S7', 'process start to first answer', (rep, target) => get(rep, target, 'seconds'));
versusBase('S7', 'idle RSS', (rep, target) => get(rep, target, 'idle_rss_kib'));

// S8: time to first content, each target's, and the server's behind a broken primary as a difference from DIRECT's
// within the same repetition (HEDGE's beyond its deadline too); the broken primary's calls show which path was taken.
const firstContent = (rep, target, p) => get(rep, target, 'first_content_us')?.[p];
const overDirect = (target, deadline = 0) => rep => {
  const a = firstContent(rep, target, 'p50'), b = firstContent(rep, 'DIRECT', 'p50');
  return a == null || b == null ? undefined : ms(a - b) - deadline;
};
const primaryCallsPer = target => rep =>
  rep[target]?.extra && rep[target].data?.count ? rep[target].extra.primary_calls / rep[target].data.count : undefined;
for (const target of ['DIRECT', 'SERVER', 'FALLBACK', 'BREAKER', 'HEDGE']) {
  row('S8', target, 'time to first content p50', 'ms', rep => ms(firstContent(rep, target, 'p50')), { digits: 2 });
  row('S8', target, 'time to first content p99', 'ms', rep => ms(firstContent(rep, target, 'p99')), { digits: 2 });
  if (target === 'DIRECT') continue;
  if (target === 'HEDGE')
    row('S8', target, `first content p50 − DIRECT's − FirstTokenMs (${firstTokenMs} ms)`, 'ms', overDirect(target, firstTokenMs),
      { digits: 2, bar: '≤ 20 ms', pass: v => v <= 20 });
  else
    row('S8', target, "first content p50 − DIRECT's", 'ms', overDirect(target), { digits: 2 });
  if (target !== 'SERVER')
    row('S8', target, 'calls to the broken primary per request', '', primaryCallsPer(target), { digits: 2 });
}

const machine = {
  cpu: os.cpus()[0]?.model ?? 'unknown',
  cores: os.cpus().length,
  ram_gib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
  os: (fs.readFileSync('/etc/os-release', 'utf8').match(/^PRETTY_NAME="?([^"\n]*)"?/m) ?? [])[1] ?? os.type(),
  kernel: os.release(),
};
const run = {
  date: new Date().toISOString(),
  command: env.BENCH_COMMAND,
  quick: env.BENCH_QUICK === 'true',
  dotnet_sdk: env.BENCH_SDK,
  runtime_settings: env.BENCH_RUNTIME,
  repetitions: Number(env.BENCH_REPS),
  wrk_seconds: Number(env.BENCH_DURATION),
  steady_seconds: Number(env.BENCH_STEADY),
  warmup_seconds: Number(env.BENCH_WARMUP),
  engine,
  ...(requested.has('S8') ? { s8_first_token_ms: firstTokenMs } : {}),
  ...(onPostgres ? { postgresql: env.BENCH_PG_VERSION } : {}),
  ...(compare ? { compare } : {}),
};

const number = (v, digits) =>
  v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const cell = (r, v) => `${number(v, r.digits)}${r.unit && r.unit !== '×' ? ' ' + r.unit : r.unit}`;

const order = ['S1', 'S2', 'S3', 'S4', 'S5', 'S6', 'S7', 'S8'];
rows.sort((a, b) => order.indexOf(a.scenario) - order.indexOf(b.scenario));
const table = rows.map(r => {
  const figure = r.median === undefined ? '—' : cell(r, r.median);
  const spread = r.median === undefined || r.values.length < 2 ? '' : `${cell(r, r.min)} – ${cell(r, r.max)}`;
  return `| ${r.scenario} | ${r.target} | ${r.figure} | ${figure} | ${spread} | ${r.bar ?? ''} | ${r.result ?? ''} |`;
});

// The header's account of the engines the server ran on.
function engineLines() {
  const sqlite = `- Database: SQLite for SERVER${compare ? ' and BASE' : ''}, a fresh file per process.\n`;
  if (!onPostgres) return sqlite;
  return `${onSqlite ? sqlite : ''}\
- SERVER_PG is Junis.Server on PostgreSQL ${run.postgresql}: a cluster of its own on this machine, with the durable
  settings (fsync, synchronous_commit and full_page_writes on), a fresh database per process. It is measured in
  S2, S4, S5 and S6, and carries SERVER's bars; its CPU per request counts the database server's processes too
  (the postmaster and all its children, exited ones included), apart and added to the target's.
${bothEngines ? `  Lines "÷ SERVER's" are SERVER_PG ÷ SERVER (PostgreSQL ÷ SQLite) within the same repetition, to 3 decimals.\n` : ''}`;
}

// The header's account of the two builds an A/B run compares.
function compareLines() {
  const code = title => title.replace(/^(\S+) /, '`$1` ');
  const base = env.BENCH_BASE_ENV
    ? `- BASE is this same build started with \`${env.BENCH_BASE_ENV}\` (\`--base-env\`)${env.BENCH_SERVER_ENV ? `, SERVER with \`${env.BENCH_SERVER_ENV}\` (\`--server-env\`)` : ''};
  otherwise both are started exactly alike (same runtime settings, each its own port and fresh database); BASE takes no part in S6.`
    : `- BASE is Junis.Server at another revision (\`--compare ${compare.revision}\`), published and started exactly like
  SERVER (same runtime settings, its own port, a fresh database of its own); BASE takes no part in S6.`;
  return `${base}
  Lines "÷ BASE's" are SERVER ÷ BASE within the same repetition, to 3 decimals.
  - BASE: ${code(compare.base)}
  - SERVER: ${code(compare.server)}
`;
}

const markdown = `# Benchmark results

${run.quick ? '**Quick smoke run: too short to be representative.**\n\n' : ''}\
Measured ${run.date.slice(0, 16).replace('T', ' ')} UTC with \`${run.command}\`.

- Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.ram_gib} GiB RAM, ${machine.os} (Linux ${machine.kernel})
- .NET SDK ${run.dotnet_sdk}; client, mock upstream and target share the machine
- DIRECT is the mock upstream itself, YARP a bare YARP forwarder to it, SERVER Junis.Server with the mock as its model;
  YARP and SERVER run with the Dockerfile's runtime settings, \`${run.runtime_settings}\`.
  Added = target − DIRECT within the same repetition; ratios = SERVER ÷ YARP.
${engineLines()}\
${compare ? compareLines() : ''}\
- Figures are medians of ${run.repetitions} repetitions (target order rotated each time), spread is min – max;
  wrk runs last ${run.wrk_seconds} s. Each long-lived target was first warmed with ${run.steady_seconds} s of 32-connection load
  per kind of request, and S2 and S4 each begin with ${run.warmup_seconds} s of their own load, unmeasured.
  Only ${onPostgres ? 'SERVER and SERVER_PG' : 'SERVER'} rows carry a bar${requested.has('S8') ? `, and in S8 HEDGE's (the server behind a silent primary)` : ''}; the others are there for comparison.

| Scenario | Target | Figure | Median | Spread | Bar | Result |
|---|---|---|---|---|---|---|
${table.join('\n')}
${notes.length ? `\n## Notes\n\n${notes.map(n => `- ${n}`).join('\n')}\n` : ''}
## Scenarios

- S1: non-streaming, one connection, requests back to back (wrk -c1).
- S2: non-streaming, 32 connections (wrk -c32); CPU is the target process's utime + stime over the run${onPostgres ? `,
  and for SERVER_PG the PostgreSQL cluster's over the same run (from /proc: the postmaster's and its children's
  utime + stime, and the postmaster's cutime + cstime, where the CPU of children that exited is added)` : ''}.
- S3: streaming, 20 chunks 20 ms apart, one request at a time (${'bench/scripts/sse-client.mjs'}); an event
  counts as bunched when it arrives less than 10 ms after the one before, which only happens when a chunk was held back.
- S4: streaming, 20 chunks without delay, 32 connections (wrk -c32).
- S5: ${streams.toLocaleString('en-US')} streams open at once, ${env.BENCH_S5_EVENTS} events ${env.BENCH_S5_PACE_MS} ms apart, each
  repetition on a fresh, briefly warmed process (a long-lived one keeps the heap earlier load grew);
  idle RSS is read just before the streams open, the peak sampled every 100 ms from /proc while they run.
- S6: sequential non-streaming turns, each continuing a different stored session named by
  \`elevenlabs_extra_body.conversation_id\` (its two stored messages plus a new one), in a database seeded with
  ${small} and with ${big} sessions${onPostgres ? ` (on PostgreSQL, in bulk from \`generate_series\`, then vacuumed and
  analyzed as autovacuum would, and checkpointed)` : ''}; every other repetition takes the databases in reverse order.
- S7: a fresh process (a fresh database for SERVER), from its start to the first 200 answer; RSS 1 s later.
- S8: streaming, 20 chunks 20 ms apart (the first at once), one request at a time, to three more servers whose
  primary model provider is broken and whose fallback, \`backup\`, is the mock: FALLBACK's primary answers every request
  at once with HTTP 500 and never trips its breaker (\`BreakAfterFailures=1000\`), so each request fails over; BREAKER's
  is the same with the default breaker, open after the first few failures, so the primary is skipped but for a trial
  call when it half-opens; HEDGE's begins its stream and then says nothing, and \`FirstTokenMs=${firstTokenMs}\` starts
  the backup beside it. Each on a fresh database, checked before measuring to answer from \`backup\` (its
  \`X-Model-Provider\` header, or for HEDGE, whose headers go out before the hedge is decided, its session's record),
  then warmed with sequential streams, and measured in the same repetitions as DIRECT and SERVER (the long-lived server,
  the mock its only provider). First content is the first event with words; differences are taken within a repetition,
  HEDGE's beyond its deadline; the broken primary's calls per request show the path taken (1 to fail over or hedge).
`;

// What bounds the bars not met, with the profiles behind it: written by hand, kept beside the driver.
const analysisFile = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'ANALYSIS.md');
const analysis = fs.existsSync(analysisFile) ? '\n' + fs.readFileSync(analysisFile, 'utf8') : '';

fs.writeFileSync(path.join(resultsDir, 'RESULTS.md'), markdown + analysis);
const json = { run, machine, notes, rows: rows.map(({ digits, ...r }) => r), raw: records };
fs.writeFileSync(path.join(resultsDir, 'results.json'), JSON.stringify(json, null, 2) + '\n');
