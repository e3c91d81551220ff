/**
 * The node list side panel: every node of the flow, filterable, as a listbox. Only the rows in
 * view are in the DOM (fixed row height), so it stays fast for 1,000 nodes and more. Up and
 * down move through the list, Enter selects the node and centres the canvas on it.
 */
import { type FlowModel, type NodeModel } from './flow-model'
import { NODE_LABELS } from './schema'
import { h } from './ui'

const ROW = 34
const OVERSCAN = 8

export class NodeList {
  readonly element: HTMLElement
  private readonly scroller: HTMLElement
  private readonly spacer: HTMLElement
  private readonly rows: HTMLElement
  private readonly count: HTMLElement
  private items: NodeModel[] = []
  private filter = ''
  private active = 0
  private selected = new Set<string>()
  private frame = 0
  private stale = true
  private readonly stop: () => void

  constructor (private readonly model: FlowModel, private readonly onPick: (id: string) => void) {
    const input = h('input', { type: 'search', placeholder: 'Filter nodes', 'aria-label': 'Filter nodes', 'data-testid': 'node-filter' })
    input.addEventListener('input', () => {
      this.filter = input.value.trim().toLowerCase()
      this.stale = true
      this.active = 0
      this.schedule()
    })
    this.count = h('p', { className: 'list-count', 'aria-live': 'polite' })
    this.spacer = h('div', { className: 'vlist-spacer' })
    this.rows = h('div', { className: 'vlist-rows' })
    this.scroller = h('div', {
      className: 'vlist', tabindex: 0, role: 'listbox', 'aria-label': 'Nodes in this flow', 'data-testid': 'node-list'
    }, this.spacer, this.rows)
    this.scroller.addEventListener('scroll', () => this.schedule())
    this.scroller.addEventListener('keydown', (event) => this.onKey(event))
    this.scroller.addEventListener('click', (event) => {
      const row = (event.target as HTMLElement).closest<HTMLElement>('.vlist-row')
      if (row?.dataset.index !== undefined) {
        this.active = Number(row.dataset.index)
        this.pick()
      }
    })
    this.element = h('section', { className: 'node-list', 'aria-label': 'Node list' }, input, this.count, this.scroller)
    this.stop = model.onChange((changes) => {
      // Positions do not change the list; names and membership do.
      if (changes.structure || changes.nodes.size > 0) this.stale = true
      this.schedule()
    })
    this.schedule()
  }

  setSelection (ids: string[]): void {
    this.selected = new Set(ids)
    this.schedule()
  }

  private refreshItems (): void {
    const all = Array.from(this.model.nodes.values())
    const filtered = this.filter === ''
      ? all
      : all.filter((n) => n.summary.toLowerCase().includes(this.filter) || (n.type ?? '').includes(this.filter))
    const order = (n: NodeModel): number => n.type === 'entry' ? 0 : 1
    this.items = filtered.sort((a, b) => order(a) - order(b) || a.summary.localeCompare(b.summary, undefined, { numeric: true }) || a.id.localeCompare(b.id))
    this.active = Math.min(this.active, Math.max(0, this.items.length - 1))
    this.stale = false
  }

  private schedule (): void {
    if (this.frame === 0) {
      this.frame = requestAnimationFrame(() => {
        this.frame = 0
        this.render()
      })
    }
  }

  private render (): void {
    if (this.stale) this.refreshItems()
    this.count.textContent = `${this.items.length} node${this.items.length === 1 ? '' : 's'}`
    this.spacer.style.height = `${this.items.length * ROW}px`
    const height = this.scroller.clientHeight || 400
    const first = Math.max(0, Math.floor(this.scroller.scrollTop / ROW) - OVERSCAN)
    const last = Math.min(this.items.length, Math.ceil((this.scroller.scrollTop + height) / ROW) + OVERSCAN)
    const rows: HTMLElement[] = []
    for (let i = first; i < last; i++) {
      const n = this.items[i]
      const kind = n.type === null ? 'Unknown' : NODE_LABELS[n.type]
      rows.push(h('div', {
        className: `vlist-row${i === this.active ? ' active' : ''}${this.selected.has(n.id) ? ' selected' : ''}`,
        role: 'option',
        id: `node-option-${i}`,
        'aria-selected': String(this.selected.has(n.id)),
        'aria-setsize': this.items.length,
        'aria-posinset': i + 1,
        'data-index': i,
        'data-id': n.id,
        style: `transform:translateY(${i * ROW}px);height:${ROW}px`
      }, h('span', { className: `type-chip chip-${n.type ?? 'unknown'}` }, kind), h('span', { className: 'row-text' }, n.summary || '—')))
    }
    this.rows.replaceChildren(...rows)
    if (this.items.length > 0) this.scroller.setAttribute('aria-activedescendant', `node-option-${this.active}`)
    else this.scroller.removeAttribute('aria-activedescendant')
  }

  private onKey (event: KeyboardEvent): void {
    const moves: Record<string, number> = { ArrowDown: 1, ArrowUp: -1, PageDown: 10, PageUp: -10 }
    if (event.key in moves) {
      event.preventDefault()
      this.active = Math.max(0, Math.min(this.items.length - 1, this.active + moves[event.key]))
      const top = this.active * ROW
      if (top < this.scroller.scrollTop) this.scroller.scrollTop = top
      else if (top + ROW > this.scroller.scrollTop + this.scroller.clientHeight) this.scroller.scrollTop = top + ROW - this.scroller.clientHeight
      this.schedule()
    } else if (event.key === 'Home' || event.key === 'End') {
      event.preventDefault()
      this.active = event.key === 'Home' ? 0 : Math.max(0, this.items.length - 1)
      this.scroller.scrollTop = this.active * ROW
      this.schedule()
    } else if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault()
      this.pick()
    }
  }

  private pick (): void {
    const item = this.items[this.active]
    if (item !== undefined) this.onPick(item.id)
    this.schedule()
  }

  destroy (): void {
    cancelAnimationFrame(this.frame)
    this.stop()
    this.element.remove()
  }
}
