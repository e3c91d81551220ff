/**
 * A render-ready model of a flow document, kept up to date incrementally: only the nodes that an
 * update touched are read again, so a 1,000-node flow stays fast to edit. The canvas and the
 * node list both read it.
 */
import * as Y from 'yjs'
import {
  type FlowRoots, type NodeType, type ConnectionShape, NODE_LABELS, inputPins, isNodeType, nodeData,
  nodeSummary, outputPins, plainText, readConnection
} from './schema'

export interface PinModel {
  pin: string
  label: string
}

export interface NodeModel {
  id: string
  type: NodeType | null
  x: number
  y: number
  summary: string
  inputs: string[]
  outputs: PinModel[]
}

// Node geometry, shared by the canvas (layout) and edge drawing: no DOM measuring needed.
export const NODE_WIDTH = 200
export const HEADER_H = 28
export const BODY_H = 40
export const ROW_H = 24

export function nodeHeight (node: NodeModel): number {
  return HEADER_H + BODY_H + node.outputs.length * ROW_H + 6
}

export function inputPoint (node: NodeModel): { x: number, y: number } {
  return { x: node.x, y: node.y + HEADER_H / 2 }
}

export function outputPoint (node: NodeModel, pin: string): { x: number, y: number } | null {
  const index = node.outputs.findIndex((p) => p.pin === pin || `response_${p.pin}` === pin || `resp_${p.pin}` === pin)
  if (index < 0) return null
  return { x: node.x + NODE_WIDTH, y: node.y + HEADER_H + BODY_H + index * ROW_H + ROW_H / 2 }
}

function pinLabels (type: NodeType | null, data: Y.Map<unknown> | null): PinModel[] {
  const pins = outputPins(type, data)
  if (type === 'dialogue' && data !== null) {
    const responses = data.get('responses')
    const byId = new Map<string, string>()
    if (responses instanceof Y.Array) {
      responses.toArray().forEach((r, i) => {
        if (r instanceof Y.Map && typeof r.get('id') === 'string') {
          byId.set(r.get('id') as string, plainText(r.get('text')) || `Response ${i + 1}`)
        }
      })
    }
    return pins.map((pin) => ({ pin, label: byId.get(pin) ?? (pin === 'output' ? 'next' : pin) }))
  }
  if (type === 'condition' && data !== null && data.get('switchMode') === true) {
    const condition = data.get('condition')
    const blocks = condition instanceof Y.Map ? condition.get('blocks') : null
    const labels = new Map<string, string>()
    if (blocks instanceof Y.Array) {
      for (const b of blocks.toArray()) {
        if (b instanceof Y.Map && typeof b.get('id') === 'string') {
          labels.set(b.get('id') as string, typeof b.get('label') === 'string' ? b.get('label') as string : 'case')
        }
      }
    }
    return pins.map((pin) => ({ pin, label: labels.get(pin) ?? pin }))
  }
  return pins.map((pin) => ({ pin, label: pin === 'output' ? 'next' : pin }))
}

export function readNode (id: string, node: Y.Map<unknown>): NodeModel {
  const rawType = node.get('type')
  const type = isNodeType(rawType) ? rawType : null
  const data = nodeData(node)
  const x = node.get('x'); const y = node.get('y')
  return {
    id,
    type,
    x: typeof x === 'number' ? x : 0,
    y: typeof y === 'number' ? y : 0,
    summary: nodeSummary(type, data).slice(0, 140),
    inputs: inputPins(type),
    outputs: pinLabels(type, data)
  }
}

export function nodeTitle (node: NodeModel): string {
  const kind = node.type === null ? 'Unknown' : NODE_LABELS[node.type]
  return node.summary ? `${kind}: ${node.summary}` : kind
}

export interface FlowChanges {
  nodes: Set<string> // ids added, changed or removed
  connections: boolean
  structure: boolean // nodes were added or removed
}

/** Keeps `nodes` and `connections` in sync with the document and reports what changed. */
export class FlowModel {
  readonly nodes = new Map<string, NodeModel>()
  readonly connections = new Map<string, ConnectionShape>()
  private readonly listeners = new Set<(changes: FlowChanges) => void>()
  private pending: FlowChanges | null = null

  private readonly onNodes = (events: Array<Y.YEvent<any>>): void => {
    const changes = this.changes()
    for (const event of events) {
      if (event.target === this.roots.nodes) {
        for (const key of event.changes.keys.keys()) {
          changes.nodes.add(key)
          changes.structure = true
        }
      } else {
        const id = event.path[0]
        if (typeof id === 'string') changes.nodes.add(id)
      }
    }
    this.flush()
  }

  private readonly onConnections = (): void => {
    this.changes().connections = true
    this.flush()
  }

  constructor (readonly roots: FlowRoots) {
    for (const [id, node] of roots.nodes) this.nodes.set(id, readNode(id, node))
    this.readConnections()
    roots.nodes.observeDeep(this.onNodes)
    roots.connections.observeDeep(this.onConnections)
  }

  private changes (): FlowChanges {
    this.pending ??= { nodes: new Set(), connections: false, structure: false }
    return this.pending
  }

  private readConnections (): void {
    this.connections.clear()
    for (const [id, c] of this.roots.connections) {
      const conn = readConnection(id, c)
      if (conn !== null) this.connections.set(id, conn)
    }
  }

  private flush (): void {
    const changes = this.pending
    if (changes === null) return
    this.pending = null
    for (const id of changes.nodes) {
      const node = this.roots.nodes.get(id)
      if (node instanceof Y.Map) this.nodes.set(id, readNode(id, node))
      else this.nodes.delete(id)
    }
    if (changes.connections) this.readConnections()
    for (const listener of this.listeners) listener(changes)
  }

  onChange (listener: (changes: FlowChanges) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  destroy (): void {
    this.roots.nodes.unobserveDeep(this.onNodes)
    this.roots.connections.unobserveDeep(this.onConnections)
    this.listeners.clear()
  }
}
