/**
 * The ops page (for admins): rooms and clients across the cluster, per instance, from
 * GET /api/v1/ops/rooms, refreshed every few seconds.
 */
import { errorPanel, h, skeleton } from './ui'
import { errorOf } from './api'

const REFRESH_MS = 3000

interface OpsRoom {
  room: string
  connections: number
  instances: Record<string, number>
}

interface OpsView {
  version: string
  instances: Record<string, { rooms: number, connections: number }>
  rooms: OpsRoom[]
}

const ERRORS: Record<number, string> = {
  401: 'The server did not accept your sign-in. Sign in again.',
  403: 'This page is for operators. Ask an admin to add you to STORYARN_ADMIN_USERS.',
  503: 'The server cannot reach its storage right now.'
}

export class OpsPage {
  readonly element: HTMLElement
  private readonly body: HTMLElement
  private readonly updated: HTMLElement
  private timer: ReturnType<typeof setTimeout> | null = null
  private controller: AbortController | null = null
  private destroyed = false
  private loaded = false

  constructor (private readonly token: string) {
    this.body = h('div', { className: 'ops-body' }, skeleton(4))
    this.updated = h('p', { className: 'muted', 'aria-live': 'polite', 'data-testid': 'ops-updated' })
    this.element = h('section', { className: 'ops', 'aria-labelledby': 'ops-title' },
      h('div', { className: 'ops-heading' }, h('h1', { id: 'ops-title' }, 'Rooms across the cluster'), this.updated),
      this.body)
    void this.refresh()
  }

  private async refresh (): Promise<void> {
    if (this.destroyed) return
    this.controller = new AbortController()
    try {
      const response = await fetch('/api/v1/ops/rooms', {
        headers: { Authorization: `Bearer ${this.token}` },
        signal: this.controller.signal
      })
      if (!response.ok) {
        let detail = ''
        // Both error shapes: {"error": "message"} and {"error": {"code", "message"}} (api.ts).
        try {
          const message = errorOf(await response.json(), response.status).message
          if (message !== `HTTP ${response.status}`) detail = message
        } catch { /* not JSON */ }
        throw new Error(ERRORS[response.status] ?? `The server answered ${response.status}${detail ? `: ${detail}` : ''}.`)
      }
      this.show(await response.json() as OpsView)
      this.updated.textContent = `Updated ${new Date().toLocaleTimeString()}; refreshes every ${REFRESH_MS / 1000} s.`
      this.schedule()
    } catch (error) {
      if (this.destroyed) return
      const message = error instanceof TypeError ? 'The server cannot be reached. Check your connection.' : (error as Error).message
      if (!this.loaded) this.body.replaceChildren(errorPanel(message, () => { this.body.replaceChildren(skeleton(4)); void this.refresh() }))
      else this.updated.textContent = `${message} Retrying…`
      if (this.loaded) this.schedule()
    }
  }

  private schedule (): void {
    if (this.destroyed) return
    this.timer = setTimeout(() => void this.refresh(), REFRESH_MS)
  }

  private show (view: OpsView): void {
    this.loaded = true
    const instances = Object.entries(view.instances)
    const instanceTable = h('table', { className: 'data', 'data-testid': 'ops-instances' },
      h('caption', {}, `Instances (${instances.length}) — server ${view.version}`),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Instance'), h('th', { scope: 'col' }, 'Rooms'), h('th', { scope: 'col' }, 'Clients'))),
      h('tbody', {}, ...instances.map(([name, s]) => h('tr', {}, h('th', { scope: 'row' }, name), h('td', {}, String(s.rooms)), h('td', {}, String(s.connections))))))
    const roomTable = view.rooms.length === 0
      ? h('p', { className: 'muted' }, 'No rooms are open.')
      : h('table', { className: 'data', 'data-testid': 'ops-rooms' },
        h('caption', {}, `Open rooms (${view.rooms.length})`),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Room'), h('th', { scope: 'col' }, 'Clients'), h('th', { scope: 'col' }, 'Per instance'))),
        h('tbody', {}, ...view.rooms.map((r) => h('tr', { 'data-room': r.room },
          h('th', { scope: 'row' }, r.room),
          h('td', {}, String(r.connections)),
          h('td', {}, Object.entries(r.instances).map(([i, n]) => `${i}: ${n}`).join(', '))))))
    this.body.replaceChildren(instanceTable, roomTable)
  }

  destroy (): void {
    this.destroyed = true
    if (this.timer !== null) clearTimeout(this.timer)
    this.controller?.abort()
    this.element.remove()
  }
}
