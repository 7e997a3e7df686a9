// The soak's load generator, in a worker thread so the gateway's event loop measures the gateway alone.
// Plain JavaScript: worker threads do not inherit tsx's loader hooks.
// Sends `rate` GETs a second on keep-alive sockets, at most `maxInFlight` at once (beyond that it sheds),
// until told to stop; then answers with { requests, shed, statuses, latencies (ms, sorted) }.
import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

const { url, rate, maxInFlight } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: maxInFlight });
/** @type {Record<string, number>} */
const statuses = {};
/** @type {number[]} */
const latencies = [];
let inFlight = 0;
let requests = 0;
let shed = 0;

function fire() {
  if (inFlight >= maxInFlight) {
    shed++;
    return;
  }
  inFlight++;
  requests++;
  const started = performance.now();
  let settled = false;
  /** @param {string} status */
  const done = (status) => {
    if (settled) return;
    settled = true;
    inFlight--;
    statuses[status] = (statuses[status] ?? 0) + 1;
    latencies.push(performance.now() - started);
  };
  const req = http.get(url, { agent, timeout: 15_000 }, (res) => {
    res.resume();
    res.on('end', () => done(String(res.statusCode)));
    res.on('error', () => done('client-error'));
  });
  req.on('timeout', () => req.destroy(new Error('client timeout')));
  req.on('error', () => done('client-error'));
}

let credit = 0;
let last = performance.now();
const load = setInterval(() => {
  const now = performance.now();
  credit += ((now - last) / 1000) * rate;
  last = now;
  for (; credit >= 1; credit--) fire();
}, 10);

parentPort.once('message', async () => {
  clearInterval(load);
  const until = Date.now() + 10_000;
  while (inFlight > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
  agent.destroy();
  parentPort.postMessage({ requests, shed, statuses, latencies: latencies.sort((a, b) => a - b) });
});
