// Two stock clients edit the same Map, Array, Text and XmlFragment concurrently (in the same
// tick, before either hears of the other) and must converge to the same document.
// Usage: node converge.mjs --server ws://HOST:PORT/sync --room projects/P/flows/F
import { scenario, connectSynced, waitFor, docJSON, sameJSON, kindOf } from './client.mjs'
import { addItem, itemData, paragraph } from './edits.mjs'

scenario({}, async ({ server, room }) => {
  const kind = kindOf(room)
  const a = await connectSynced(server, room, { token: 'alice' })
  const b = await connectSynced(server, room, { token: 'bob' })

  a.doc.transact(() => addItem(a.doc, kind, 'n1', 'Hello'))
  await waitFor(() => sameJSON(docJSON(a.doc, kind), docJSON(b.doc, kind)), {
    what: 'bob to receive the new item'
  })
  const initial = docJSON(b.doc, kind)

  a.doc.transact(() => {
    const data = itemData(a.doc, kind, 'n1')
    data.get('text').insert(0, 'A says: ')
    data.get('choices').push(['fromA'])
    data.get('rich').insert(0, [paragraph('alpha')])
    data.set('owner', 'alice')
    data.set('onlyA', 1)
    a.doc.getMap('meta').set('a', true)
    if (kind === 'pages') a.doc.getArray('blockOrder').push(['pA'])
  })
  b.doc.transact(() => {
    const data = itemData(b.doc, kind, 'n1')
    data.get('text').insert(data.get('text').length, ' (bob)')
    data.get('choices').delete(0, 1)
    data.get('choices').push(['fromB'])
    const rich = data.get('rich')
    rich.insert(rich.length, [paragraph('omega')])
    data.set('owner', 'bob')
    data.set('onlyB', 2)
    b.doc.getMap('meta').set('b', true)
    if (kind === 'pages') b.doc.getArray('blockOrder').insert(0, ['pB'])
  })

  await waitFor(() => {
    const ja = docJSON(a.doc, kind)
    return ja.meta.a && ja.meta.b && sameJSON(ja, docJSON(b.doc, kind))
  }, { what: 'alice and bob to converge' })

  return {
    initial,
    a: docJSON(a.doc, kind),
    b: docJSON(b.doc, kind),
    closes: { a: a.closes, b: b.closes }
  }
})
