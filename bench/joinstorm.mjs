// Join storm: N clients open the same large document at the same moment.
//
//   node bench/joinstorm.mjs --kind ours|hocuspocus --port P --clients 150 --mb 4 [--decode 0|1]
//
// A seeder writes a flow of about MB megabytes (nodes with 1 KiB texts) in one update and stays
// connected; once a probe client sees all of it, N clients connect at once and each records
// the time from its connect to holding the whole document. Prints one JSON line:
// {synced, clients, p50, p99, max, bytes}. Talks to 127.0.0.1 only; ends itself (deadline).
//
// --decode 1: the joiners are stock providers that decode the document. On 2 cores the Node
// process then spends seconds decoding 150 copies and measures itself, not the server.
// --decode 0 (default): the joiners speak the wire protocol by hand and stop the clock when
// the whole sync step 2 has arrived; one of the answers is decoded afterwards to prove it
// holds the document.
import * as Y from "yjs";
import * as encoding from "lib0/encoding";
import * as decoding from "lib0/decoding";
import { WebsocketProvider } from "y-websocket";
import { HocuspocusProvider } from "@hocuspocus/provider";
import WebSocket from "ws";

const args = { kind: "ours", port: 0, clients: 150, mb: 4, deadline: 120, decode: 0 };
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

// One joiner that speaks the protocol by hand: step 1 with an empty state vector, then wait
// for the step 2 that answers it.
function rawJoin() {
  const client = { at: Date.now(), took: null, step2: null, ws: null };
  const hocus = args.kind === "hocuspocus";
  const url = hocus
    ? `ws://127.0.0.1:${args.port}`
    : `ws://127.0.0.1:${args.port}/sync/${ROOM}?token=bench`;
  const ws = new WebSocket(url);
  ws.binaryType = "nodebuffer";
  client.ws = ws;
  const frame = (write) => {
    const encoder = encoding.createEncoder();
    if (hocus) encoding.writeVarString(encoder, ROOM);
    write(encoder);
    return encoding.toUint8Array(encoder);
  };
  ws.on("open", () => {
    if (hocus) {
      ws.send(
        frame((e) => {
          encoding.writeVarUint(e, 2); // auth
          encoding.writeVarUint(e, 0); // token
          encoding.writeVarString(e, "bench");
          encoding.writeVarString(e, "4.8.0");
        })
      );
    }
    ws.send(
      frame((e) => {
        encoding.writeVarUint(e, 0); // sync
        encoding.writeVarUint(e, 0); // step 1
        encoding.writeVarUint8Array(e, Y.encodeStateVector(new Y.Doc()));
      })
    );
  });
  ws.on("message", (data) => {
    if (client.took !== null) return;
    const decoder = decoding.createDecoder(new Uint8Array(data));
    if (hocus) decoding.readVarString(decoder);
    if (decoding.readVarUint(decoder) !== 0 || decoding.readVarUint(decoder) !== 1) return;
    client.took = Date.now() - client.at;
    client.step2 = decoding.readVarUint8Array(decoder);
  });
  ws.on("error", () => {});
  return client;
}

const clients = [];
const started = Date.now();
for (let i = 0; i < args.clients; i++) {
  if (args.decode) {
    const doc = new Y.Doc();
    clients.push({ doc, provider: connect(doc), at: Date.now(), took: null });
  } else {
    clients.push(rawJoin());
  }
}
await waitFor(
  () => {
    for (const c of clients) {
      if (c.took === null && c.doc && c.doc.getMap("nodes").size === NODES) {
        c.took = Date.now() - c.at;
      }
    }
    return clients.every((c) => c.took !== null);
  },
  60000,
  "every client synced"
).catch(() => {});
let verified = args.decode ? clients.filter((c) => c.took !== null).length : 0;
if (!args.decode) {
  // Not timed: every answer must be a whole document, so decode the first and compare sizes.
  const answered = clients.filter((c) => c.step2 !== null);
  if (answered.length) {
    const check = new Y.Doc();
    Y.applyUpdate(check, answered[0].step2);
    const whole = check.getMap("nodes").size === NODES;
    const size = answered[0].step2.length;
    verified = whole ? answered.filter((c) => c.step2.length >= size * 0.99).length : 0;
  }
}
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
    verified,
    bytes,
  }) + "\n"
);
for (const c of clients) (c.provider ? c.provider.destroy() : c.ws.close());
seeder.destroy();
process.exit(0);
