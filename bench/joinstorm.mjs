// Join storm: N stock clients open the same large document at the same moment.
//
//   node bench/joinstorm.mjs --kind ours|hocuspocus --port P --clients 150 --mb 4
//
// A seeder writes a flow of about MB megabytes (nodes with 1 KiB texts) in one update and stays
// connected; once a probe client sees all of it, N clients connect at once and each records
// the time from its connect to holding the whole document. Prints one JSON line:
// {synced, clients, p50, p99, max, bytes}. Talks to 127.0.0.1 only; ends itself (deadline).
import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";
import { HocuspocusProvider } from "@hocuspocus/provider";
import WebSocket from "ws";

const args = { kind: "ours", port: 0, clients: 150, mb: 4, deadline: 120 };
for (let i = 2; i < process.argv.length; i += 2) {
  const name = process.argv[i].replace(/^--/, "");
  args[name] = name === "kind" ? process.argv[i + 1] : Number(process.argv[i + 1]);
}
setTimeout(() => {
  process.stderr.write("deadline passed\n");
  process.exit(3);
}, args.deadline * 1000).unref();

const ROOM = args.kind === "ours" ? "projects/bench/flows/joinstorm" : "joinstorm";
const NODES = Math.round((args.mb * 1024 * 1024) / 1100);

function connect(doc) {
  if (args.kind === "hocuspocus") {
    return new HocuspocusProvider({
      url: `ws://127.0.0.1:${args.port}`,
      name: ROOM,
      document: doc,
      WebSocketPolyfill: WebSocket,
    });
  }
  return new WebsocketProvider(`ws://127.0.0.1:${args.port}/sync`, ROOM, doc, {
    WebSocketPolyfill: WebSocket,
    params: { token: "bench" },
    disableBc: true,
  });
}

const waitFor = (check, ms, what) =>
  new Promise((resolve, reject) => {
    const start = Date.now();
    const tick = () => {
      if (check()) resolve(Date.now() - start);
      else if (Date.now() - start > ms) reject(new Error(`timed out: ${what}`));
      else setTimeout(tick, 2);
    };
    tick();
  });

const seedDoc = new Y.Doc();
const seeder = connect(seedDoc);
await waitFor(() => seeder.synced || seeder.isSynced, 30000, "seeder sync");
const filler = "x".repeat(1024);
seedDoc.transact(() => {
  const nodes = seedDoc.getMap("nodes");
  for (let i = 0; i < NODES; i++) {
    const node = new Y.Map();
    node.set("type", "dialogue");
    node.set("text", new Y.Text(filler));
    nodes.set(`n${i}`, node);
  }
});
const bytes = Y.encodeStateAsUpdate(seedDoc).length;
const probeDoc = new Y.Doc();
const probe = connect(probeDoc);
await waitFor(() => probeDoc.getMap("nodes").size === NODES, 60000, "probe sees the seed");
probe.destroy();

const clients = [];
const started = Date.now();
for (let i = 0; i < args.clients; i++) {
  const doc = new Y.Doc();
  clients.push({ doc, provider: connect(doc), at: Date.now(), took: null });
}
await waitFor(
  () => {
    for (const c of clients) {
      if (c.took === null && c.doc.getMap("nodes").size === NODES) c.took = Date.now() - c.at;
    }
    return clients.every((c) => c.took !== null);
  },
  60000,
  "every client synced"
).catch(() => {});
const times = clients.filter((c) => c.took !== null).map((c) => c.took).sort((a, b) => a - b);
const pct = (p) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))];
process.stdout.write(
  JSON.stringify({
    kind: args.kind,
    synced: times.length,
    clients: args.clients,
    p50: pct(50),
    p99: pct(99),
    max: times[times.length - 1],
    wall: Date.now() - started,
    bytes,
  }) + "\n"
);
for (const c of clients) c.provider.destroy();
seeder.destroy();
process.exit(0);
