// Malformed frames from raw sockets, and from a stock client's own socket: each sender is
// closed with 4400, the stock client stops reconnecting, and the room's other clients neither
// notice nor see their document change.
// Usage: node garbage.mjs --server URL --room NAME [--quiet-ms 3000]
import {
  scenario, connectSynced, openRaw, waitRawClose, waitFor, delay, docJSON, sameJSON, kindOf,
  Y, updateFrame, syncStep1Frame
} from './client.mjs'
import { addItem } from './edits.mjs'

function badFrames () {
  const doc = new Y.Doc()
  let update = null
  doc.on('update', (u) => { update = u })
  doc.getMap('meta').set('never', 'applied')
  const full = updateFrame(update)
  const step1 = syncStep1Frame(new Y.Doc())
  return {
    garbage: Uint8Array.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x13, 0x37]),
    text: 'hello, I am a text frame',
    unknownType: Uint8Array.from([42, 0, 1]),
    clientAck: Uint8Array.from([100, 1]),
    unknownSyncType: Uint8Array.from([0, 9, 1, 0]),
    truncatedSync: full.slice(0, Math.floor(full.length / 2)),
    garbageUpdate: Uint8Array.from([0, 2, 4, 0xff, 0xff, 0xff, 0xff]),
    trailingBytes: Uint8Array.from([...step1, 7, 7]),
    empty: new Uint8Array(0)
  }
}

async function sendAndWaitClose (server, room, name, frame) {
  const raw = openRaw(server, room, { token: name })
  await raw.opened
  raw.ws.send(frame, { binary: typeof frame !== 'string' })
  return waitRawClose(raw, 5000)
}

async function stockClientGetsPermanentClose (server, room, quietMs) {
  const carol = await connectSynced(server, room, { token: 'carol' })
  const statusesBefore = carol.statuses.length
  carol.provider.ws.send(Uint8Array.from([42]))
  await waitFor(() => carol.closes.length > 0, { what: 'carol to be closed' })
  // Absence of a reconnect can only be observed over time: the stock backoff after one failed
  // connection is 200 ms, capped at 2.5 s, so `quietMs` (3 s) covers any retry it would make.
  await delay(quietMs)
  const result = {
    closes: carol.closes,
    terminal: carol.terminal,
    statusesAfterClose: carol.statuses.slice(statusesBefore),
    connected: carol.provider.wsconnected,
    connecting: carol.provider.wsconnecting,
    hasSocket: carol.provider.ws !== null
  }
  carol.provider.destroy()
  return result
}

scenario({ 'quiet-ms': { type: 'string', default: '3000' } }, async (args) => {
  const { server, room } = args
  const kind = kindOf(room)
  const a = await connectSynced(server, room, { token: 'alice' })
  const b = await connectSynced(server, room, { token: 'bob' })
  a.doc.transact(() => addItem(a.doc, kind, 'n1', 'Hello'))
  await waitFor(() => sameJSON(docJSON(a.doc, kind), docJSON(b.doc, kind)), {
    what: 'bob to receive the item'
  })
  const before = docJSON(b.doc, kind)

  const frames = badFrames()
  const [rawCloses, carol] = await Promise.all([
    Promise.all(Object.entries(frames).map(async ([name, frame]) => [
      name, await sendAndWaitClose(server, room, name, frame)
    ])).then(Object.fromEntries),
    stockClientGetsPermanentClose(server, room, Number(args['quiet-ms']))
  ])
  const afterGarbage = { a: docJSON(a.doc, kind), b: docJSON(b.doc, kind) }

  // The room still works for everyone else.
  a.doc.getMap('meta').set('after', true)
  await waitFor(() => b.doc.getMap('meta').get('after') === true, {
    what: 'bob to receive an edit made after the garbage'
  })
  return {
    before,
    afterGarbage,
    final: docJSON(b.doc, kind),
    raw: rawCloses,
    carol,
    closes: { a: a.closes, b: b.closes }
  }
})
