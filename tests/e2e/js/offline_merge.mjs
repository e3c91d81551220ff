// Two synced clients go offline (provider.disconnect()), both edit the same item, then
// reconnect: each side's offline edits must reach the other and the documents converge.
// Usage: node offline_merge.mjs --server URL --room NAME
import { scenario, connectSynced, waitSynced, waitFor, docJSON, sameJSON, kindOf } from './client.mjs'
import { addItem, itemData, paragraph } from './edits.mjs'

scenario({}, async ({ server, room }) => {
  const kind = kindOf(room)
  const a = await connectSynced(server, room, { token: 'alice' })
  const b = await connectSynced(server, room, { token: 'bob' })
  a.doc.transact(() => addItem(a.doc, kind, 'n1', 'Hello'))
  await waitFor(() => sameJSON(docJSON(a.doc, kind), docJSON(b.doc, kind)), {
    what: 'bob to receive the item'
  })

  a.provider.disconnect()
  b.provider.disconnect()
  await waitFor(() => !a.provider.wsconnected && !b.provider.wsconnected, {
    what: 'both clients to be offline'
  })

  a.doc.transact(() => {
    const data = itemData(a.doc, kind, 'n1')
    data.get('text').insert(0, 'offline A, ')
    data.get('choices').delete(0, 1)
    a.doc.getMap('meta').set('a', 'offline')
  })
  a.doc.transact(() => itemData(a.doc, kind, 'n1').set('x', 'from A'))
  b.doc.transact(() => {
    const data = itemData(b.doc, kind, 'n1')
    data.get('text').insert(data.get('text').length, ', offline B')
    data.get('rich').insert(1, [paragraph('from B')])
    b.doc.getMap('meta').set('b', 'offline')
  })
  const offline = { a: docJSON(a.doc, kind), b: docJSON(b.doc, kind) }

  a.provider.connect()
  b.provider.connect()
  await Promise.all([waitSynced(a), waitSynced(b)])
  await waitFor(() => {
    const ja = docJSON(a.doc, kind)
    return ja.meta.a && ja.meta.b && sameJSON(ja, docJSON(b.doc, kind))
  }, { what: 'alice and bob to converge after reconnecting' })

  return { offline, a: docJSON(a.doc, kind), b: docJSON(b.doc, kind) }
})
