// Load generator for bench/loadtest.py: CLIENTS stock y-websocket clients spread over ROOMS rooms
// of a running deployment, each editing its own node RATE times a second for DURATION seconds
// (after WARMUP seconds that are not counted). Every client observes its room's map and records
// the latency of every edit by someone else (sender's timestamp; same machine, same clock).
//
// Errors counted: clients that never sync, disconnects, and edits that never reach a member of
// their room. Output: one JSON object on stdout. Everything is bounded: --deadline seconds end
// the process with exit code 3 whatever happens.
import { performance } from "node:perf_hooks";
import WebSocket from "ws";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";

const args = {
  url: "ws://127.0.0.1:8000/sync",
  project: "loadtest",
  clients: 50,
  rooms: 10,
  rate: 2,
  warmup: 3,
  duration: 30,
  drain: 5,
  token: "",
  deadline: 300,
};
for (let i = 2; i < process.argv.length; i += 2) {
  const name = process.argv[i].replace(/^--/, "");
  if (!(name in args)) throw new Error(`unknown option ${process.argv[i]}`);
  args[name] = typeof args[name] === "number" ? Number(process.argv[i + 1]) : process.argv[i + 1];
}
const emit = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
setTimeout(() => {
  emit({ event: "error", error: `deadline of ${args.deadline} s reached` });
  process.exit(3);
}, args.deadline * 1000).unref();
process.setMaxListeners(0); // y-websocket adds an exit listener per provider in Node

const run = `${Date.now().toString(36)}`;
const latencies = [];
let measuring = false;
let sent = 0;
let received = 0;
let disconnects = 0;
const closeCodes = {};

function makeClient(index) {
  const room = index % args.rooms;
  const doc = new Y.Doc();
  const nodes = doc.getMap("nodes");
  const id = `c${index}`;
  const provider = new WebsocketProvider(args.url, `projects/${args.project}/flows/${run}-${room}`, doc, {
    WebSocketPolyfill: WebSocket,
    params: { token: args.token || `loadtest-${index}` },
    connect: false,
    disableBc: true,
  });
  provider.awareness.setLocalState({ user: { name: id } });
  const client = { id, room, doc, nodes, provider, seq: 0 };
  client.synced = new Promise((resolve) => provider.on("sync", (ok) => ok && resolve()));
  provider.on("status", ({ status }) => {
    if (status === "disconnected") disconnects += 1;
  });
  provider.on("connection-close", (event) => {
    const code = event?.code ?? 0;
    closeCodes[code] = (closeCodes[code] || 0) + 1;
  });
  nodes.observe((event) => {
    const now = performance.timeOrigin + performance.now();
    for (const key of event.keysChanged) {
      if (key.startsWith(`${id}-`)) continue;
      const value = nodes.get(key);
      if (value?.measured) {
        received += 1;
        latencies.push(now - value.t);
      }
    }
  });
  provider.connect();
  return client;
}

async function main() {
  const started = performance.now();
  const clients = Array.from({ length: args.clients }, (_, i) => makeClient(i));
  const results = await Promise.allSettled(
    clients.map((c) => Promise.race([c.synced, sleep(30000).then(() => Promise.reject(new Error("sync")))])),
  );
  const failedToSync = results.filter((r) => r.status === "rejected").length;
  const connectSeconds = (performance.now() - started) / 1000;
  const members = new Array(args.rooms).fill(0);
  for (const c of clients) members[c.room] += 1;
  let expected = 0;
  const interval = 1000 / args.rate;
  const end = Date.now() + (args.warmup + args.duration) * 1000;
  const measureFrom = Date.now() + args.warmup * 1000;
  // Each client edits its own nodes on its own timer, spread over the interval so that edits do not bunch.
  await Promise.all(
    clients.map(async (c, i) => {
      await sleep((interval * i) / clients.length);
      while (Date.now() < end) {
        const measured = Date.now() >= measureFrom;
        if (measured && !measuring) measuring = true;
        c.seq += 1;
        // A key per edit in flight: a server that merges queued edits still shows each one.
        const key = `${c.id}-${c.seq % 64}`;
        c.nodes.set(key, { t: performance.timeOrigin + performance.now(), seq: c.seq, measured });
        if (measured) {
          sent += 1;
          expected += members[c.room] - 1;
        }
        await sleep(interval);
      }
    }),
  );
  const drainUntil = Date.now() + args.drain * 1000;
  while (received < expected && Date.now() < drainUntil) await sleep(100);
  latencies.sort((a, b) => a - b);
  const pct = (p) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] : null);
  emit({
    event: "result",
    clients: args.clients,
    rooms: args.rooms,
    rate_per_client: args.rate,
    duration_s: args.duration,
    connect_s: connectSeconds,
    failed_to_sync: failedToSync,
    disconnects,
    close_codes: closeCodes,
    updates_sent: sent,
    deliveries_expected: expected,
    deliveries_received: received,
    updates_per_s: sent / args.duration,
    deliveries_per_s: received / args.duration,
    latency_ms: { p50: pct(50), p95: pct(95), p99: pct(99), max: latencies.at(-1) ?? null },
  });
  for (const c of clients) c.provider.destroy();
  process.exit(0);
}

main().catch((error) => {
  emit({ event: "error", error: String(error?.stack || error) });
  process.exit(2);
});
