// A lone stock client in an idle room must keep receiving messages (the server's keepalive)
// often enough that y-websocket's 30-second "no message received" watchdog never fires.
// Usage: node keepalive.mjs --server URL --room NAME --observe-ms 4000
import { scenario, connectSynced, delay } from './client.mjs'

scenario({ 'observe-ms': { type: 'string', default: '4000' } }, async (args) => {
  const client = await connectSynced(args.server, args.room, { token: 'lonely' })
  const arrivals = []
  client.provider.ws.addEventListener('message', () => arrivals.push(Date.now()))
  // Sample what the watchdog looks at: now - wsLastMessageReceived.
  const started = Date.now()
  const firstLastReceived = client.provider.wsLastMessageReceived
  let maxSilenceMs = 0
  const sampler = setInterval(() => {
    maxSilenceMs = Math.max(maxSilenceMs, Date.now() - client.provider.wsLastMessageReceived)
  }, 20)
  await delay(Number(args['observe-ms'])) // observing an idle room is the point: nothing to await
  clearInterval(sampler)
  return {
    observedMs: Date.now() - started,
    messages: arrivals.length,
    gapsMs: arrivals.slice(1).map((t, i) => t - arrivals[i]),
    firstGapMs: arrivals.length ? arrivals[0] - started : null,
    maxSilenceMs,
    lastReceivedAdvancedMs: client.provider.wsLastMessageReceived - firstLastReceived,
    closes: client.closes
  }
})
