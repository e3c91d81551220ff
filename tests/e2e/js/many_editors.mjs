// N stock clients on one document make random concurrent edits (maps, texts, arrays, XML,
// deletions), then each writes a "done" marker; all must end with identical documents.
// The edits are paced by random short delays so they interleave on the server.
// Usage: node many_editors.mjs --server URL --room NAME --clients 20 --ops 40 --seed 1
import {
  scenario, connectSynced, waitFor, delay, docJSON, sameJSON, kindOf, prng, destroyClient
} from './client.mjs'
import { addItem, items, paragraph } from './edits.mjs'

const options = {
  clients: { type: 'string', default: '20' },
  ops: { type: 'string', default: '40' },
  seed: { type: 'string', default: '1' }
}

function randomEdit (client, kind, random, serial) {
  const { doc } = client
  const pick = (list) => list[Math.floor(random() * list.length)]
  const nodes = items(doc, kind)
  const ids = [...nodes.keys()]
  const roll = random()
  if (roll < 0.15 || ids.length === 0) {
    addItem(doc, kind, `${client.name}-${serial}`, `t${serial}`)
    return 'add'
  }
  const data = nodes.get(pick(ids)).get('data')
  if (roll < 0.2) {
    nodes.delete(pick(ids))
    return 'delete'
  }
  if (roll < 0.35) {
    doc.getMap('meta').set(`k${Math.floor(random() * 5)}`, `${client.name}:${serial}`)
    return 'meta'
  }
  if (roll < 0.6) {
    const text = data.get('text')
    if (text.length > 4 && random() < 0.3) {
      text.delete(Math.floor(random() * (text.length - 2)), 2)
    } else {
      text.insert(Math.floor(random() * (text.length + 1)), `<${client.name}>`)
    }
    return 'text'
  }
  if (roll < 0.75) {
    const choices = data.get('choices')
    if (choices.length > 0 && random() < 0.3) choices.delete(Math.floor(random() * choices.length))
    else choices.insert(Math.floor(random() * (choices.length + 1)), [serial])
    return 'array'
  }
  if (roll < 0.9) {
    const rich = data.get('rich')
    if (rich.length > 0 && random() < 0.3) rich.delete(Math.floor(random() * rich.length))
    else rich.insert(Math.floor(random() * (rich.length + 1)), [paragraph(client.name)])
    return 'xml'
  }
  data.set(pick(['x', 'y', 'label']), serial)
  return 'field'
}

scenario(options, async ({ server, room, clients: n, ops, seed }) => {
  const kind = kindOf(room)
  const clients = await Promise.all(
    Array.from({ length: Number(n) }, (_, i) => connectSynced(server, room, { token: `c${i}` }))
  )
  const counts = {}
  await Promise.all(clients.map(async (client, i) => {
    const random = prng(Number(seed) * 1000 + i)
    for (let serial = 0; serial < Number(ops); serial++) {
      await delay(Math.floor(random() * 4))
      const what = client.doc.transact(() => randomEdit(client, kind, random, serial))
      counts[what] = (counts[what] ?? 0) + 1
    }
    client.doc.getMap('meta').set(`done-${client.name}`, true)
  }))

  const allDone = (json) => clients.every((c) => json.meta[`done-${c.name}`] === true)
  const elapsedMs = await waitFor(() => {
    const first = docJSON(clients[0].doc, kind)
    return allDone(first) && clients.every((c) => sameJSON(docJSON(c.doc, kind), first))
  }, { timeoutMs: 20000, what: `${n} clients to converge` })

  const jsons = clients.map((c) => docJSON(c.doc, kind))
  const closes = clients.flatMap((c) => c.closes)
  clients.forEach(destroyClient)
  return { json: jsons[0], identical: jsons.every((j) => sameJSON(j, jsons[0])), counts, closes, elapsedMs }
}, { timeoutMs: 28000 })
