// The opt-in durable acknowledgement (?ext=ack): message type 100 carrying the committed
// sequence number, after each of the client's updates; clients that did not opt in never get one.
// Usage: node ack.mjs --server URL --room NAME
import {
  scenario, connectSynced, editAndWaitAck, roundTrip, openRaw, waitFor, readAck, hex, messageType,
  updateFrame, syncStep1Frame, Y
} from './client.mjs'

scenario({}, async ({ server, room }) => {
  const acked = await connectSynced(server, room, { token: 'acked', params: { ext: 'ack' } })
  // Whatever the server answers to the initial sync (its step 2 may come before an ack of the
  // client's own step 2) is in before the first edit, so the next ack is the edit's.
  await roundTrip(acked)
  const acksAfterSync = [...acked.acks]
  const plain = await connectSynced(server, room, { token: 'plain' })
  const meta = (client) => client.doc.getMap('meta')

  const stockAcks = []
  for (let i = 0; i < 3; i++) {
    stockAcks.push(await editAndWaitAck(acked, () => meta(acked).set(`k${i}`, i)))
  }

  // The plain client writes; once the acked one has seen that, a later edit of the acked client
  // reaching the plain one proves any ack for the plain client would have arrived first.
  meta(plain).set('plain', 1)
  await waitFor(() => meta(acked).get('plain') === 1, { what: 'the plain edit to arrive' })
  await editAndWaitAck(acked, () => meta(acked).set('later', 1))
  await waitFor(() => meta(plain).get('later') === 1, { what: 'the later edit to arrive' })

  // A raw client: the exact frame.
  const raw = openRaw(server, room, { token: 'raw', ext: 'ack' })
  await raw.opened
  const local = new Y.Doc()
  let update = null
  local.on('update', (u) => { update = u })
  local.getMap('meta').set('raw', 1)
  raw.ws.send(syncStep1Frame(local))
  raw.ws.send(updateFrame(update))
  await waitFor(() => raw.frames.some((f) => readAck(f) !== null), {
    what: 'the raw client to receive an ack'
  })
  const ackFrame = raw.frames.find((f) => readAck(f) !== null)
  const rawResult = {
    seq: readAck(ackFrame),
    hex: hex(ackFrame),
    typesBeforeAck: raw.frames.slice(0, raw.frames.indexOf(ackFrame)).map(messageType)
  }
  raw.ws.close()
  return {
    acksAfterSync,
    stockAcks,
    ackedAll: acked.acks,
    plainAcks: plain.acks,
    raw: rawResult,
    closes: { acked: acked.closes, plain: plain.closes }
  }
})
