// A stock client writes a root that the document kind does not have, once alone and once in
// the same transaction as an allowed write: the writer is closed with 4400, the whole update is
// refused (nothing of it is applied or broadcast) and the other clients carry on.
// Usage: node schema_violation.mjs --server URL --room projects/P/flows/F
import { scenario, connectSynced, waitFor, docJSON, sameJSON, rootNames, kindOf } from './client.mjs'
import { addItem, items } from './edits.mjs'

scenario({}, async ({ server, room }) => {
  const kind = kindOf(room)
  const a = await connectSynced(server, room, { token: 'alice' })
  const b = await connectSynced(server, room, { token: 'bob' })
  a.doc.transact(() => addItem(a.doc, kind, 'n1', 'Hello'))
  await waitFor(() => sameJSON(docJSON(a.doc, kind), docJSON(b.doc, kind)), {
    what: 'bob to receive the item'
  })
  const before = docJSON(b.doc, kind)

  const evil = await connectSynced(server, room, { token: 'mallory' })
  evil.doc.getMap('evil').set('x', 1)
  const sneaky = await connectSynced(server, room, { token: 'trudy' })
  sneaky.doc.transact(() => {
    items(sneaky.doc, kind).set('sneaky', 'allowed root, same update')
    sneaky.doc.getMap('evil').set('y', 2)
  })
  await waitFor(() => evil.terminal.length > 0 && sneaky.terminal.length > 0, {
    what: 'both writers to be closed for good'
  })

  // Anything broadcast from them would have reached bob before this later edit.
  a.doc.getMap('meta').set('after', true)
  await waitFor(() => b.doc.getMap('meta').get('after') === true, {
    what: 'bob to receive the next edit'
  })
  return {
    before,
    final: docJSON(b.doc, kind),
    roots: { a: rootNames(a.doc), b: rootNames(b.doc) },
    evil: { closes: evil.closes, terminal: evil.terminal },
    sneaky: { closes: sneaky.closes, terminal: sneaky.terminal },
    closes: { a: a.closes, b: b.closes }
  }
})
