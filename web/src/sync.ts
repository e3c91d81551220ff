/**
 * One open document: a Y.Doc synced by the stock y-websocket provider, with the server's durable
 * acknowledgement (`ext=ack`, message type 100, docs/protocol.md) turned into a "saved" state.
 *
 * When is everything saved? An ack means "every update this connection sent before the commit
 * it closes is durable", but acks do not name updates, and while one commit is in flight the
 * next updates wait for the next commit, so "an ack arrived after my last send" proves nothing.
 * So after local edits the client sends a probe: an empty update, which the server acknowledges
 * only once every change it observed before the probe is committed. A probe's ack is recognised
 * by its sequence number: an ack for a commit holding our changes always carries a higher seq
 * than the previous ack on the connection, so an ack repeating the previous seq can only answer
 * a no-op, that is a probe. Such an ack covers at least the oldest outstanding probe. An ack
 * that is not recognisable (a probe merged into a commit's ack, or other people's commits in
 * between) leads to another probe, a little later. "Saved" is shown only when a recognised ack
 * covers the last local change; it may lag, it is never early.
 *
 * Probes wait for a pause in local edits (a drag or a burst of typing sends one at its end), and
 * every ack that leaves something unconfirmed sends at most one more, so the queue stays short
 * and drains in a few round trips once the room is quiet.
 */
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import * as decoding from 'lib0/decoding'
import type { Awareness } from 'y-protocols/awareness'

export const MESSAGE_ACK = 100
// [messageSync, messageYjsUpdate, varbytes(empty Yjs v1 update = 0 structs, 0 deletes)]
const PROBE = new Uint8Array([0, 2, 2, 0, 0])
const PROBE_DELAY_MS = 150 // after the last local edit
const RECOGNISED_DELAY_MS = 20
const REPROBE_DELAY_MS = 200

export type LinkState =
  | 'connecting' | 'online' | 'offline' | 'retrying' | 'signed-out' | 'forbidden' | 'not-found' | 'refused'

export interface SyncStatus {
  link: LinkState
  synced: boolean
  saved: boolean
  message: string | null
  closeCode: number | null
  acks: number
  seq: number | null
}

const TERMINAL: Record<number, [LinkState, string]> = {
  4401: ['signed-out', 'Your sign-in was not accepted or has expired. Sign in again to keep editing.'],
  4403: ['forbidden', 'Your access to this project was removed. Your unsaved changes stay on this page only.'],
  4404: ['not-found', 'This document does not exist, or you may not create it.'],
  4400: ['refused', 'The server refused a change from this page. Reload the page to continue.'],
  4413: ['refused', 'A change was too large for the server. Reload the page to continue.'],
  4429: ['refused', 'Too many changes too quickly: the server paused this page. Reload the page to continue.']
}

const TRANSIENT: Record<number, string> = {
  1013: 'The server is busy or its storage is unavailable. Retrying…',
  1012: 'The server is restarting. Reconnecting…',
  1011: 'The server hit an error. Reconnecting…'
}

export function wsBase (): string {
  return location.origin.replace(/^http/, 'ws') + '/sync'
}

export class DocSession {
  readonly doc = new Y.Doc()
  readonly provider: WebsocketProvider
  readonly awareness: Awareness
  private localGen = 0
  private ackedGen = 0
  private probes: number[] = [] // the local generation each outstanding probe covers
  private lastAckSeq: number | null = null
  private probeTimer: ReturnType<typeof setTimeout> | null = null
  private status: SyncStatus = {
    link: 'connecting', synced: false, saved: true, message: null, closeCode: null, acks: 0, seq: null
  }

  private readonly listeners = new Set<(status: SyncStatus) => void>()
  private readonly cleanups: Array<() => void> = []

  constructor (readonly room: string, token: string) {
    this.provider = new WebsocketProvider(wsBase(), room, this.doc, {
      params: { token, ext: 'ack' },
      // Tabs of one browser must not sync behind the server's back: "saved" means the server has it.
      disableBc: true
    })
    this.awareness = this.provider.awareness
    this.provider.messageHandlers[MESSAGE_ACK] = (_encoder, decoder) => {
      this.onAck(decoding.readVarUint(decoder))
    }
    const onUpdate = (_update: Uint8Array, origin: unknown): void => {
      if (origin === this.provider) return
      this.localGen++
      this.scheduleProbe(PROBE_DELAY_MS, true)
      this.refresh()
    }
    this.doc.on('update', onUpdate)
    this.cleanups.push(() => this.doc.off('update', onUpdate))

    this.provider.on('status', ({ status }) => {
      if (status === 'connecting' && this.status.link === 'online') this.set({ link: 'connecting' })
      if (status === 'disconnected') {
        // `connection-close` (emitted just before) already named a retry or a refusal: keep it.
        const link = !navigator.onLine ? 'offline' : this.status.link === 'online' ? 'connecting' : this.status.link
        this.set({ link, synced: false })
      }
    })
    this.provider.on('sync', (synced: boolean) => {
      if (synced) {
        this.set({ link: 'online', synced: true, message: null, closeCode: null })
        this.scheduleProbe(0)
      }
    })
    this.provider.on('connection-close', (event) => {
      // A new connection starts a new ack stream.
      this.probes = []
      this.lastAckSeq = null
      if (event === null) return
      const code = event.code
      const terminal = TERMINAL[code]
      if (terminal !== undefined) {
        this.set({ link: terminal[0], message: terminal[1], closeCode: code, synced: false })
      } else if (TRANSIENT[code] !== undefined) {
        this.set({ link: 'retrying', message: TRANSIENT[code], closeCode: code, synced: false })
      } else if (!navigator.onLine) {
        this.set({ link: 'offline', synced: false })
      } else {
        this.set({ link: 'connecting', closeCode: code, synced: false })
      }
    })
    // Browsers keep a dead socket open for a while after the network goes: follow the
    // browser's own online state, so offline edits are kept and sent on the next connection.
    const offline = (): void => {
      this.provider.disconnect()
      this.set({ link: 'offline', synced: false })
    }
    const online = (): void => {
      if (!this.isTerminal()) {
        this.set({ link: 'connecting' })
        this.provider.connect()
      }
    }
    window.addEventListener('offline', offline)
    window.addEventListener('online', online)
    this.cleanups.push(() => {
      window.removeEventListener('offline', offline)
      window.removeEventListener('online', online)
    })
    if (!navigator.onLine) offline()
  }

  private isTerminal (): boolean {
    return this.status.closeCode !== null && TERMINAL[this.status.closeCode] !== undefined
  }

  /** Try again after a terminal close (after signing in again, for example). */
  reconnect (token?: string): void {
    if (token !== undefined) this.provider.params = { token, ext: 'ack' }
    this.set({ link: 'connecting', message: null, closeCode: null })
    this.provider.disconnect()
    this.provider.connect()
  }

  private onAck (seq: number): void {
    const recognised = this.lastAckSeq !== null && seq === this.lastAckSeq
    this.lastAckSeq = seq
    if (recognised && this.probes.length > 0) {
      const covered = this.probes.shift() as number
      this.ackedGen = Math.max(this.ackedGen, covered)
      this.probes = this.probes.filter((gen) => gen > this.ackedGen)
    }
    this.status.acks++
    this.status.seq = seq
    if (this.localGen > this.ackedGen) this.scheduleProbe(recognised ? RECOGNISED_DELAY_MS : REPROBE_DELAY_MS)
    this.refresh()
  }

  /** `restart`: push the probe back (edits still coming); otherwise keep an earlier timer. */
  private scheduleProbe (delay: number, restart = false): void {
    if (this.probeTimer !== null) {
      if (!restart) return
      clearTimeout(this.probeTimer)
    }
    this.probeTimer = setTimeout(() => {
      this.probeTimer = null
      this.sendProbe()
    }, delay)
  }

  private sendProbe (): void {
    const ws = this.provider.ws
    if (ws === null || !this.provider.wsconnected || !this.provider.synced || ws.readyState !== WebSocket.OPEN) return
    if (this.localGen <= this.ackedGen) return
    // Sent after y-websocket sent every local update (it sends synchronously on each update,
    // and the offline ones in its step 2 before `sync`), so an ack of it covers them all.
    ws.send(PROBE)
    this.probes.push(this.localGen)
  }

  private refresh (): void {
    this.set({ saved: this.localGen <= this.ackedGen })
  }

  private set (patch: Partial<SyncStatus>): void {
    this.status = { ...this.status, ...patch }
    for (const listener of this.listeners) listener(this.status)
  }

  get current (): SyncStatus {
    return this.status
  }

  onStatus (listener: (status: SyncStatus) => void): () => void {
    this.listeners.add(listener)
    listener(this.status)
    return () => this.listeners.delete(listener)
  }

  /** Resolves once the first sync is done (or rejects when the connection is refused for good). */
  whenSynced (): Promise<void> {
    return new Promise((resolve, reject) => {
      const stop = this.onStatus((status) => {
        if (status.synced) {
          queueMicrotask(() => stop())
          resolve()
        } else if (this.isTerminal()) {
          queueMicrotask(() => stop())
          reject(new Error(status.message ?? 'connection refused'))
        }
      })
    })
  }

  destroy (): void {
    if (this.probeTimer !== null) clearTimeout(this.probeTimer)
    for (const cleanup of this.cleanups) cleanup()
    this.listeners.clear()
    this.provider.destroy()
    this.awareness.destroy()
    this.doc.destroy()
  }
}
