// A write storm from stock clients that outlives server crashes.
//
// `node storm.mjs --server URL --room NAME --clients N --interval MS` starts N stock
// y-websocket clients in one flow room; each sets a new key in `nodes` every MS milliseconds
// while it is connected. Every key a client receives *from the server* (a transaction whose
// origin is its provider) is printed at once as {"received": key}, so the test knows, at any
// moment, what the server has shown someone. Stock clients reconnect by themselves after a
// crash. Commands on stdin, one per line: "stop" (stop writing), "state" (print every client's
// keys as {"states": [[...], ...]}), "exit".
import { parseArgs } from 'node:util'
import { createInterface } from 'node:readline'
import { createClient } from './client.mjs'

const { values } = parseArgs({
  options: {
    server: { type: 'string' },
    room: { type: 'string' },
    clients: { type: 'string', default: '4' },
    interval: { type: 'string', default: '20' }
  }
})
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')

const clients = []
for (let i = 0; i < Number(values.clients); i++) {
  const client = createClient(values.server, values.room, { token: `storm${i}` })
  const nodes = client.doc.getMap('nodes')
  nodes.observe((event) => {
    if (event.transaction.origin !== client.provider) return
    for (const key of event.keysChanged) out({ received: key })
  })
  clients.push({ client, nodes, next: 0 })
}

let writing = true
const timer = setInterval(() => {
  if (!writing) return
  for (const [i, c] of clients.entries()) {
    if (!c.client.provider.wsconnected || !c.client.provider.synced) continue
    c.nodes.set(`c${i}-${c.next++}`, { type: 'hub', x: c.next })
  }
}, Number(values.interval))

createInterface({ input: process.stdin }).on('line', (line) => {
  const command = line.trim()
  if (command === 'stop') {
    writing = false
    out({ stopped: true })
  } else if (command === 'state') {
    out({
      states: clients.map((c) => [...c.nodes.keys()].sort()),
      synced: clients.map((c) => c.client.provider.synced && c.client.provider.wsconnected)
    })
  } else if (command === 'exit') {
    clearInterval(timer)
    for (const c of clients) c.client.provider.destroy()
    process.exit(0)
  }
})
out({ started: clients.length })
