// Shared helpers for the e2e scenarios: stock y-websocket clients, raw sockets, bounded waits,
// and a canonical JSON view of a document that the Python side computes the same way.
import { parseArgs } from 'node:util'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import * as syncProtocol from 'y-protocols/sync'

export { Y, WebSocket, encoding, decoding }

export const MESSAGE_SYNC = 0
export const MESSAGE_AWARENESS = 1
export const MESSAGE_QUERY_AWARENESS = 3
export const MESSAGE_ACK = 100

// The roots each document kind may hold (DESIGN.md §8); anything else is closed with 4400.
export const ROOTS = {
  flows: { meta: 'map', nodes: 'map', connections: 'map', translations: 'map' },
  pages: { meta: 'map', blocks: 'map', blockOrder: 'array', translations: 'map' },
  tree: { pages: 'map', flows: 'map', locales: 'map' }
}

// 'projects/P/flows/F' -> 'flows', 'projects/P/tree' -> 'tree'
export function kindOf (room) {
  return room.split('/')[2]
}

// ---------------------------------------------------------------------------------------------
// Stock clients

/**
 * A stock WebsocketProvider on its own Y.Doc, with what it went through recorded:
 * close events, status changes and any message type 100 (durable ack) it received.
 */
export function createClient (serverUrl, room, { token, params = {}, connect = true } = {}) {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(serverUrl, room, doc, {
    WebSocketPolyfill: WebSocket,
    params: { token, ...params },
    // Clients that share a process must only talk through the server, not a BroadcastChannel.
    disableBc: true,
    connect
  })
  const client = { name: token, room, doc, provider, closes: [], statuses: [], acks: [], terminal: [] }
  provider.on('connection-close', (event) => {
    client.closes.push(event === null ? null : { code: event.code, reason: event.reason })
  })
  provider.on('closed', (event) => client.terminal.push(event))
  provider.on('status', ({ status }) => client.statuses.push(status))
  // The stock client has no handler for type 100: record it instead of logging an error.
  provider.messageHandlers[MESSAGE_ACK] = (_encoder, decoder) => {
    client.acks.push(decoding.readVarUint(decoder))
  }
  return client
}

export function waitSynced (client, timeoutMs = 10000) {
  return waitFor(() => client.provider.synced, { timeoutMs, what: `${client.name} to sync` })
}

export async function connectSynced (serverUrl, room, options = {}, timeoutMs = 10000) {
  const client = createClient(serverUrl, room, options)
  await waitSynced(client, timeoutMs)
  return client
}

export function destroyClient (client) {
  client.provider.destroy()
  client.provider.awareness.destroy()
}

/**
 * A round trip on the client's own socket: send query-awareness and wait for the awareness
 * answer listing this client. The server handles a connection's frames in order, so once the
 * answer is here, everything the server sent in reply to earlier frames has arrived too.
 */
export async function roundTrip (client, timeoutMs = 5000) {
  const ws = client.provider.ws
  let answered = false
  const onMessage = (event) => {
    const frame = new Uint8Array(event.data)
    if (messageType(frame) === MESSAGE_AWARENESS &&
        decodeAwareness(frame).some((entry) => entry.clientId === client.doc.clientID)) {
      answered = true
    }
  }
  ws.addEventListener('message', onMessage)
  try {
    ws.send(Uint8Array.from([MESSAGE_QUERY_AWARENESS]))
    await waitFor(() => answered, { timeoutMs, what: `${client.name}: a round trip` })
  } finally {
    ws.removeEventListener('message', onMessage)
  }
}

/**
 * Run `edit` in one transaction (one update frame) and wait for the server's ack of it.
 * Only valid when nothing else of this client awaits an answer (see `roundTrip`).
 */
export async function editAndWaitAck (client, edit, timeoutMs = 5000) {
  const before = client.acks.length
  client.doc.transact(() => edit(client.doc))
  await waitFor(() => client.acks.length > before, { timeoutMs, what: `${client.name}: an ack` })
  return client.acks[client.acks.length - 1]
}

// ---------------------------------------------------------------------------------------------
// Waiting

/**
 * Poll `check` until it returns a truthy value; resolve with the milliseconds it took, reject
 * after `timeoutMs`. Every wait in these scenarios goes through here, so none is unbounded.
 */
export function waitFor (check, { timeoutMs = 5000, what = 'a condition', intervalMs = 5 } = {}) {
  const started = Date.now()
  return new Promise((resolve, reject) => {
    const tick = () => {
      let done
      try {
        done = check()
      } catch (err) {
        reject(err)
        return
      }
      const elapsed = Date.now() - started
      if (done) {
        resolve(elapsed)
      } else if (elapsed >= timeoutMs) {
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`))
      } else {
        setTimeout(tick, intervalMs)
      }
    }
    tick()
  })
}

export const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// ---------------------------------------------------------------------------------------------
// Canonical JSON: maps with sorted keys, arrays as lists, Y.Text as its string, XML as its
// markup. tests/e2e/harness.py builds the same view of a pycrdt Doc.

export function toPlain (value) {
  if (value instanceof Y.XmlFragment || value instanceof Y.XmlElement || value instanceof Y.XmlText) {
    return value.toString()
  }
  if (value instanceof Y.Text) return value.toString()
  if (value instanceof Y.Array) return value.toArray().map(toPlain)
  if (value instanceof Y.Map) {
    const out = {}
    for (const key of [...value.keys()].sort()) out[key] = toPlain(value.get(key))
    return out
  }
  return value
}

export function docJSON (doc, kind) {
  const out = {}
  for (const [name, shape] of Object.entries(ROOTS[kind])) {
    out[name] = toPlain(shape === 'map' ? doc.getMap(name) : doc.getArray(name))
  }
  return out
}

export const sameJSON = (a, b) => JSON.stringify(a) === JSON.stringify(b)

/** Every root name the doc has, allowed or not (to prove a refused root never arrived). */
export const rootNames = (doc) => [...doc.share.keys()].sort()

// ---------------------------------------------------------------------------------------------
// Raw websocket clients: y-websocket frames built by hand

export function rawUrl (serverUrl, room, { token, ext } = {}) {
  const query = new URLSearchParams({ token })
  if (ext) query.set('ext', ext)
  return `${serverUrl}/${room}?${query}`
}

/** A bare `ws` socket on a room: every frame it receives and how it closed are recorded. */
export function openRaw (serverUrl, room, options = {}) {
  const ws = new WebSocket(rawUrl(serverUrl, room, options))
  const raw = { name: options.token, ws, frames: [], close: null, error: null }
  raw.opened = new Promise((resolve, reject) => {
    ws.once('open', resolve)
    ws.once('error', reject)
  })
  ws.on('error', (err) => { raw.error = String(err) })
  ws.on('message', (data) => raw.frames.push(new Uint8Array(data)))
  ws.on('close', (code, reason) => { raw.close = { code, reason: reason.toString() } })
  return raw
}

export function waitRawClose (raw, timeoutMs = 5000) {
  return waitFor(() => raw.close, { timeoutMs, what: `${raw.name} to be closed` })
    .then(() => raw.close)
}

export function messageType (frame) {
  return decoding.readVarUint(decoding.createDecoder(frame))
}

function frame (write) {
  const encoder = encoding.createEncoder()
  write(encoder)
  return encoding.toUint8Array(encoder)
}

export const syncStep1Frame = (doc) => frame((e) => {
  encoding.writeVarUint(e, MESSAGE_SYNC)
  syncProtocol.writeSyncStep1(e, doc)
})

export const updateFrame = (update) => frame((e) => {
  encoding.writeVarUint(e, MESSAGE_SYNC)
  syncProtocol.writeUpdate(e, update)
})

/** [varuint 100, varuint seq] -> seq, or null for any other frame. */
export function readAck (bytes) {
  const decoder = decoding.createDecoder(bytes)
  if (decoding.readVarUint(decoder) !== MESSAGE_ACK) return null
  const seq = decoding.readVarUint(decoder)
  return decoding.hasContent(decoder) ? null : seq
}

/** An awareness frame [1, varUint8Array update] -> [{ clientId, clock, state }, ...] */
export function decodeAwareness (bytes) {
  const frameDecoder = decoding.createDecoder(bytes)
  decoding.readVarUint(frameDecoder) // MESSAGE_AWARENESS
  const decoder = decoding.createDecoder(decoding.readVarUint8Array(frameDecoder))
  const entries = []
  const count = decoding.readVarUint(decoder)
  for (let i = 0; i < count; i++) {
    const clientId = decoding.readVarUint(decoder)
    const clock = decoding.readVarUint(decoder)
    entries.push({ clientId, clock, state: JSON.parse(decoding.readVarString(decoder)) })
  }
  return entries
}

export const hex = (bytes) => Buffer.from(bytes).toString('hex')
export const fromHex = (text) => new Uint8Array(Buffer.from(text, 'hex'))

// ---------------------------------------------------------------------------------------------
// Scenario scripts: named options in, one JSON line out

/**
 * Parse `--server URL --room NAME` plus `options`, run `body(args)` and print its result as
 * one JSON line. Exit 1 on error, 3 if it does not finish within `timeoutMs`.
 */
export function scenario (options, body, { timeoutMs = 25000 } = {}) {
  const { values } = parseArgs({
    options: { server: { type: 'string' }, room: { type: 'string' }, ...options }
  })
  if (!values.server) fail('--server is required')
  const timer = setTimeout(() => fail(`scenario did not finish within ${timeoutMs} ms`, 3), timeoutMs)
  body(values).then(
    (result) => {
      clearTimeout(timer)
      process.stdout.write(JSON.stringify(result) + '\n')
      process.exit(0)
    },
    (err) => fail(err?.stack ?? String(err))
  )
}

function fail (message, code = 1) {
  process.stderr.write(message + '\n')
  process.exit(code)
}

// A small deterministic PRNG (mulberry32) so a failing random run can be replayed by seed.
export function prng (seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
