/**
 * The flow editor view: toolbar, canvas, node list and inspector around one flow document.
 * Undo and redo cover one's own changes only (Y.UndoManager with this page's origin).
 */
import * as Y from 'yjs'
import { DocSession } from './sync'
import { FlowModel, NODE_WIDTH, nodeHeight } from './flow-model'
import { FlowCanvas } from './flow-canvas'
import { NodeList } from './node-list'
import { NodeInspector } from './node-inspector'
import { Presence } from './presence'
import { type FlowRoots, type NodeType, NODE_LABELS, NODE_TYPES, flowRoots, newId, newNode } from './schema'
import { h, notify } from './ui'

export const LOCAL_ORIGIN = Symbol('local edit')

export interface FlowEditorContext {
  session: DocSession
  presence: Presence
  sidebarNodes: HTMLElement // where the node list goes
  readOnly: boolean
}

const ADDABLE: NodeType[] = NODE_TYPES.filter((t) => t !== 'entry')

export class FlowEditor {
  readonly element: HTMLElement
  readonly roots: FlowRoots
  readonly undo: Y.UndoManager
  private readonly model: FlowModel
  private readonly canvas: FlowCanvas
  private readonly list: NodeList
  private readonly inspector: NodeInspector
  private readonly cleanups: Array<() => void> = []

  constructor (private readonly ctx: FlowEditorContext) {
    const { session, presence } = ctx
    this.roots = flowRoots(session.doc)
    this.undo = new Y.UndoManager([this.roots.nodes, this.roots.connections], {
      trackedOrigins: new Set([LOCAL_ORIGIN])
    })
    this.model = new FlowModel(this.roots)
    const edit = (fn: () => void): void => session.doc.transact(fn, LOCAL_ORIGIN)
    this.inspector = new NodeInspector(this.roots, { edit, origin: LOCAL_ORIGIN, awareness: session.awareness, readOnly: ctx.readOnly })
    this.list = new NodeList(this.model, (id) => {
      this.canvas.select([id])
      this.canvas.centerOn(id)
    })
    this.canvas = new FlowCanvas(this.roots, this.model, presence, {
      edit,
      readOnly: ctx.readOnly,
      onSelectionChange: (ids) => {
        this.inspector.show(ids.length === 1 ? ids[0] : null)
        this.list.setSelection(ids)
      }
    })
    ctx.sidebarNodes.replaceChildren(this.list.element)

    const typeSelect = h('select', { id: 'add-node-type', 'aria-label': 'Node type to add', 'data-testid': 'add-node-type' },
      ...ADDABLE.map((t) => h('option', { value: t }, NODE_LABELS[t])))
    const undoButton = h('button', { type: 'button', className: 'secondary', 'aria-keyshortcuts': 'Control+Z', 'data-testid': 'undo', title: 'Undo (Ctrl+Z)' }, 'Undo')
    const redoButton = h('button', { type: 'button', className: 'secondary', 'aria-keyshortcuts': 'Control+Shift+Z', 'data-testid': 'redo', title: 'Redo (Ctrl+Shift+Z)' }, 'Redo')
    undoButton.addEventListener('click', () => this.undo.undo())
    redoButton.addEventListener('click', () => this.undo.redo())
    const refreshUndo = (): void => {
      undoButton.disabled = !this.undo.canUndo()
      redoButton.disabled = !this.undo.canRedo()
    }
    for (const event of ['stack-item-added', 'stack-item-popped', 'stack-cleared'] as const) {
      this.undo.on(event, refreshUndo)
    }
    refreshUndo()
    // A viewer gets no editing controls at all: only zoom and fit.
    const editing = ctx.readOnly
      ? []
      : [typeSelect,
          h('button', { type: 'button', 'data-testid': 'add-node', onclick: () => this.addNode(typeSelect.value as NodeType) }, 'Add node'),
          h('span', { className: 'sep', 'aria-hidden': 'true' }),
          undoButton, redoButton,
          h('button', { type: 'button', className: 'secondary', 'data-testid': 'delete', onclick: () => this.canvas.deleteSelection(), title: 'Delete (Del)' }, 'Delete'),
          h('span', { className: 'sep', 'aria-hidden': 'true' })]
    const toolbar = h('div', { className: 'toolbar', role: 'toolbar', 'aria-label': 'Flow tools' },
      ...editing,
      h('button', { type: 'button', className: 'secondary icon', 'aria-label': 'Zoom out', onclick: () => this.canvas.zoomBy(1 / 1.2) }, '−'),
      h('button', { type: 'button', className: 'secondary icon', 'aria-label': 'Zoom in', onclick: () => this.canvas.zoomBy(1.2) }, '+'),
      h('button', { type: 'button', className: 'secondary', onclick: () => this.canvas.fit() }, 'Fit'))
    this.element = h('div', { className: `flow-editor${ctx.readOnly ? ' read-only' : ''}` }, toolbar,
      h('div', { className: 'flow-main' }, this.canvas.element, this.inspector.element))

    const onKey = (event: KeyboardEvent): void => {
      const target = event.target as HTMLElement
      if (target.closest('input, textarea, [contenteditable="true"]') !== null) return
      const mod = event.ctrlKey || event.metaKey
      if (ctx.readOnly) return
      if (mod && event.key.toLowerCase() === 'z') {
        event.preventDefault()
        if (event.shiftKey) this.undo.redo()
        else this.undo.undo()
      } else if (mod && event.key.toLowerCase() === 'y') {
        event.preventDefault()
        this.undo.redo()
      } else if (event.altKey && event.key.toLowerCase() === 'n' && !ctx.readOnly) {
        event.preventDefault()
        this.addNode(typeSelect.value as NodeType)
      }
    }
    document.addEventListener('keydown', onKey)
    this.cleanups.push(() => document.removeEventListener('keydown', onKey))
  }

  /** Once synced: a flow always has its one entry node (a fixed id, so two first visitors agree). */
  ensureEntry (): void {
    if (this.ctx.readOnly) return
    for (const node of this.roots.nodes.values()) {
      if (node.get('type') === 'entry') return
    }
    this.ctx.session.doc.transact(() => this.roots.nodes.set('entry', newNode('entry', 'entry', 0, 0)), LOCAL_ORIGIN)
    this.undo.clear()
  }

  addNode (type: NodeType): string {
    if (this.ctx.readOnly) return ''
    const id = newId()
    const at = this.freeSpot()
    this.ctx.session.doc.transact(() => this.roots.nodes.set(id, newNode(type, id, at.x, at.y)), LOCAL_ORIGIN)
    this.canvas.select([id], true)
    notify(`${NODE_LABELS[type]} node added.`)
    return id
  }

  fit (): void {
    this.canvas.fit()
  }

  /** Right of the selected node, else the middle of the view; moved down until nothing overlaps. */
  private freeSpot (): { x: number, y: number } {
    const selected = this.canvas.selected.map((id) => this.model.nodes.get(id)).find((n) => n !== undefined)
    const c = this.canvas.center()
    const at = selected !== undefined ? { x: selected.x + NODE_WIDTH + 80, y: selected.y } : { x: Math.round(c.x - NODE_WIDTH / 2), y: Math.round(c.y - 60) }
    const overlaps = (): boolean => Array.from(this.model.nodes.values()).some((n) =>
      Math.abs(n.x - at.x) < NODE_WIDTH + 20 && at.y < n.y + nodeHeight(n) + 20 && n.y < at.y + 120)
    for (let i = 0; i < 50 && overlaps(); i++) at.y += 60
    return at
  }

  destroy (): void {
    for (const cleanup of this.cleanups) cleanup()
    this.undo.destroy()
    this.canvas.destroy()
    this.list.destroy()
    this.inspector.destroy()
    this.model.destroy()
    this.element.remove()
  }
}
