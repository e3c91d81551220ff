// Fan-out and idle-memory load generator for bench/fanout.py. Talks to 127.0.0.1 only.
//
// fanout mode: ROOMS rooms x CLIENTS stock clients per room. In each room client 0 is the writer;
// it sends small Y.Map updates (nodes.set("k" + seq % KEYS, {p: phase, t: sendTimestamp})) so
// that all writers together send RATE updates a second, for WARMUP s (not counted) then DURATION s
// (counted), for each rate of --rates in turn. Keys are reused (KEYS per room at most, like the
// nodes of a flow), so documents stay a realistic size; no two updates in flight share a key, so
// a server that merges queued updates into one frame still shows every one of them. Every other client observes the map and records the latency of every update
// it receives. After each rate it waits up to DRAIN s for stragglers, then prints one JSON line.
//
// memory mode: opens CONNECTIONS idle clients (awareness off) spread over ROOMS rooms, prints
// {"event":"holding"} once all are synced, and disconnects when a line arrives on stdin.
//
// Servers: --kind ours|pycrdt|hocuspocus. ours and pycrdt speak y-websocket and get the stock
// WebsocketProvider; hocuspocus speaks its own protocol and gets its own HocuspocusProvider, one
// websocket per provider, as a browser tab would have.
//
// Measurement rules shared by bench/fanout.py, durability.py and scaleout.py: a rate that fails
// only by a latency spike (all delivered, p50 < --retry-below-p50 ms) is measured again up to
// --retries times; per rate the machine's busy CPU and CPU/IO pressure (/proc/stat,
// /proc/pressure) are recorded beside the server's CPU. With --server-pids (several worker
// processes), CPU is summed over them and each client is matched to the process holding its
// socket, so cross-instance deliveries (reader and writer on different processes) are reported
// apart from same-instance ones.
//
// Output: one JSON object per line on stdout. Everything is bounded: a global deadline
// (--deadline s) ends the process with exit code 3 whatever happens.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { HocuspocusProvider } from "@hocuspocus/provider";
import WebSocket from "ws";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";

function parseArgs(argv) {
  const args = {
    mode: "fanout",
    kind: "ours",
    port: 0,
    rooms: 1,
    clients: 20,
    rates: [100, 200, 400, 800, 1600, 3200, 6400],
    warmup: 1,
    duration: 5,
    drain: 3,
    connections: 2000,
    serverPid: 0,
    serverPids: "", // comma-separated worker pids: CPU summed, clients labelled by process
    deadline: 600,
    stopAfterFailures: 2,
    // A rate that fails only by a latency spike (everything delivered, p50 under
    // retryBelowP50 ms) is measured again, up to `retries` more times: on a shared machine one
    // burst of someone else's work otherwise decides it. A saturated rate is not retried.
    retries: 1,
    retryBelowP50: 20,
    keys: 4096,
  };
  for (let i = 2; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, "").replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    const value = argv[i + 1];
    if (!(name in args)) throw new Error(`unknown option ${argv[i]}`);
    if (name === "rates") args.rates = value.split(",").map(Number);
    else if (typeof args[name] === "number") args[name] = Number(value);
    else args[name] = value;
  }
  return args;
}

const args = parseArgs(process.argv);
process.setMaxListeners(0); // y-websocket adds an exit listener per provider in Node
const HOST = "127.0.0.1";
const emit = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const deadline = setTimeout(() => {
  emit({ event: "error", error: `deadline of ${args.deadline} s reached` });
  process.exit(3);
}, args.deadline * 1000);
deadline.unref();

function roomName(prefix, i) {
  // Our server only serves /sync/projects/{p}/flows/{id}; the others take any path or name.
  return args.kind === "ours" ? `projects/bench/flows/${prefix}${i}` : `${prefix}${i}`;
}

// One client: a Y.Doc with a provider. `synced` resolves on the first sync with the server.
function makeClient(room, { awareness = true } = {}) {
  const doc = new Y.Doc();
  const client = { doc, provider: null, disconnects: 0, synced: null };
  let markSynced;
  client.synced = new Promise((resolve) => {
    markSynced = resolve;
  });
  if (args.kind === "hocuspocus") {
    client.provider = new HocuspocusProvider({
      url: `ws://${HOST}:${args.port}`,
      name: room,
      document: doc,
      WebSocketPolyfill: WebSocket,
      awareness: awareness ? undefined : null,
      onSynced: ({ state }) => state && markSynced(),
      onDisconnect: () => {
        client.disconnects += 1;
      },
    });
  } else {
    const base = args.kind === "ours" ? `ws://${HOST}:${args.port}/sync` : `ws://${HOST}:${args.port}`;
    const provider = new WebsocketProvider(base, room, doc, {
      WebSocketPolyfill: WebSocket,
      params: { token: "bench" },
      connect: false,
      disableBc: true,
    });
    if (!awareness) provider.awareness.setLocalState(null);
    provider.on("sync", (state) => state && markSynced());
    provider.on("status", ({ status }) => {
      if (status === "disconnected") client.disconnects += 1;
    });
    provider.connect();
    client.provider = provider;
  }
  return client;
}

function destroyClient(client) {
  try {
    client.provider.destroy();
  } catch {
    // already gone
  }
}

async function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// Open `count` clients with at most `parallel` handshakes in flight.
async function openMany(specs, parallel, options) {
  const clients = new Array(specs.length);
  let next = 0;
  async function worker() {
    while (next < specs.length) {
      const i = next++;
      const client = makeClient(specs[i], options);
      clients[i] = client;
      await withTimeout(client.synced, 30000, `sync of client ${i} (${specs[i]})`);
    }
  }
  await Promise.all(Array.from({ length: Math.min(parallel, specs.length) }, worker));
  return clients;
}

// The server processes: --server-pids (several workers) or --server-pid.
const serverPids = args.serverPids
  ? args.serverPids.split(",").map(Number).filter((pid) => pid > 0)
  : args.serverPid
    ? [args.serverPid]
    : [];

function cpuSecondsOfAll() {
  let total = 0;
  for (const pid of serverPids) {
    const seconds = cpuSecondsOf(pid);
    if (seconds === null) return null;
    total += seconds;
  }
  return serverPids.length ? total : null;
}

// Which server process holds each client's socket: the server side of a client's connection
// has the client's local port as its remote port; /proc/<pid>/fd gives each process's socket
// inodes and /proc/net/tcp{,6} maps inodes to ports. Returns clientPort -> index in serverPids.
function portOwners() {
  const owners = new Map(); // inode -> index
  serverPids.forEach((pid, index) => {
    let fds = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      return;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) owners.set(m[1], index);
      } catch {
        // closed meanwhile
      }
    }
  });
  const byPort = new Map();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let lines = [];
    try {
      lines = readFileSync(table, "utf8").split("\n").slice(1);
    } catch {
      continue;
    }
    for (const line of lines) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const local = Number.parseInt(f[1].split(":")[1], 16);
      const remote = Number.parseInt(f[2].split(":")[1], 16);
      if (local !== args.port) continue;
      const index = owners.get(f[9]);
      if (index !== undefined) byPort.set(remote, index);
    }
  }
  return byPort;
}

function localPortOf(client) {
  const ws = client.provider?.ws;
  return ws?._socket?.localPort ?? null;
}

// Busy CPU seconds of the whole machine, all cores (everything in /proc/stat but idle and
// iowait): with the server's and our own CPU it shows how much other processes took.
function machineBusySeconds() {
  try {
    const values = readFileSync("/proc/stat", "utf8").split("\n")[0].split(/\s+/).slice(1, 9).map(Number);
    return (values.reduce((a, b) => a + b, 0) - values[3] - values[4]) / 100;
  } catch {
    return null;
  }
}

// Pressure stall information: microseconds in which some task waited for a CPU (or for I/O).
function pressureMicros(resource) {
  try {
    const line = readFileSync(`/proc/pressure/${resource}`, "utf8").split("\n")[0];
    return Number(/total=(\d+)/.exec(line)[1]);
  } catch {
    return null;
  }
}

function cpuSecondsOf(pid) {
  if (!pid) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks
  } catch {
    return null;
  }
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

const round = (x, digits = 2) => (x === null ? null : Number(x.toFixed(digits)));

async function runFanout() {
  const specs = [];
  for (let r = 0; r < args.rooms; r += 1) specs.push(roomName("r", r));
  // Writers first, one room at a time sequentially synced, then the readers.
  const writers = await openMany(specs, 16);
  const readerSpecs = [];
  for (let r = 0; r < args.rooms; r += 1) {
    for (let c = 1; c < args.clients; c += 1) readerSpecs.push({ room: r, name: specs[r] });
  }
  const readerClients = await openMany(
    readerSpecs.map((s) => s.name),
    32,
  );
  const readers = readerClients.map((client, i) => ({ client, room: readerSpecs[i].room }));
  // With several server processes: which one each client landed on (-1: unknown).
  const owners = serverPids.length > 1 ? portOwners() : new Map();
  const processOf = (client) => owners.get(localPortOf(client)) ?? (serverPids.length > 1 ? -1 : 0);
  const writerProcess = writers.map(processOf);
  for (const reader of readers) {
    reader.process = processOf(reader.client);
    // Cross-instance: the update reached this reader through Redis, not its writer's process.
    reader.cross = reader.process !== writerProcess[reader.room] || reader.process === -1;
  }
  const perProcess = serverPids.map(
    (_, index) =>
      writerProcess.filter((p) => p === index).length +
      readers.filter((r) => r.process === index).length,
  );
  emit({
    event: "connected",
    clients: writers.length + readers.length,
    clients_per_process: perProcess,
    unknown_process: writerProcess.filter((p) => p === -1).length +
      readers.filter((r) => r.process === -1).length,
    cross_readers: readers.filter((r) => r.cross).length,
    rooms_spanning_processes: writers.filter((_, room) =>
      readers.some((r) => r.room === room && r.process !== writerProcess[room]),
    ).length,
  });

  // Values carry their phase: `m<phase>` is measured, `w<phase>` is warm-up.
  let measuredPhase = "-";
  let latencies = [];
  let crossLatencies = [];
  let sameLatencies = [];
  let delivered = 0;
  for (const { client, cross } of readers) {
    const map = client.doc.getMap("nodes");
    map.observe((event) => {
      const now = performance.now();
      for (const key of event.keysChanged) {
        const value = map.get(key);
        if (value === undefined || value.p !== measuredPhase) continue;
        const latency = now - value.t;
        latencies.push(latency);
        if (cross) crossLatencies.push(latency);
        else sameLatencies.push(latency);
        delivered += 1;
        // Worst latency per 100 ms of send time: shows whether the tail is steady or stalls.
        const bucket = Math.max(0, Math.floor((value.t - measureStart) / 100));
        if (!(timeline[bucket] >= latency)) timeline[bucket] = latency;
      }
    });
  }
  const writerMaps = writers.map((w) => w.doc.getMap("nodes"));
  const readersPerRoom = args.clients - 1;
  await sleep(500);

  // Send `rate` updates a second round-robin over the rooms for `seconds`, tagged `phase`.
  let seq = 0;
  let measureStart = 0;
  let timeline = [];
  async function send(rate, seconds, phase) {
    const start = performance.now();
    const total = Math.round(rate * seconds);
    let sent = 0;
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
      while (sent < due) {
        const room = seq % writerMaps.length;
        const key = `k${Math.floor(seq / writerMaps.length) % args.keys}`;
        writerMaps[room].set(key, { p: phase, t: performance.now() });
        sent += 1;
        seq += 1;
      }
      await sleep(1);
    }
    return { sent, seconds: (performance.now() - start) / 1000 };
  }

  const results = [];
  let failuresInARow = 0;
  let attemptNo = 0;
  for (let step = 0; step < args.rates.length; step += 1) {
    const rate = args.rates[step];
    if (failuresInARow >= args.stopAfterFailures) {
      emit({ event: "rate", rate, skipped: true });
      continue;
    }
    const earlier = [];
    let result;
    for (;;) {
      result = await measure(rate, attemptNo);
      attemptNo += 1;
      const spike = result.delivered === result.expected && result.p50_ms < args.retryBelowP50;
      if (result.ok || !spike || earlier.length >= args.retries) break;
      earlier.push({ p50_ms: result.p50_ms, p99_ms: result.p99_ms, max_ms: result.max_ms });
      await sleep(300);
    }
    result.attempts = earlier.length + 1;
    result.earlier_attempts = earlier;
    failuresInARow = result.ok ? 0 : failuresInARow + 1;
    results.push(result);
    emit(result);
    await sleep(300);
  }
  for (const w of writers) destroyClient(w);
  for (const { client } of readers) destroyClient(client);
  return results;

  // One measured period at `rate`, after its warm-up.
  async function measure(rate, phase) {
    const disconnectsBefore = readers.reduce((n, r) => n + r.client.disconnects, 0);
    if (args.warmup > 0) await send(rate, args.warmup, `w${phase}`);
    measuredPhase = `m${phase}`;
    latencies = [];
    crossLatencies = [];
    sameLatencies = [];
    delivered = 0;
    const serverCpu0 = cpuSecondsOfAll();
    const machine0 = machineBusySeconds();
    const cpuStall0 = pressureMicros("cpu");
    const ioStall0 = pressureMicros("io");
    const ownCpu0 = process.cpuUsage();
    measureStart = performance.now();
    timeline = [];
    const { sent, seconds } = await send(rate, args.duration, measuredPhase);
    const expected = sent * readersPerRoom;
    const sendEnd = performance.now();
    while (delivered < expected && performance.now() - sendEnd < args.drain * 1000) {
      await sleep(20);
    }
    const serverCpu1 = cpuSecondsOfAll();
    const machine1 = machineBusySeconds();
    const cpuStall1 = pressureMicros("cpu");
    const ioStall1 = pressureMicros("io");
    const ownCpu = process.cpuUsage(ownCpu0);
    const busySeconds = (performance.now() - measureStart) / 1000;
    const sorted = Float64Array.from(latencies).sort();
    const p99 = percentile(sorted, 99);
    const crossSorted = Float64Array.from(crossLatencies).sort();
    const sameSorted = Float64Array.from(sameLatencies).sort();
    const ok = delivered === expected && p99 !== null && p99 < 100;
    const serverCpu = serverCpu0 === null || serverCpu1 === null ? null : serverCpu1 - serverCpu0;
    const result = {
      event: "rate",
      rate,
      sent,
      achieved_rate: round(sent / seconds, 1),
      expected,
      delivered,
      delivered_ratio: expected ? round(delivered / expected, 4) : null,
      p50_ms: round(percentile(sorted, 50)),
      p99_ms: round(p99),
      max_ms: round(sorted.length ? sorted[sorted.length - 1] : null),
      cross_delivered: crossSorted.length,
      cross_p50_ms: round(percentile(crossSorted, 50)),
      cross_p99_ms: round(percentile(crossSorted, 99)),
      same_p50_ms: round(percentile(sameSorted, 50)),
      same_p99_ms: round(percentile(sameSorted, 99)),
      ok,
      reconnects: readers.reduce((n, r) => n + r.client.disconnects, 0) - disconnectsBefore,
      server_cpu_s: round(serverCpu, 2),
      server_cpu_pct: serverCpu === null ? null : round((100 * serverCpu) / busySeconds, 1),
      server_us_per_update: serverCpu === null || sent === 0 ? null : round((1e6 * serverCpu) / sent, 1),
      server_us_per_delivery:
        serverCpu === null || delivered === 0 ? null : round((1e6 * serverCpu) / delivered, 1),
      loadgen_cpu_pct: round((100 * (ownCpu.user + ownCpu.system)) / 1e6 / busySeconds, 1),
      cpu_pressure_pct:
        cpuStall0 === null || cpuStall1 === null ? null : round((cpuStall1 - cpuStall0) / 1e4 / busySeconds, 1),
      io_pressure_pct:
        ioStall0 === null || ioStall1 === null ? null : round((ioStall1 - ioStall0) / 1e4 / busySeconds, 1),
      machine_busy_pct:
        machine0 === null || machine1 === null ? null : round((100 * (machine1 - machine0)) / busySeconds, 1),
      timeline_max_ms: Array.from(timeline, (x) => Math.round(x ?? 0)),
      // Wall clock of the measured period's start: lines the timeline up with server logs.
      measure_start_epoch_ms: Math.round(Date.now() - (performance.now() - measureStart)),
    };
    return result;
  }
}

async function runMemory() {
  const specs = [];
  for (let i = 0; i < args.connections; i += 1) specs.push(roomName("m", i % args.rooms));
  // The first client of each room alone first (a fresh room's first join), then the rest.
  const firsts = specs.slice(0, Math.min(args.rooms, specs.length));
  const rest = specs.slice(firsts.length);
  const clients = await openMany(firsts, 32, { awareness: false });
  clients.push(...(await openMany(rest, 32, { awareness: false })));
  emit({ event: "holding", connections: clients.length, rooms: args.rooms });
  const input = createInterface({ input: process.stdin });
  await new Promise((resolve) => {
    input.once("line", resolve);
    input.once("close", resolve);
  });
  input.close();
  for (const client of clients) destroyClient(client);
  emit({ event: "released" });
}

try {
  if (args.mode === "memory") await runMemory();
  else await runFanout();
  emit({ event: "done" });
  await sleep(200);
  process.exit(0);
} catch (error) {
  emit({ event: "error", error: String(error?.stack ?? error) });
  process.exit(2);
}
