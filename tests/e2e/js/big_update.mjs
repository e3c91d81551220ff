// One Y.Text insert of --size characters (one update frame of that many bytes) goes through
// the server and reaches another client intact.
// Usage: node big_update.mjs --server URL --room NAME --size 2097152
import { createHash } from 'node:crypto'
import { scenario, connectSynced, waitFor, kindOf, prng } from './client.mjs'
import { addItem, items, itemText } from './edits.mjs'

const sha256 = (text) => createHash('sha256').update(text).digest('hex')

scenario({ size: { type: 'string', default: String(2 * 1024 * 1024) } }, async ({ server, room, size }) => {
  const kind = kindOf(room)
  const a = await connectSynced(server, room, { token: 'alice' })
  const b = await connectSynced(server, room, { token: 'bob' })
  a.doc.transact(() => addItem(a.doc, kind, 'big', ''))
  await waitFor(() => items(b.doc, kind).has('big'), { what: 'bob to receive the item' })

  const random = prng(7)
  const chars = []
  for (let i = 0; i < Number(size); i++) chars.push(String.fromCharCode(97 + Math.floor(random() * 26)))
  const content = chars.join('')
  let frameBytes = 0
  a.doc.once('update', (update) => { frameBytes = update.length })
  const started = Date.now()
  a.doc.transact(() => itemText(a.doc, kind, 'big').insert(0, content))
  await waitFor(() => itemText(b.doc, kind, 'big').length === content.length, {
    timeoutMs: 15000, what: 'bob to receive the big insert'
  })
  const received = itemText(b.doc, kind, 'big').toString()
  return {
    updateBytes: frameBytes,
    elapsedMs: Date.now() - started,
    sent: { length: content.length, sha256: sha256(content) },
    received: { length: received.length, sha256: sha256(received) },
    closes: { a: a.closes, b: b.closes }
  }
})
