// Hocuspocus 4 baseline for bench/fanout.py: an in-memory server, no extensions, no auth.
// Usage: node baselines/hocuspocus_server.mjs PORT
// Prints "READY <port>" once listening; SIGTERM/SIGINT stop it (stopOnSignals).
import { Server } from "@hocuspocus/server";

const port = Number(process.argv[2] ?? 0);
const server = new Server({
  port,
  address: "127.0.0.1",
  quiet: true,
  stopOnSignals: true,
  // Nothing is stored, so unloading a room costs nothing either way.
  unloadImmediately: true,
});
await server.listen();
console.log(`READY ${server.address.port}`);
