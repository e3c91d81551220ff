/**
 * The Yjs document shapes of DESIGN.md §8, typed, in one place: every view reads and writes
 * documents through these helpers so that the tree, flow and page shapes stay the ones the
 * server's Python views (crdt/views) read. docs/documents.md is the reference.
 */
import * as Y from 'yjs'

// -- ids ---------------------------------------------------------------------------------------

export function newId (prefix = ''): string {
  const uuid = typeof crypto.randomUUID === 'function'
    ? crypto.randomUUID()
    : Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('')
  return prefix + uuid
}

/** Room names as the server routes them (docs/protocol.md "Connecting"). */
export const roomName = {
  tree: (project: string) => `projects/${project}/tree`,
  flow: (project: string, flow: string) => `projects/${project}/flows/${flow}`,
  page: (project: string, page: string) => `projects/${project}/pages/${page}`
}

export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/

// -- tree document -----------------------------------------------------------------------------

export type TreeKind = 'pages' | 'flows'

export interface TreeItem {
  id: string
  kind: TreeKind
  name: string
  shortcut: string | null
  parentId: string | null
  position: string
  deletedAt: string | null
}

export interface TreeRoots {
  pages: Y.Map<Y.Map<unknown>>
  flows: Y.Map<Y.Map<unknown>>
}

export function treeRoots (doc: Y.Doc): TreeRoots {
  return { pages: doc.getMap('pages'), flows: doc.getMap('flows') }
}

export function readTreeItem (kind: TreeKind, id: string, map: Y.Map<unknown>): TreeItem {
  const str = (key: string): string | null => {
    const v = map.get(key)
    return typeof v === 'string' ? v : null
  }
  return {
    id,
    kind,
    name: str('name') ?? '(untitled)',
    shortcut: str('shortcut'),
    parentId: str('parentId'),
    position: str('position') ?? '',
    deletedAt: str('deletedAt')
  }
}

export function newTreeItem (name: string, parentId: string | null, position: string): Y.Map<unknown> {
  const item = new Y.Map<unknown>()
  item.set('name', name)
  item.set('shortcut', null)
  item.set('parentId', parentId)
  item.set('position', position)
  item.set('deletedAt', null)
  return item
}

// -- flow document -----------------------------------------------------------------------------

export const NODE_TYPES = [
  'entry', 'dialogue', 'hub', 'jump', 'condition', 'instruction', 'subflow', 'exit', 'annotation'
] as const
export type NodeType = typeof NODE_TYPES[number]

export const NODE_LABELS: Record<NodeType, string> = {
  entry: 'Entry',
  exit: 'Exit',
  dialogue: 'Dialogue',
  hub: 'Hub',
  jump: 'Jump',
  condition: 'Condition',
  instruction: 'Instruction',
  subflow: 'Subflow',
  annotation: 'Annotation'
}

export function isNodeType (value: unknown): value is NodeType {
  return typeof value === 'string' && (NODE_TYPES as readonly string[]).includes(value)
}

export interface FlowRoots {
  meta: Y.Map<unknown>
  nodes: Y.Map<Y.Map<unknown>>
  connections: Y.Map<Y.Map<unknown>>
}

export function flowRoots (doc: Y.Doc): FlowRoots {
  return { meta: doc.getMap('meta'), nodes: doc.getMap('nodes'), connections: doc.getMap('connections') }
}

function text (initial = ''): Y.Text {
  const t = new Y.Text()
  if (initial) t.insert(0, initial)
  return t
}

/** A node's `data` Y.Map with the defaults of docs/documents.md "Node types and their data". */
export function newNodeData (type: NodeType, nodeId: string): Y.Map<unknown> {
  const data = new Y.Map<unknown>()
  const set = (fields: Record<string, unknown>): void => {
    for (const [key, value] of Object.entries(fields)) data.set(key, value)
  }
  switch (type) {
    case 'entry':
      break
    case 'exit':
      set({
        label: text(),
        technicalId: '',
        outcomeTags: new Y.Array<string>(),
        outcomeColor: '#22c55e',
        exitMode: 'terminal',
        referencedFlowId: null,
        targetType: null,
        targetId: null
      })
      break
    case 'dialogue':
      set({
        speakerSheetId: null,
        avatarId: null,
        audioAssetId: null,
        text: new Y.XmlFragment(),
        stageDirections: text(),
        menuText: text(),
        technicalId: '',
        localizationId: `dialogue_${nodeId}`,
        responses: new Y.Array<Y.Map<unknown>>()
      })
      break
    case 'hub':
      set({ hubId: nodeId, label: text(), color: '#be185d' })
      break
    case 'jump':
      set({ targetHubId: null })
      break
    case 'condition': {
      const condition = new Y.Map<unknown>()
      condition.set('logic', 'all')
      condition.set('blocks', new Y.Array())
      set({ condition, switchMode: false })
      break
    }
    case 'instruction':
      set({ assignments: new Y.Array(), description: text() })
      break
    case 'subflow':
      set({ referencedFlowId: null })
      break
    case 'annotation':
      set({ text: text(), color: '#fbbf24', fontSize: 'md' })
      break
  }
  return data
}

export function newNode (type: NodeType, nodeId: string, x: number, y: number): Y.Map<unknown> {
  const node = new Y.Map<unknown>()
  node.set('type', type)
  node.set('x', Math.round(x))
  node.set('y', Math.round(y))
  node.set('data', newNodeData(type, nodeId))
  return node
}

export function newResponse (responseId: string, initial = ''): Y.Map<unknown> {
  const response = new Y.Map<unknown>()
  response.set('id', responseId)
  response.set('text', text(initial))
  response.set('condition', null)
  response.set('instruction', '')
  response.set('instructionAssignments', new Y.Array())
  return response
}

export function nodeData (node: Y.Map<unknown>): Y.Map<unknown> | null {
  const data = node.get('data')
  return data instanceof Y.Map ? data : null
}

export function responsesOf (node: Y.Map<unknown>): Y.Array<Y.Map<unknown>> | null {
  const responses = nodeData(node)?.get('responses')
  return responses instanceof Y.Array ? responses as Y.Array<Y.Map<unknown>> : null
}

/** Input pins of a node type (docs/documents.md "Pins"). */
export function inputPins (type: NodeType | null): string[] {
  return type === null || type === 'entry' || type === 'annotation' ? [] : ['input']
}

/** Output pins of a node, computed from its data (docs/documents.md "Pins"). */
export function outputPins (type: NodeType | null, data: Y.Map<unknown> | null): string[] {
  switch (type) {
    case 'entry': case 'hub': case 'instruction': case 'subflow':
      return ['output']
    case 'dialogue': {
      const responses = data?.get('responses')
      const ids: string[] = []
      if (responses instanceof Y.Array) {
        for (const r of responses.toArray()) {
          const id = r instanceof Y.Map ? r.get('id') : null
          if (typeof id === 'string' && !ids.includes(id)) ids.push(id)
        }
      }
      return ids.length > 0 ? ids : ['output']
    }
    case 'condition': {
      if (data?.get('switchMode') !== true) return ['true', 'false']
      const condition = data.get('condition')
      const blocks = condition instanceof Y.Map ? condition.get('blocks') : null
      const ids: string[] = []
      if (blocks instanceof Y.Array) {
        for (const b of blocks.toArray()) {
          const id = b instanceof Y.Map ? b.get('id') : null
          if (typeof id === 'string') ids.push(id)
        }
      }
      return [...ids, 'default']
    }
    default:
      return []
  }
}

/** Plain text of a Y.Text or a Y.XmlFragment (paragraphs joined by newlines). */
export function plainText (value: unknown): string {
  if (value instanceof Y.Text) return value.toString()
  if (value instanceof Y.XmlFragment) {
    const parts: string[] = []
    const walk = (el: Y.XmlFragment | Y.XmlElement): string => {
      let out = ''
      for (const child of el.toArray()) {
        if (child instanceof Y.XmlText) out += child.toString().replace(/<[^>]*>/g, '')
        else if (child instanceof Y.XmlElement) out += child.nodeName === 'hardBreak' ? ' ' : walk(child)
      }
      return out
    }
    for (const child of value.toArray()) {
      if (child instanceof Y.XmlElement) parts.push(walk(child))
      else if (child instanceof Y.XmlText) parts.push(child.toString())
    }
    return parts.join('\n')
  }
  return typeof value === 'string' ? value : ''
}

/** A one-line summary of a node for the canvas and the node list. */
export function nodeSummary (type: NodeType | null, data: Y.Map<unknown> | null): string {
  if (data === null) return ''
  switch (type) {
    case 'dialogue': return plainText(data.get('text'))
    case 'hub': case 'exit': return plainText(data.get('label'))
    case 'instruction': return plainText(data.get('description'))
    case 'annotation': return plainText(data.get('text'))
    case 'jump': {
      const target = data.get('targetHubId')
      return typeof target === 'string' ? `→ ${target}` : ''
    }
    case 'condition': return data.get('switchMode') === true ? 'switch' : 'if / else'
    case 'subflow': {
      const ref = data.get('referencedFlowId')
      return typeof ref === 'string' ? `flow ${ref}` : ''
    }
    default: return ''
  }
}

export interface ConnectionShape {
  id: string
  sourceNodeId: string
  sourcePin: string
  targetNodeId: string
  targetPin: string
  label: string | null
}

export function readConnection (id: string, map: Y.Map<unknown>): ConnectionShape | null {
  const s = map.get('sourceNodeId'); const sp = map.get('sourcePin'); const t = map.get('targetNodeId')
  if (typeof s !== 'string' || typeof sp !== 'string' || typeof t !== 'string') return null
  const tp = map.get('targetPin'); const label = map.get('label')
  return {
    id,
    sourceNodeId: s,
    sourcePin: sp,
    targetNodeId: t,
    targetPin: typeof tp === 'string' ? tp : 'input',
    label: typeof label === 'string' ? label : null
  }
}

/**
 * Why a connection may not be made (the rules of docs/documents.md `connect`), or null when it
 * may: no self-connection, pins that exist, no duplicate.
 */
export function connectProblem (roots: FlowRoots, source: string, sourcePin: string, target: string, targetPin = 'input'): string | null {
  if (source === target) return 'A node cannot connect to itself.'
  const s = roots.nodes.get(source); const t = roots.nodes.get(target)
  if (s === undefined || t === undefined) return 'That node no longer exists.'
  const sType = s.get('type'); const tType = t.get('type')
  if (!outputPins(isNodeType(sType) ? sType : null, nodeData(s)).includes(sourcePin)) return 'That output pin no longer exists.'
  if (!inputPins(isNodeType(tType) ? tType : null).includes(targetPin)) return 'That node has no input.'
  for (const [id, c] of roots.connections) {
    const conn = readConnection(id, c)
    if (conn !== null && conn.sourceNodeId === source && conn.sourcePin === sourcePin &&
        conn.targetNodeId === target && conn.targetPin === targetPin) return 'These pins are already connected.'
  }
  return null
}

export function newConnection (source: string, sourcePin: string, target: string, targetPin = 'input'): Y.Map<unknown> {
  const conn = new Y.Map<unknown>()
  conn.set('sourceNodeId', source)
  conn.set('sourcePin', sourcePin)
  conn.set('targetNodeId', target)
  conn.set('targetPin', targetPin)
  conn.set('label', null)
  return conn
}

/** Remove a node and every connection touching it (the entry node stays). */
export function removeNode (roots: FlowRoots, nodeId: string): boolean {
  const node = roots.nodes.get(nodeId)
  if (node === undefined || node.get('type') === 'entry') return false
  for (const [id, c] of Array.from(roots.connections.entries())) {
    if (c.get('sourceNodeId') === nodeId || c.get('targetNodeId') === nodeId) roots.connections.delete(id)
  }
  roots.nodes.delete(nodeId)
  return true
}

/** Add a response; the first one takes over the connections of the `output` pin, as the editor does. */
export function addResponse (roots: FlowRoots, nodeId: string, responseId: string, initial = ''): void {
  const node = roots.nodes.get(nodeId)
  const responses = node === undefined ? null : responsesOf(node)
  if (responses === null) return
  const first = responses.length === 0
  responses.push([newResponse(responseId, initial)])
  if (first) {
    for (const c of roots.connections.values()) {
      if (c.get('sourceNodeId') === nodeId && c.get('sourcePin') === 'output') c.set('sourcePin', responseId)
    }
  }
}

/** Remove a response and the connections leaving from its pin. */
export function removeResponse (roots: FlowRoots, nodeId: string, responseId: string): void {
  const node = roots.nodes.get(nodeId)
  const responses = node === undefined ? null : responsesOf(node)
  if (responses === null) return
  const index = responses.toArray().findIndex((r) => r.get('id') === responseId)
  if (index >= 0) responses.delete(index, 1)
  for (const [id, c] of Array.from(roots.connections.entries())) {
    if (c.get('sourceNodeId') === nodeId && c.get('sourcePin') === responseId) roots.connections.delete(id)
  }
}

// -- page document -----------------------------------------------------------------------------

export const BLOCK_TYPES = ['text', 'rich_text', 'number', 'select', 'multi_select', 'date', 'boolean'] as const
export type BlockType = typeof BLOCK_TYPES[number]
export const BLOCK_LABELS: Record<BlockType, string> = {
  text: 'Text',
  rich_text: 'Rich text',
  number: 'Number',
  select: 'Select',
  multi_select: 'Multi-select',
  date: 'Date',
  boolean: 'Yes / no'
}

export interface PageRoots {
  meta: Y.Map<unknown>
  blocks: Y.Map<Y.Map<unknown>>
  blockOrder: Y.Array<string>
}

export function pageRoots (doc: Y.Doc): PageRoots {
  return { meta: doc.getMap('meta'), blocks: doc.getMap('blocks'), blockOrder: doc.getArray('blockOrder') }
}

/** A block with the defaults of docs/documents.md "Page document". */
export function newBlock (type: BlockType, label: string): Y.Map<unknown> {
  const block = new Y.Map<unknown>()
  const config = new Y.Map<unknown>()
  const value = new Y.Map<unknown>()
  config.set('label', text(label))
  switch (type) {
    case 'text':
      config.set('placeholder', '')
      value.set('content', text())
      break
    case 'rich_text':
      value.set('content', new Y.XmlFragment())
      break
    case 'number':
      config.set('placeholder', '')
      config.set('min', null)
      config.set('max', null)
      config.set('step', null)
      value.set('content', null)
      break
    case 'select': case 'multi_select': {
      config.set('placeholder', '')
      const options = new Y.Array<Y.Map<unknown>>()
      options.push(['Option A', 'Option B'].map((v, i) => {
        const option = new Y.Map<unknown>()
        option.set('key', `option_${i + 1}`)
        option.set('value', v)
        return option
      }))
      config.set('options', options)
      value.set('content', type === 'select' ? null : new Y.Array<string>())
      break
    }
    case 'date':
      value.set('content', null)
      break
    case 'boolean':
      config.set('mode', 'two_state')
      value.set('content', null)
      break
  }
  block.set('type', type)
  block.set('config', config)
  block.set('value', value)
  return block
}

/** Block ids in display order: each once, at its first listing; unlisted blocks last, by id. */
export function orderedBlockIds (roots: PageRoots): string[] {
  const seen = new Set<string>()
  const out: string[] = []
  for (const id of roots.blockOrder.toArray()) {
    if (typeof id === 'string' && !seen.has(id) && roots.blocks.has(id)) {
      seen.add(id)
      out.push(id)
    }
  }
  const rest = Array.from(roots.blocks.keys()).filter((id) => !seen.has(id)).sort()
  return out.concat(rest)
}

/** Move a block: remove every copy of its id from blockOrder, insert it at `index`. */
export function moveBlock (roots: PageRoots, blockId: string, index: number): void {
  const ids = roots.blockOrder.toArray()
  for (let i = ids.length - 1; i >= 0; i--) {
    if (ids[i] === blockId) roots.blockOrder.delete(i, 1)
  }
  roots.blockOrder.insert(Math.max(0, Math.min(index, roots.blockOrder.length)), [blockId])
}

export function removeBlock (roots: PageRoots, blockId: string): void {
  const ids = roots.blockOrder.toArray()
  for (let i = ids.length - 1; i >= 0; i--) {
    if (ids[i] === blockId) roots.blockOrder.delete(i, 1)
  }
  roots.blocks.delete(blockId)
}
