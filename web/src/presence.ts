/**
 * Presence through Yjs awareness: who is in the document (name and colour), which nodes each
 * person has selected, and where their pointer is on the canvas. Awareness is ephemeral: the
 * server relays it at once and never stores it (docs/protocol.md "Awareness").
 *
 * Local state fields: `user` {name, color} (also what y-prosemirror's remote carets read),
 * `selection` (node ids), `pointer` ({x, y} in canvas coordinates, or null).
 */
import type { Awareness } from 'y-protocols/awareness'
import { h } from './ui'

export interface Peer {
  clientId: number
  name: string
  color: string
  selection: string[]
  pointer: { x: number, y: number } | null
}

const POINTER_INTERVAL_MS = 50 // the server allows 60 awareness messages a second

export class Presence {
  private pointerTimer: ReturnType<typeof setTimeout> | null = null
  private pendingPointer: { x: number, y: number } | null | undefined = undefined
  private readonly listeners = new Set<() => void>()
  private readonly onAwareness = (): void => { for (const l of this.listeners) l() }

  constructor (readonly awareness: Awareness, readonly name: string, readonly color: string) {
    awareness.setLocalStateField('user', { name, color })
    awareness.setLocalStateField('selection', [])
    awareness.setLocalStateField('pointer', null)
    awareness.on('change', this.onAwareness)
  }

  setSelection (ids: string[]): void {
    this.awareness.setLocalStateField('selection', ids)
  }

  setPointer (pointer: { x: number, y: number } | null): void {
    this.pendingPointer = pointer
    if (this.pointerTimer !== null) return
    this.pointerTimer = setTimeout(() => {
      this.pointerTimer = null
      if (this.pendingPointer !== undefined) {
        this.awareness.setLocalStateField('pointer', this.pendingPointer)
        this.pendingPointer = undefined
      }
    }, POINTER_INTERVAL_MS)
  }

  /** Everyone else in the document, ordered by name. */
  peers (): Peer[] {
    const out: Peer[] = []
    for (const [clientId, state] of this.awareness.getStates()) {
      if (clientId === this.awareness.clientID) continue
      const user = state.user as { name?: unknown, color?: unknown } | undefined
      if (user === undefined || typeof user.name !== 'string') continue
      const selection = Array.isArray(state.selection) ? state.selection.filter((s: unknown) => typeof s === 'string') : []
      const p = state.pointer as { x?: unknown, y?: unknown } | null | undefined
      out.push({
        clientId,
        name: user.name,
        color: typeof user.color === 'string' ? user.color : '#334155',
        selection,
        pointer: p != null && typeof p.x === 'number' && typeof p.y === 'number' ? { x: p.x, y: p.y } : null
      })
    }
    return out.sort((a, b) => a.name.localeCompare(b.name) || a.clientId - b.clientId)
  }

  onChange (listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** The "who is here" list for the header; keeps itself up to date until destroyed. */
  mountList (host: HTMLElement): () => void {
    const list = h('ul', { className: 'presence', 'aria-label': 'People in this document' })
    host.replaceChildren(list)
    const render = (): void => {
      const people = [{ name: this.name, color: this.color, clientId: -1, you: true },
        ...this.peers().map((p) => ({ ...p, you: false }))]
      list.replaceChildren(...people.map((p) => h('li', {
        className: 'avatar',
        style: `background:${p.color}`,
        title: p.you ? `${p.name} (you)` : p.name,
        'data-name': p.name
      }, h('span', { 'aria-hidden': 'true' }, initials(p.name)),
      h('span', { className: 'sr-only' }, p.you ? `${p.name} (you)` : p.name))))
    }
    render()
    const stop = this.onChange(render)
    return () => {
      stop()
      list.remove()
    }
  }

  destroy (): void {
    if (this.pointerTimer !== null) clearTimeout(this.pointerTimer)
    this.awareness.off('change', this.onAwareness)
    this.listeners.clear()
  }
}

export function initials (name: string): string {
  const parts = name.split(/[\s._@-]+/).filter(Boolean)
  const letters = parts.length > 1 ? parts[0][0] + parts[1][0] : name.slice(0, 2)
  return letters.toUpperCase()
}
