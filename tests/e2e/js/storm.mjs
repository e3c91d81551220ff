// A write storm from stock clients that outlives server crashes.
//
// `node storm.mjs --server URL[,URL...] --room NAME --clients N --interval MS [--rich]` starts
// N stock y-websocket clients in one flow room, spread round-robin over the servers; each sets
// a new key in `nodes` every MS milliseconds while it is connected (with --rich, it also types
// into a shared Y.Text and appends a paragraph to a shared Y.XmlFragment). Every key a client receives *from the server* (a transaction whose
// origin is its provider) is printed at once as {"received": key}, so the test knows, at any
// moment, what the server has shown someone. Stock clients reconnect by themselves after a
// crash. Commands on stdin, one per line: "stop" (stop writing), "state" (print every client's
// keys as {"states": [[...], ...]}), "exit".
import { parseArgs } from 'node:util'
import { createInterface } from 'node:readline'
import { createClient, docJSON, Y } from './client.mjs'

const { values } = parseArgs({
  options: {
    server: { type: 'string' },
    room: { type: 'string' },
    clients: { type: 'string', default: '4' },
    interval: { type: 'string', default: '20' },
    rich: { type: 'boolean', default: false },
    failover: { type: 'boolean', default: false }
  }
})
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')

const servers = values.server.split(',')
const clients = []
for (let i = 0; i < Number(values.clients); i++) {
  const client = createClient(servers[i % servers.length], values.room, { token: `storm${i}` })
  if (values.failover) {
    // What a load balancer does for a dead instance: the next attempt goes to another one.
    let at = i % servers.length
    client.provider.on('connection-close', () => {
      const next = (at + 1) % servers.length
      client.provider.serverUrl = servers[next]
      at = next
    })
  }
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
    if (values.rich) richEdit(c.client.doc, i, c.next)
  }
}, Number(values.interval))

// The shared rich values live in `meta`; the first writer creates them (a concurrent second
// creation loses, as in any Yjs app, and both clients then edit the winner).
function richEdit (doc, i, n) {
  const meta = doc.getMap('meta')
  doc.transact(() => {
    if (!(meta.get('title') instanceof Y.Text)) meta.set('title', new Y.Text())
    if (!(meta.get('body') instanceof Y.XmlFragment)) meta.set('body', new Y.XmlFragment())
  })
  const title = meta.get('title')
  title.insert(title.length, String.fromCharCode(97 + (i % 26)))
  if (n % 5 === 0) {
    const paragraph = new Y.XmlElement('p')
    paragraph.insert(0, [new Y.XmlText(`c${i} line ${n}`)])
    const body = meta.get('body')
    body.insert(body.length, [paragraph])
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const command = line.trim()
  if (command === 'stop') {
    writing = false
    out({ stopped: true })
  } else if (command === 'state') {
    out({
      states: clients.map((c) => [...c.nodes.keys()].sort()),
      docs: clients.map((c) => JSON.stringify(docJSON(c.client.doc, 'flows'))),
      synced: clients.map((c) => c.client.provider.synced && c.client.provider.wsconnected)
    })
  } else if (command === 'exit') {
    clearInterval(timer)
    for (const c of clients) c.client.provider.destroy()
    process.exit(0)
  }
})
out({ started: clients.length })
