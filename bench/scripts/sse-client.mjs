// Measures what wrk cannot: time to the first SSE event, the pacing of events, and many streams held open at once.
//
//   node sse-client.mjs sequential --url U --count N [--body JSON] [--auth H] [--pace-ms D] [--ids START,STEP,MOD]
//     N requests one after another on one kept-alive connection. Prints one JSON line with latency
//     (last byte), first event and first content percentiles in microseconds, and for streams the median
//     number of content events that arrived bunched (under half the pace after the one before).
//     With --ids, every "{n}" in the body becomes ((START + i*STEP) mod MOD) + 1 for request i.
//   node sse-client.mjs concurrent --url U --streams C [--body JSON] [--auth H] [--events E] [--timeout-ms T]
//     C streams opened together (in batches, so the listen backlog never overflows) and held to the end; every "{n}"
//     in the body becomes the stream's number.
//     Prints one JSON line: how many completed (status 200, E content events, then [DONE]) and how many failed.
import http from 'node:http';

const [mode, ...rest] = process.argv.slice(2);
const options = {};
for (let i = 0; i < rest.length; i += 2) options[rest[i].replace(/^--/, '')] = rest[i + 1];

const url = new URL(options.url);
const body = options.body ?? '{"model":"x","messages":[{"role":"user","content":"Hello"}],"stream":true}';
const headers = { 'content-type': 'application/json' };
if (options.auth) headers.authorization = options.auth;

const now = () => Number(process.hrtime.bigint() / 1000n);

// One request; resolves with its timings and what the body held. Never rejects.
function exchange(agent, payload) {
  return new Promise(resolve => {
    const start = now();
    const result = { status: 0, firstEvent: null, firstContent: null, contentTimes: [], done: false, error: null, end: null };
    let pending = '';
    const request = http.request(url, { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(payload) } }, response => {
      result.status = response.statusCode;
      response.setEncoding('utf8');
      response.on('data', text => {
        const at = now() - start;
        pending += text;
        let cut;
        while ((cut = pending.indexOf('\n\n')) >= 0) {
          const event = pending.slice(0, cut);
          pending = pending.slice(cut + 2);
          if (!event.startsWith('data: ')) continue;
          result.firstEvent ??= at;
          const data = event.slice(6);
          if (data === '[DONE]') { result.done = true; continue; }
          if (hasContent(data)) {
            result.firstContent ??= at;
            result.contentTimes.push(at);
          }
        }
      });
      response.on('end', () => {
        result.end = now() - start;
        if (!response.headers['content-type']?.startsWith('text/event-stream'))
          result.done = response.statusCode === 200 && pending.includes('"choices"');
        resolve(result);
      });
      response.on('error', error => { result.error = error.message; resolve(result); });
    });
    request.on('error', error => { result.error = error.message; resolve(result); });
    request.end(payload);
  });
}

function hasContent(data) {
  try {
    return !!JSON.parse(data).choices?.[0]?.delta?.content;
  } catch {
    return false;
  }
}

function percentile(values, p) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const summary = values => ({ p50: percentile(values, 50), p99: percentile(values, 99), max: percentile(values, 100) });

async function sequential() {
  const count = Number(options.count ?? 20);
  const pace = Number(options['pace-ms'] ?? 0) * 1000;
  const [start, step, mod] = (options.ids ?? '0,1,1000000000').split(',').map(Number);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const results = [];
  for (let i = 0; i < count; i++) {
    const n = ((start + i * step) % mod) + 1;
    results.push(await exchange(agent, body.replaceAll('{n}', String(n))));
  }
  agent.destroy();
  const ok = results.filter(r => r.status === 200 && r.done && !r.error);
  const bunched = ok.map(r => r.contentTimes.slice(1).filter((t, k) => t - r.contentTimes[k] < pace / 2).length);
  print({
    count,
    ok: ok.length,
    failed: count - ok.length,
    first_failure: describe(results.find(r => !ok.includes(r))),
    latency_us: summary(ok.map(r => r.end)),
    first_event_us: summary(ok.filter(r => r.firstEvent !== null).map(r => r.firstEvent)),
    first_content_us: summary(ok.filter(r => r.firstContent !== null).map(r => r.firstContent)),
    content_events: percentile(ok.map(r => r.contentTimes.length), 50),
    bunched_events: pace > 0 ? percentile(bunched, 50) : null,
  });
}

async function concurrent() {
  const streams = Number(options.streams ?? 2000);
  const events = Number(options.events ?? 0);
  const timeout = Number(options['timeout-ms'] ?? 60000);
  const batch = 100;
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const started = now();
  const running = [];
  for (let i = 0; i < streams; i += batch) {
    for (let k = i; k < Math.min(streams, i + batch); k++) running.push(exchange(agent, body.replaceAll('{n}', String(k + 1))));
    await new Promise(resolve => setTimeout(resolve, 20));
  }
  const timer = setTimeout(() => {
    print({ streams, completed: null, failed: null, first_failure: `timed out after ${timeout} ms` });
    process.exit(1);
  }, timeout);
  const results = await Promise.all(running);
  clearTimeout(timer);
  const complete = r => r.status === 200 && r.done && !r.error && (events === 0 || r.contentTimes.length === events);
  print({
    streams,
    completed: results.filter(complete).length,
    failed: results.filter(r => !complete(r)).length,
    first_failure: describe(results.find(r => !complete(r))),
    duration_ms: Math.round((now() - started) / 1000),
  });
}

function describe(result) {
  if (!result) return null;
  return result.error ?? `status ${result.status}, ${result.contentTimes.length} content events, done=${result.done}`;
}

function print(object) {
  process.stdout.write('RESULT ' + JSON.stringify(object) + '\n');
}

if (mode === 'sequential') await sequential();
else if (mode === 'concurrent') await concurrent();
else {
  console.error('usage: node sse-client.mjs sequential|concurrent --url URL [options]');
  process.exit(2);
}
