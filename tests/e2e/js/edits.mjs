// Document edits the scenarios share. Every write stays inside the kind's allowed roots:
// flows keep items in `nodes`, pages in `blocks` (+ their ids in the `blockOrder` Y.Array),
// the tree in `flows`. Nested under each item: a Y.Text, a Y.XmlFragment and a Y.Array.
import { Y } from './client.mjs'

export const ITEMS = { flows: 'nodes', pages: 'blocks', tree: 'flows' }

export function paragraph (text) {
  const p = new Y.XmlElement('paragraph')
  p.insert(0, [new Y.XmlText(text)])
  return p
}

/** Add item `id` whose data holds text (Y.Text), rich (Y.XmlFragment), choices (Y.Array). */
export function addItem (doc, kind, id, text) {
  const data = new Y.Map()
  data.set('text', new Y.Text(text))
  const rich = new Y.XmlFragment()
  rich.insert(0, [paragraph(text)])
  data.set('rich', rich)
  const choices = new Y.Array()
  choices.push(['first'])
  data.set('choices', choices)
  const item = new Y.Map()
  item.set('type', 'dialogue')
  item.set('x', 10)
  item.set('y', 20)
  item.set('data', data)
  doc.getMap(ITEMS[kind]).set(id, item)
  if (kind === 'pages') doc.getArray('blockOrder').push([id])
}

export const items = (doc, kind) => doc.getMap(ITEMS[kind])
export const itemData = (doc, kind, id) => items(doc, kind).get(id).get('data')
export const itemText = (doc, kind, id) => itemData(doc, kind, id).get('text')

/** Named edits the agent can run on request (one transaction each). */
export const RECIPES = {
  addItem: (doc, kind, { id, text }) => addItem(doc, kind, id, text),
  setMeta: (doc, _kind, { key, value }) => doc.getMap('meta').set(key, value),
  insertText: (doc, kind, { id, index, text }) => {
    const ytext = itemText(doc, kind, id)
    ytext.insert(index ?? ytext.length, text)
  },
  deleteItem: (doc, kind, { id }) => items(doc, kind).delete(id),
  // One insert of `size` characters (a-z repeating) at the end of item `id`'s text.
  fillText: (doc, kind, { id, size }) => {
    const ytext = itemText(doc, kind, id)
    const pattern = 'abcdefghijklmnopqrstuvwxyz'
    ytext.insert(ytext.length, pattern.repeat(Math.ceil(size / 26)).slice(0, size))
  }
}
