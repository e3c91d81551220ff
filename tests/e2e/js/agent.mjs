// A client process that pytest drives one JSON line at a time, for the scenarios where the
// test itself must act in between (kill a process, edit on the server, inspect server state).
//
// stdin:  {"id": 1, "op": "connect", "args": {"name": "a", "room": "projects/p/flows/f"}}
// stdout: {"id": 1, "ok": true, "result": {...}}  or  {"id": 1, "ok": false, "error": "..."}
//
// One agent can hold several named clients: stock providers, or raw `ws` sockets.
import { createInterface } from 'node:readline'
import {
  createClient, waitSynced, destroyClient, waitFor, docJSON, sameJSON, kindOf,
  openRaw, waitRawClose, messageType, fromHex, hex, decodeAwareness, MESSAGE_AWARENESS
} from './client.mjs'
import { RECIPES, itemData } from './edits.mjs'

const serverUrl = process.argv[2]
if (!serverUrl) {
  process.stderr.write('usage: node agent.mjs ws://HOST:PORT/sync\n')
  process.exit(2)
}

const clients = new Map() // name -> stock client
const raws = new Map() // name -> raw socket

function stock (name) {
  const client = clients.get(name)
  if (!client) throw new Error(`no client named ${name}`)
  return client
}

function raw (name) {
  const socket = raws.get(name)
  if (!socket) throw new Error(`no raw socket named ${name}`)
  return socket
}

const json = (client) => docJSON(client.doc, kindOf(client.room))

function awarenessStates (client) {
  const states = {}
  for (const [id, state] of client.provider.awareness.getStates()) states[id] = state
  return { clientId: client.doc.clientID, states }
}

const ops = {
  // Stock clients --------------------------------------------------------------------------
  async connect ({ name, room, token, params, timeoutMs = 10000 }) {
    const client = createClient(serverUrl, room, { token: token ?? name, params })
    clients.set(name, client)
    await waitSynced(client, timeoutMs)
    // What the client holds the moment it reports synced, before anything else arrives.
    return { json: json(client), ...awarenessStates(client) }
  },
  async edit ({ name, recipe, args = {} }) {
    const client = stock(name)
    const apply = RECIPES[recipe]
    if (!apply) throw new Error(`unknown recipe ${recipe}`)
    client.doc.transact(() => apply(client.doc, kindOf(client.room), args))
    return json(client)
  },
  async flood ({ name, id, count, size, start = 0 }) {
    // `count` updates of one `size`-character string each, under keys chunk-<start>.. of item
    // `id`'s data map. (Appending to one long Y.Text instead costs Yrs time that grows with the
    // text's length, on the server's event loop: that measures something else.)
    const client = stock(name)
    const data = itemData(client.doc, kindOf(client.room), id)
    for (let i = start; i < start + count; i++) {
      const chunk = String.fromCharCode(97 + (i % 26)).repeat(size)
      client.doc.transact(() => data.set(`chunk-${i}`, chunk))
    }
    return { keys: data.size }
  },
  async waitAcks ({ name, count, timeoutMs = 5000 }) {
    const client = stock(name)
    await waitFor(() => client.acks.length >= count, {
      timeoutMs, what: `${name} to receive ${count} acks`
    })
    return client.acks
  },
  async json ({ name }) {
    return json(stock(name))
  },
  async waitJSON ({ name, expected, timeoutMs = 5000 }) {
    const client = stock(name)
    const elapsedMs = await waitFor(() => sameJSON(json(client), expected), {
      timeoutMs, what: `${name} to hold ${JSON.stringify(expected).slice(0, 200)}`
    })
    return { elapsedMs }
  },
  async waitSize ({ name, path, size, timeoutMs = 10000 }) {
    // Wait until the Y type at `path` (a root map, then keys) has `size` entries or characters.
    // Cheaper than waitJSON for big documents: it walks the Y types and never builds JSON.
    const client = stock(name)
    const [root, ...rest] = path
    const read = () => {
      let value = client.doc.getMap(root)
      for (const key of rest) value = value?.get(key)
      return value?.size ?? value?.length
    }
    const elapsedMs = await waitFor(() => read() === size, {
      timeoutMs, what: `${name}: ${path.join('.')} to have size ${size}`
    })
    return { elapsedMs }
  },
  async setAwareness ({ name, state }) {
    stock(name).provider.awareness.setLocalState(state)
    return {}
  },
  async awareness ({ name }) {
    return awarenessStates(stock(name))
  },
  async waitAwareness ({ name, clientId, present, timeoutMs = 5000 }) {
    const states = stock(name).provider.awareness.getStates()
    const elapsedMs = await waitFor(() => states.has(clientId) === present, {
      timeoutMs, what: `${name} to see awareness ${clientId} ${present ? 'appear' : 'vanish'}`
    })
    return { elapsedMs }
  },
  async status ({ name }) {
    const { provider, closes, statuses, acks, terminal } = stock(name)
    return {
      synced: provider.synced,
      connected: provider.wsconnected,
      lastMessageReceived: provider.wsLastMessageReceived,
      closes,
      statuses,
      acks,
      terminal
    }
  },
  async disconnect ({ name }) {
    stock(name).provider.disconnect()
    return {}
  },
  async reconnect ({ name, timeoutMs = 10000 }) {
    const client = stock(name)
    client.provider.connect()
    await waitSynced(client, timeoutMs)
    return json(client)
  },
  async destroy ({ name }) {
    destroyClient(stock(name))
    clients.delete(name)
    return {}
  },

  // Raw sockets ----------------------------------------------------------------------------
  async rawOpen ({ name, room, token, ext, timeoutMs = 5000 }) {
    const socket = openRaw(serverUrl, room, { token: token ?? name, ext })
    raws.set(name, socket)
    await waitFor(() => socket.ws.readyState === socket.ws.OPEN || socket.close, {
      timeoutMs, what: `${name} to open`
    })
    return { open: socket.ws.readyState === socket.ws.OPEN }
  },
  async rawPause ({ name }) {
    // Stop reading from the TCP socket: the kernel buffers fill, then the server's queue does.
    raw(name).ws._socket.pause()
    return {}
  },
  async rawResume ({ name }) {
    raw(name).ws._socket.resume()
    return {}
  },
  async rawSend ({ name, hex: payload, text }) {
    const { ws } = raw(name)
    ws.send(text !== undefined ? text : fromHex(payload), { binary: text === undefined })
    return {}
  },
  async rawWaitClose ({ name, timeoutMs = 5000 }) {
    const socket = raw(name)
    const close = await waitRawClose(socket, timeoutMs)
    return { ...close, frames: socket.frames.length }
  },
  async rawAwareness ({ name }) {
    // Every awareness frame the socket received, decoded: [[{clientId, clock, state}, ...], ...]
    return raw(name).frames.filter((frame) => messageType(frame) === MESSAGE_AWARENESS)
      .map(decodeAwareness)
  },
  async rawWaitAwareness ({ name, clientId, state, timeoutMs = 5000 }) {
    // Wait until an awareness frame carried `state` for `clientId`.
    const socket = raw(name)
    const elapsedMs = await waitFor(() => socket.frames.some((frame) =>
      messageType(frame) === MESSAGE_AWARENESS &&
      decodeAwareness(frame).some((e) => e.clientId === clientId && sameJSON(e.state, state))
    ), { timeoutMs, what: `${name} to receive ${clientId}'s state ${JSON.stringify(state)}` })
    return { elapsedMs }
  },
  async rawFrames ({ name }) {
    return raw(name).frames.map((frame) => ({ type: messageType(frame), hex: hex(frame) }))
  }
}

function reply (message) {
  process.stdout.write(JSON.stringify(message) + '\n')
}

const lines = createInterface({ input: process.stdin })
lines.on('line', (line) => {
  let request
  try {
    request = JSON.parse(line)
  } catch {
    reply({ id: null, ok: false, error: `not JSON: ${line.slice(0, 100)}` })
    return
  }
  const { id, op, args = {} } = request
  const handler = ops[op]
  if (!handler) {
    reply({ id, ok: false, error: `unknown op ${op}` })
    return
  }
  // Requests run concurrently: a test can start a wait, act, then collect the answer.
  handler(args).then(
    (result) => reply({ id, ok: true, result }),
    (err) => reply({ id, ok: false, error: err?.stack ?? String(err) })
  )
})
// pytest closing our stdin (or dying) ends the agent.
lines.on('close', () => process.exit(0))
