/**
 * The flow canvas: nodes as positioned boxes with their pins, connections as curves, drag to
 * move, drag (or click, then click) from an output pin to an input pin to connect, zoom and pan,
 * other people's pointers and selections. Only what is in view is in the DOM, so a 1,000-node
 * flow pans smoothly. Every change to the document goes through `edit`, whose origin the
 * flow's UndoManager tracks, so undo only ever undoes one's own changes.
 */
import { type FlowRoots, NODE_LABELS, connectProblem, newConnection, newId, removeNode } from './schema'
import {
  type FlowModel, type NodeModel, HEADER_H, NODE_WIDTH, ROW_H, BODY_H, inputPoint, nodeHeight, nodeTitle, outputPoint
} from './flow-model'
import type { Presence } from './presence'
import { h, notify } from './ui'

const SVG = 'http://www.w3.org/2000/svg'
const CULL_MARGIN = 300
const MIN_ZOOM = 0.2
const MAX_ZOOM = 2.5

export interface CanvasOptions {
  edit: (fn: () => void) => void
  onSelectionChange: (ids: string[]) => void
  readOnly?: boolean
}

interface Drag {
  kind: 'nodes' | 'pan'
  startX: number
  startY: number
  origin: Map<string, { x: number, y: number }>
  view: { x: number, y: number }
  moved: boolean
}

export class FlowCanvas {
  readonly element: HTMLElement
  private readonly world: HTMLElement
  private readonly nodeLayer: HTMLElement
  private readonly cursorLayer: HTMLElement
  private readonly edgeLayer: SVGSVGElement
  private readonly tempEdge: SVGPathElement
  private readonly nodeEls = new Map<string, HTMLElement>()
  private readonly edgeEls = new Map<string, SVGGElement>()
  private readonly dirty = new Set<string>()
  private view = { x: 80, y: 80, zoom: 1 }
  private frame = 0
  private drag: Drag | null = null
  private pendingPin: { node: string, pin: string } | null = null
  private selection = new Set<string>()
  private selectedEdge: string | null = null
  private remoteSelection = new Map<string, string>() // node id -> colour of the first peer selecting it
  private readonly cleanups: Array<() => void> = []

  constructor (private readonly roots: FlowRoots, private readonly model: FlowModel, private readonly presence: Presence, private readonly options: CanvasOptions) {
    this.edgeLayer = document.createElementNS(SVG, 'svg')
    this.edgeLayer.classList.add('edges')
    this.edgeLayer.setAttribute('aria-hidden', 'true')
    this.tempEdge = document.createElementNS(SVG, 'path')
    this.tempEdge.classList.add('edge-temp')
    this.edgeLayer.append(this.tempEdge)
    this.nodeLayer = h('div', { className: 'node-layer' })
    this.cursorLayer = h('div', { className: 'cursor-layer', 'aria-hidden': 'true' })
    this.world = h('div', { className: 'world' })
    this.world.append(this.edgeLayer, this.nodeLayer, this.cursorLayer)
    this.element = h('div', {
      className: 'canvas',
      tabindex: 0,
      role: 'region',
      'aria-label': options.readOnly === true
        ? 'Flow canvas, view only. Arrow keys pan; plus and minus zoom; Tab selects nodes.'
        : 'Flow canvas. Arrow keys move the selected nodes, or pan when none is selected; plus and minus zoom; Delete removes the selection.',
      'data-testid': 'canvas'
    }, this.world)
    this.listen()
    this.cleanups.push(model.onChange((changes) => {
      for (const id of changes.nodes) this.dirty.add(id)
      for (const id of this.selection) {
        if (!model.nodes.has(id)) this.selection.delete(id)
      }
      this.schedule()
    }))
    this.cleanups.push(presence.onChange(() => this.renderPresence()))
    for (const id of model.nodes.keys()) this.dirty.add(id)
    const resize = new ResizeObserver(() => this.schedule())
    resize.observe(this.element)
    this.cleanups.push(() => resize.disconnect())
    this.schedule()
  }

  // -- public API --------------------------------------------------------------------------

  get selected (): string[] {
    return Array.from(this.selection)
  }

  select (ids: string[], focus = false): void {
    const before = new Set(this.selection)
    this.selection = new Set(ids.filter((id) => this.model.nodes.has(id)))
    for (const id of before) this.dirty.add(id)
    for (const id of this.selection) this.dirty.add(id)
    this.selectedEdge = null
    this.options.onSelectionChange(this.selected)
    this.presence.setSelection(this.selected)
    this.schedule()
    if (focus && ids.length === 1) {
      this.render()
      this.nodeEls.get(ids[0])?.focus({ preventScroll: true })
    }
  }

  /** The world coordinates at the middle of the visible canvas. */
  center (): { x: number, y: number } {
    const rect = this.element.getBoundingClientRect()
    return { x: (rect.width / 2 - this.view.x) / this.view.zoom, y: (rect.height / 2 - this.view.y) / this.view.zoom }
  }

  centerOn (id: string): void {
    const node = this.model.nodes.get(id)
    if (node === undefined) return
    const rect = this.element.getBoundingClientRect()
    this.view.x = rect.width / 2 - (node.x + NODE_WIDTH / 2) * this.view.zoom
    this.view.y = rect.height / 2 - (node.y + nodeHeight(node) / 2) * this.view.zoom
    this.schedule()
  }

  zoomBy (factor: number, at?: { x: number, y: number }): void {
    const rect = this.element.getBoundingClientRect()
    const px = at?.x ?? rect.width / 2; const py = at?.y ?? rect.height / 2
    const zoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, this.view.zoom * factor))
    const wx = (px - this.view.x) / this.view.zoom; const wy = (py - this.view.y) / this.view.zoom
    this.view = { x: px - wx * zoom, y: py - wy * zoom, zoom }
    this.schedule()
  }

  /** Fit every node in view. */
  fit (): void {
    if (this.model.nodes.size === 0) return
    let minX = Infinity; let minY = Infinity; let maxX = -Infinity; let maxY = -Infinity
    for (const n of this.model.nodes.values()) {
      minX = Math.min(minX, n.x); minY = Math.min(minY, n.y)
      maxX = Math.max(maxX, n.x + NODE_WIDTH); maxY = Math.max(maxY, n.y + nodeHeight(n))
    }
    const rect = this.element.getBoundingClientRect()
    const zoom = Math.min(1, Math.max(MIN_ZOOM, Math.min((rect.width - 80) / (maxX - minX || 1), (rect.height - 80) / (maxY - minY || 1))))
    this.view = { zoom, x: 40 - minX * zoom + ((rect.width - 80) - (maxX - minX) * zoom) / 2, y: 40 - minY * zoom }
    this.schedule()
  }

  get zoom (): number {
    return this.view.zoom
  }

  deleteSelection (): void {
    if (this.options.readOnly === true) return
    if (this.selectedEdge !== null) {
      const id = this.selectedEdge
      this.selectedEdge = null
      this.options.edit(() => this.roots.connections.delete(id))
      return
    }
    const ids = this.selected
    if (ids.length === 0) return
    let keptEntry = false
    this.options.edit(() => {
      for (const id of ids) {
        if (!removeNode(this.roots, id)) keptEntry = true
      }
    })
    if (keptEntry) notify('The entry node stays: every flow starts there.')
    this.select([])
  }

  connect (source: string, sourcePin: string, target: string): boolean {
    if (this.options.readOnly === true) return false
    const problem = connectProblem(this.roots, source, sourcePin, target)
    if (problem !== null) {
      notify(problem, 'error')
      return false
    }
    this.options.edit(() => this.roots.connections.set(newId(), newConnection(source, sourcePin, target)))
    return true
  }

  moveSelection (dx: number, dy: number): void {
    if (this.options.readOnly === true) return
    const ids = this.selected
    this.options.edit(() => {
      for (const id of ids) {
        const node = this.roots.nodes.get(id)
        const x = node?.get('x'); const y = node?.get('y')
        if (node !== undefined && typeof x === 'number' && typeof y === 'number') {
          node.set('x', Math.round(x + dx))
          node.set('y', Math.round(y + dy))
        }
      }
    })
  }

  destroy (): void {
    cancelAnimationFrame(this.frame)
    for (const cleanup of this.cleanups) cleanup()
    this.element.remove()
  }

  // -- input ---------------------------------------------------------------------------------

  private toWorld (event: { clientX: number, clientY: number }): { x: number, y: number } {
    const rect = this.element.getBoundingClientRect()
    return { x: (event.clientX - rect.left - this.view.x) / this.view.zoom, y: (event.clientY - rect.top - this.view.y) / this.view.zoom }
  }

  private listen (): void {
    const el = this.element
    el.addEventListener('pointerdown', (event) => this.onPointerDown(event))
    el.addEventListener('pointermove', (event) => {
      const p = this.toWorld(event)
      this.presence.setPointer({ x: Math.round(p.x), y: Math.round(p.y) })
      this.onPointerMove(event)
    })
    el.addEventListener('pointerup', (event) => this.onPointerUp(event))
    el.addEventListener('pointerleave', () => this.presence.setPointer(null))
    el.addEventListener('wheel', (event) => {
      event.preventDefault()
      const rect = el.getBoundingClientRect()
      if (event.ctrlKey || event.metaKey || Math.abs(event.deltaY) > Math.abs(event.deltaX) * 2) {
        this.zoomBy(Math.exp(-event.deltaY * 0.0015), { x: event.clientX - rect.left, y: event.clientY - rect.top })
      } else {
        this.view.x -= event.deltaX
        this.view.y -= event.deltaY
        this.schedule()
      }
    }, { passive: false })
    el.addEventListener('keydown', (event) => this.onKey(event))
    el.addEventListener('focusin', (event) => {
      const nodeEl = (event.target as HTMLElement).closest<HTMLElement>('.node')
      if (nodeEl?.dataset.id !== undefined && event.target === nodeEl && !this.selection.has(nodeEl.dataset.id)) {
        this.select([nodeEl.dataset.id])
      }
    })
  }

  private onPointerDown (event: PointerEvent): void {
    if (event.button !== 0) return
    const target = event.target as Element
    const pin = target.closest<HTMLElement>('.pin')
    const nodeEl = target.closest<HTMLElement>('.node')
    const edge = target.closest<SVGGElement>('.edge')
    if (pin !== null && nodeEl !== null) {
      event.preventDefault()
      this.onPin(nodeEl.dataset.id ?? '', pin)
      return
    }
    if (edge !== null) {
      this.selectedEdge = edge.dataset.id ?? null
      this.select([])
      this.selectedEdge = edge.dataset.id ?? null
      this.renderEdges()
      this.element.focus({ preventScroll: true })
      return
    }
    this.clearPending()
    if (nodeEl !== null) {
      const id = nodeEl.dataset.id ?? ''
      if (event.shiftKey) {
        const next = new Set(this.selection)
        if (next.has(id)) next.delete(id)
        else next.add(id)
        this.select(Array.from(next))
      } else if (!this.selection.has(id)) {
        this.select([id])
      }
      if ((target as HTMLElement).closest('button, input, textarea') !== null) return
      const origin = new Map<string, { x: number, y: number }>()
      for (const sel of this.selection) {
        const n = this.model.nodes.get(sel)
        if (n !== undefined) origin.set(sel, { x: n.x, y: n.y })
      }
      this.drag = { kind: 'nodes', startX: event.clientX, startY: event.clientY, origin, view: { ...this.view }, moved: false }
    } else {
      if (!event.shiftKey) this.select([])
      this.drag = { kind: 'pan', startX: event.clientX, startY: event.clientY, origin: new Map(), view: { ...this.view }, moved: false }
      this.element.focus({ preventScroll: true })
    }
    this.element.setPointerCapture(event.pointerId)
  }

  private onPointerMove (event: PointerEvent): void {
    if (this.pendingPin !== null) {
      const source = this.model.nodes.get(this.pendingPin.node)
      const from = source === undefined ? null : outputPoint(source, this.pendingPin.pin)
      if (from !== null) {
        const to = this.toWorld(event)
        this.tempEdge.setAttribute('d', curve(from, to))
      }
    }
    const drag = this.drag
    if (drag === null) return
    const dx = event.clientX - drag.startX; const dy = event.clientY - drag.startY
    if (!drag.moved && Math.hypot(dx, dy) < 3) return
    drag.moved = true
    if (drag.kind === 'pan') {
      this.view.x = drag.view.x + dx
      this.view.y = drag.view.y + dy
      this.schedule()
      return
    }
    if (this.options.readOnly === true) return
    const zx = dx / this.view.zoom; const zy = dy / this.view.zoom
    this.options.edit(() => {
      for (const [id, start] of drag.origin) {
        const node = this.roots.nodes.get(id)
        if (node === undefined) continue
        node.set('x', Math.round(start.x + zx))
        node.set('y', Math.round(start.y + zy))
      }
    })
  }

  private onPointerUp (event: PointerEvent): void {
    if (this.drag !== null && this.element.hasPointerCapture(event.pointerId)) this.element.releasePointerCapture(event.pointerId)
    this.drag = null
    if (this.pendingPin !== null) {
      const under = document.elementFromPoint(event.clientX, event.clientY)
      const pin = under?.closest<HTMLElement>('.pin-in')
      const nodeEl = under?.closest<HTMLElement>('.node')
      if (pin != null && nodeEl != null && nodeEl.dataset.id !== this.pendingPin.node) {
        this.onPin(nodeEl.dataset.id ?? '', pin)
      }
    }
  }

  /** A pin was pressed: an output starts (or restarts) a connection, an input completes it. */
  private onPin (nodeId: string, pin: HTMLElement): void {
    if (this.options.readOnly === true) return
    const name = pin.dataset.pin ?? ''
    if (pin.classList.contains('pin-out')) {
      this.clearPending()
      this.pendingPin = { node: nodeId, pin: name }
      pin.classList.add('pending')
      pin.setAttribute('aria-pressed', 'true')
      this.element.classList.add('connecting')
      return
    }
    if (this.pendingPin !== null) {
      const { node, pin: sourcePin } = this.pendingPin
      this.clearPending()
      this.connect(node, sourcePin, nodeId)
    }
  }

  private clearPending (): void {
    this.pendingPin = null
    this.tempEdge.setAttribute('d', '')
    this.element.classList.remove('connecting')
    for (const el of this.element.querySelectorAll('.pin.pending')) {
      el.classList.remove('pending')
      el.setAttribute('aria-pressed', 'false')
    }
  }

  private onKey (event: KeyboardEvent): void {
    const target = event.target as HTMLElement
    if (target.closest('input, textarea, [contenteditable="true"]') !== null) return
    const step = event.shiftKey ? 50 : 10
    const arrows: Record<string, [number, number]> = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] }
    if (event.key in arrows) {
      event.preventDefault()
      const [dx, dy] = arrows[event.key]
      if (this.selection.size > 0 && this.options.readOnly !== true) {
        this.moveSelection(dx, dy)
      } else {
        this.view.x -= dx * 2
        this.view.y -= dy * 2
        this.schedule()
      }
    } else if (event.key === 'Delete' || event.key === 'Backspace') {
      event.preventDefault()
      this.deleteSelection()
    } else if (event.key === '+' || event.key === '=') {
      this.zoomBy(1.2)
    } else if (event.key === '-') {
      this.zoomBy(1 / 1.2)
    } else if (event.key === 'Escape') {
      if (this.pendingPin !== null) this.clearPending()
      else this.select([])
    } else if (event.key.toLowerCase() === 'c' && !event.ctrlKey && !event.metaKey && !event.altKey && this.selection.size === 1 && this.options.readOnly !== true) {
      // Keyboard connecting: C starts from the selected node's first output (C again: the next
      // one); then focus the target node (Tab) and press Enter.
      const node = this.model.nodes.get(this.selected[0])
      if (node === undefined || node.outputs.length === 0) return
      const current = this.pendingPin?.node === node.id ? node.outputs.findIndex((p) => p.pin === this.pendingPin?.pin) : -1
      const pin = node.outputs[(current + 1) % node.outputs.length]
      this.clearPending()
      this.pendingPin = { node: node.id, pin: pin.pin }
      this.element.classList.add('connecting')
      this.nodeEls.get(node.id)?.querySelector(`.pin-out[data-pin="${CSS.escape(pin.pin)}"]`)?.classList.add('pending')
      notify(`Connecting from “${pin.label}”: focus the target node and press Enter. Escape cancels.`)
    } else if (event.key === 'Enter' && this.pendingPin !== null && target.classList.contains('node')) {
      event.preventDefault()
      const { node, pin } = this.pendingPin
      this.clearPending()
      if (target.dataset.id !== undefined && target.dataset.id !== node) this.connect(node, pin, target.dataset.id)
    }
  }

  // -- rendering -----------------------------------------------------------------------------

  private schedule (): void {
    if (this.frame === 0) {
      this.frame = requestAnimationFrame(() => {
        this.frame = 0
        this.render()
      })
    }
  }

  /** Bring the DOM up to date now (also used by tests through the next animation frame). */
  render (): void {
    this.world.style.transform = `translate(${this.view.x}px, ${this.view.y}px) scale(${this.view.zoom})`
    this.element.dataset.zoom = this.view.zoom.toFixed(2)
    const rect = this.element.getBoundingClientRect()
    const left = -this.view.x / this.view.zoom - CULL_MARGIN
    const top = -this.view.y / this.view.zoom - CULL_MARGIN
    const right = left + rect.width / this.view.zoom + 2 * CULL_MARGIN
    const bottom = top + rect.height / this.view.zoom + 2 * CULL_MARGIN
    for (const [id, el] of this.nodeEls) {
      if (!this.model.nodes.has(id)) {
        el.remove()
        this.nodeEls.delete(id)
      }
    }
    for (const node of this.model.nodes.values()) {
      const visible = node.x + NODE_WIDTH >= left && node.x <= right && node.y + nodeHeight(node) >= top && node.y <= bottom
      const el = this.nodeEls.get(node.id)
      if (visible && el === undefined) {
        const created = this.createNode(node)
        this.nodeEls.set(node.id, created)
        this.nodeLayer.append(created)
      } else if (visible && el !== undefined && this.dirty.has(node.id)) {
        this.updateNode(el, node)
      } else if (!visible && el !== undefined && document.activeElement !== el && !el.contains(document.activeElement)) {
        el.remove()
        this.nodeEls.delete(node.id)
      }
    }
    this.dirty.clear()
    this.element.dataset.rendered = String(this.nodeEls.size)
    this.renderEdges()
    this.renderPresence()
  }

  private createNode (node: NodeModel): HTMLElement {
    const el = h('div', { className: 'node', tabindex: 0, role: 'group', 'data-id': node.id })
    this.updateNode(el, node)
    return el
  }

  private updateNode (el: HTMLElement, node: NodeModel): void {
    const type = node.type ?? 'unknown'
    el.className = `node node-${type}${this.selection.has(node.id) ? ' selected' : ''}`
    el.dataset.type = type
    el.style.transform = `translate(${node.x}px, ${node.y}px)`
    el.style.height = `${nodeHeight(node)}px`
    el.setAttribute('aria-label', `${nodeTitle(node)}${this.selection.has(node.id) ? ', selected' : ''}`)
    const color = this.remoteSelection.get(node.id)
    if (color !== undefined) {
      el.style.setProperty('--peer', color)
      el.classList.add('peer-selected')
    }
    const kind = node.type === null ? 'Unknown' : NODE_LABELS[node.type]
    const children: HTMLElement[] = [
      h('div', { className: 'node-header', style: `height:${HEADER_H}px` }, kind),
      h('div', { className: 'node-body', style: `height:${BODY_H}px` }, node.summary || (node.type === 'dialogue' ? 'Empty line' : ''))
    ]
    for (const pin of node.inputs) {
      children.push(h('button', {
        type: 'button', className: 'pin pin-in', 'data-pin': pin, tabindex: -1, disabled: this.options.readOnly === true,
        style: `top:${HEADER_H / 2 - 7}px`, 'aria-label': `Input of ${kind} node`
      }))
    }
    node.outputs.forEach((pin, i) => {
      const top = HEADER_H + BODY_H + i * ROW_H
      children.push(h('div', { className: 'pin-row', style: `top:${top}px;height:${ROW_H}px` }, pin.label))
      children.push(h('button', {
        type: 'button', className: 'pin pin-out', 'data-pin': pin.pin, tabindex: -1, 'aria-pressed': 'false', disabled: this.options.readOnly === true,
        style: `top:${top + ROW_H / 2 - 7}px`, 'aria-label': `Output "${pin.label}" of ${kind} node: press, then press an input to connect`
      }))
    })
    el.replaceChildren(...children)
  }

  private renderEdges (): void {
    const seen = new Set<string>()
    for (const conn of this.model.connections.values()) {
      const source = this.model.nodes.get(conn.sourceNodeId)
      const target = this.model.nodes.get(conn.targetNodeId)
      if (source === undefined || target === undefined) continue
      if (!this.nodeEls.has(source.id) && !this.nodeEls.has(target.id)) continue
      const from = outputPoint(source, conn.sourcePin)
      if (from === null) continue
      seen.add(conn.id)
      let g = this.edgeEls.get(conn.id)
      if (g === undefined) {
        g = document.createElementNS(SVG, 'g')
        g.classList.add('edge')
        g.dataset.id = conn.id
        g.dataset.source = conn.sourceNodeId
        g.dataset.target = conn.targetNodeId
        const hit = document.createElementNS(SVG, 'path'); hit.classList.add('edge-hit')
        const line = document.createElementNS(SVG, 'path'); line.classList.add('edge-line')
        g.append(hit, line)
        this.edgeLayer.insertBefore(g, this.tempEdge)
        this.edgeEls.set(conn.id, g)
      }
      const d = curve(from, inputPoint(target))
      for (const path of g.querySelectorAll('path')) path.setAttribute('d', d)
      g.classList.toggle('selected', this.selectedEdge === conn.id)
    }
    for (const [id, g] of this.edgeEls) {
      if (!seen.has(id)) {
        g.remove()
        this.edgeEls.delete(id)
      }
    }
  }

  private renderPresence (): void {
    const peers = this.presence.peers()
    const next = new Map<string, string>()
    for (const peer of peers) {
      for (const id of peer.selection) if (!next.has(id)) next.set(id, peer.color)
    }
    for (const id of new Set([...this.remoteSelection.keys(), ...next.keys()])) {
      const el = this.nodeEls.get(id)
      if (el === undefined) continue
      const color = next.get(id)
      el.classList.toggle('peer-selected', color !== undefined)
      if (color !== undefined) el.style.setProperty('--peer', color)
    }
    this.remoteSelection = next
    const cursors = peers.filter((p) => p.pointer !== null).map((p) => {
      const el = h('div', { className: 'peer-cursor', 'data-name': p.name, style: `transform:translate(${p.pointer?.x ?? 0}px, ${p.pointer?.y ?? 0}px) scale(${1 / this.view.zoom});--peer:${p.color}` },
        h('span', { className: 'peer-name' }, p.name))
      return el
    })
    this.cursorLayer.replaceChildren(...cursors)
  }
}

function curve (from: { x: number, y: number }, to: { x: number, y: number }): string {
  const dx = Math.max(40, Math.abs(to.x - from.x) / 2)
  return `M${from.x},${from.y} C${from.x + dx},${from.y} ${to.x - dx},${to.y} ${to.x},${to.y}`
}
