// Many stock clients open NEW rooms at the same moment (no room exists before): every client
// must sync, then see every other client's marker in its room.
// Usage: node concurrent_join.mjs --server URL --project P --prefix X --rooms 10 --per-room 4
import { scenario, createClient, waitSynced, waitFor, destroyClient } from './client.mjs'

const options = {
  project: { type: 'string' },
  prefix: { type: 'string' },
  rooms: { type: 'string', default: '10' },
  'per-room': { type: 'string', default: '4' }
}

scenario(options, async (args) => {
  const { server, project, prefix } = args
  const rooms = Array.from({ length: Number(args.rooms) }, (_, r) => `projects/${project}/flows/${prefix}-${r}`)
  const started = Date.now()
  // All sockets are created in one synchronous loop: they reach the server together.
  const clients = []
  for (let k = 0; k < Number(args['per-room']); k++) {
    for (const [r, room] of rooms.entries()) clients.push(createClient(server, room, { token: `u${r}-${k}` }))
  }
  await Promise.all(clients.map((client) => waitSynced(client, 15000)))
  const syncedMs = Date.now() - started

  for (const client of clients) client.doc.getMap('meta').set(client.name, true)
  const expected = new Map(rooms.map((room) => [room, clients.filter((c) => c.room === room).map((c) => c.name).sort()]))
  await waitFor(() => clients.every((c) => {
    const seen = [...c.doc.getMap('meta').keys()].sort()
    return JSON.stringify(seen) === JSON.stringify(expected.get(c.room))
  }), { timeoutMs: 10000, what: 'every client to see every marker of its room' })

  const closes = clients.flatMap((c) => c.closes)
  clients.forEach(destroyClient)
  return { clients: clients.length, rooms: Object.fromEntries(expected), syncedMs, closes }
})
