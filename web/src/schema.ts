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
    case 'instruction': return plainText(data.get('description')) || assignmentsSummary(data)
    case 'annotation': return plainText(data.get('text'))
    case 'jump': {
      const target = data.get('targetHubId')
      return typeof target === 'string' ? `→ ${target}` : ''
    }
    case 'condition': return conditionSummary(data) || (data.get('switchMode') === true ? 'switch' : 'if / else')
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

// -- conditions and instructions (domain.md §1.7, docs/documents.md "Node types") -------------

export const CONDITION_OPERATORS: Array<[string, string]> = [
  ['equals', 'equals'], ['not_equals', 'does not equal'],
  ['greater_than', '>'], ['greater_than_or_equal', '≥'], ['less_than', '<'], ['less_than_or_equal', '≤'],
  ['contains', 'contains'], ['not_contains', 'does not contain'], ['starts_with', 'starts with'], ['ends_with', 'ends with'],
  ['before', 'is before'], ['after', 'is after'],
  ['is_true', 'is true'], ['is_false', 'is false'], ['is_nil', 'is not set'], ['is_empty', 'is empty']
]
export const VALUELESS_CONDITION = new Set(['is_true', 'is_false', 'is_nil', 'is_empty'])

export const ASSIGNMENT_OPERATORS: Array<[string, string]> = [
  ['set', 'set to'], ['add', 'add'], ['subtract', 'subtract'], ['set_if_unset', 'set if unset'],
  ['set_true', 'set true'], ['set_false', 'set false'], ['toggle', 'toggle'], ['clear', 'clear']
]
export const VALUELESS_ASSIGNMENT = new Set(['set_true', 'set_false', 'toggle', 'clear'])

/** A condition rule: `{id, sheet, variable, operator, value, label}`. */
export function newRule (): Y.Map<unknown> {
  return mapOf({ id: newId('rule_'), sheet: '', variable: '', operator: 'equals', value: '', label: null })
}

/** A condition block (HEAD shape): `{id, type: "block", logic, label, rules}`. */
export function newConditionBlock (label: string): Y.Map<unknown> {
  const rules = new Y.Array<Y.Map<unknown>>()
  rules.push([newRule()])
  return mapOf({ id: newId('block_'), type: 'block', logic: 'all', label, rules })
}

/** An instruction assignment: `{id, sheet, variable, operator, value, valueType, valueSheet}`. */
export function newAssignment (): Y.Map<unknown> {
  return mapOf({ id: newId('assign_'), sheet: '', variable: '', operator: 'set', value: '', valueType: 'literal', valueSheet: null })
}

/** A node's condition map (created when a peer left it missing or flat). */
export function conditionOf (data: Y.Map<unknown>): Y.Map<unknown> {
  const condition = data.get('condition')
  if (condition instanceof Y.Map) return condition
  const fresh = mapOf({ logic: 'all', blocks: new Y.Array() })
  data.set('condition', fresh)
  return fresh
}

function ref (sheet: unknown, variable: unknown): string {
  const parts = [sheet, variable].filter((p): p is string => typeof p === 'string' && p !== '')
  return parts.length > 0 ? parts.join('.') : '?'
}

const SHORT_OPS: Record<string, string> = {
  equals: '=', not_equals: '≠', greater_than: '>', greater_than_or_equal: '≥', less_than: '<', less_than_or_equal: '≤',
  add: '+=', subtract: '-=', set: '=', set_if_unset: '?='
}

/** "mc.health > 3 and mc.brave is true", for the canvas and the node list. */
export function conditionSummary (data: Y.Map<unknown>): string {
  const condition = data.get('condition')
  if (!(condition instanceof Y.Map)) return ''
  const blocks = mapsOf(condition.get('blocks'))
  const rules = mapsOf(condition.get('rules')) // pages-era {logic, rules}
  const texts = (rs: Array<Y.Map<unknown>>): string[] => rs.map((r) => {
    const op = String(r.get('operator') ?? '')
    const value = VALUELESS_CONDITION.has(op) ? '' : ` ${String(r.get('value') ?? '')}`
    return `${ref(r.get('sheet'), r.get('variable'))} ${SHORT_OPS[op] ?? op.replace(/_/g, ' ')}${value}`
  })
  const join = (logic: unknown): string => logic === 'any' ? ' or ' : ' and '
  const parts = blocks.length > 0
    ? blocks.map((b) => texts(mapsOf(b.get('rules'))).join(join(b.get('logic'))))
    : texts(rules)
  return parts.filter((p) => p !== '').join(join(condition.get('logic')))
}

export function assignmentsSummary (data: Y.Map<unknown>): string {
  return mapsOf(data.get('assignments')).map((a) => {
    const op = String(a.get('operator') ?? '')
    const value = VALUELESS_ASSIGNMENT.has(op) ? '' : ` ${String(a.get('value') ?? '')}`
    return `${ref(a.get('sheet'), a.get('variable'))} ${SHORT_OPS[op] ?? op.replace(/_/g, ' ')}${value}`
  }).join('; ')
}

// -- page document -----------------------------------------------------------------------------

export const BLOCK_TYPES = [
  'text', 'rich_text', 'number', 'select', 'multi_select', 'date', 'boolean', 'reference', 'table', 'gallery'
] as const
export type BlockType = typeof BLOCK_TYPES[number]
export const BLOCK_LABELS: Record<BlockType, string> = {
  text: 'Text',
  rich_text: 'Rich text',
  number: 'Number',
  select: 'Select',
  multi_select: 'Multi-select',
  date: 'Date',
  boolean: 'Yes / no',
  reference: 'Reference',
  table: 'Table',
  gallery: 'Gallery'
}

/** Reference targets as crdt/views/blocks.py names them: pages are "sheet" (config.allowedTypes). */
export type ReferenceType = 'sheet' | 'flow'
export const REFERENCE_TREE_KIND: Record<ReferenceType, TreeKind> = { sheet: 'pages', flow: 'flows' }

/** Table column types we edit (crdt/views/blocks.py COLUMN_TYPES has more; those show read-only). */
export const COLUMN_TYPES = ['text', 'number', 'boolean', 'date'] as const
export type ColumnType = typeof COLUMN_TYPES[number]
export const COLUMN_LABELS: Record<ColumnType, string> = { text: 'Text', number: 'Number', boolean: 'Yes / no', date: 'Date' }

/** A variable-style slug, as crdt/views/blocks.py `slugify`: lowercase, `_` between words, `.` kept. */
export function slugify (name: string): string {
  const slug = name.toLowerCase().replace(/[^a-z0-9.]+/g, '_').replace(/^[_.]+|[_.]+$/g, '')
  return slug === '' ? 'column' : slug
}

function mapOf (fields: Record<string, unknown>): Y.Map<unknown> {
  const map = new Y.Map<unknown>()
  for (const [key, value] of Object.entries(fields)) map.set(key, value)
  return map
}

/** Y.Maps of a Y.Array (anything else a peer may have written is skipped). */
export function mapsOf (value: unknown): Array<Y.Map<unknown>> {
  return value instanceof Y.Array ? value.toArray().filter((m): m is Y.Map<unknown> => m instanceof Y.Map) : []
}

/** `value[name]` as a Y.Array, created when a peer left it missing. */
export function listIn (value: Y.Map<unknown>, name: string): Y.Array<Y.Map<unknown>> {
  const list = value.get(name)
  if (list instanceof Y.Array) return list as Y.Array<Y.Map<unknown>>
  const fresh = new Y.Array<Y.Map<unknown>>()
  value.set(name, fresh)
  return fresh
}

/** A table column (docs/documents.md "Page document"); its slug keys the row cells. */
export function newTableColumn (name: string, type: ColumnType, taken: string[]): Y.Map<unknown> {
  let slug = slugify(name)
  for (let n = 2; taken.includes(slug); n++) slug = `${slugify(name)}_${n}`
  return mapOf({ id: newId('col_'), name, slug, type, isConstant: false, required: false, config: new Y.Map() })
}

export function newTableRow (name: string): Y.Map<unknown> {
  return mapOf({ id: newId('row_'), name, slug: slugify(name), cells: new Y.Map() })
}

export function newGalleryImage (): Y.Map<unknown> {
  return mapOf({ id: newId('img_'), assetId: '', label: '', description: '' })
}

/** Remove the entry with this id from a list (every copy: concurrent inserts may duplicate). */
export function removeById (list: Y.Array<any>, id: string): void {
  const items = list.toArray()
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i]
    if (item instanceof Y.Map && item.get('id') === id) list.delete(i, 1)
  }
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
    case 'reference': {
      const allowed = new Y.Array<string>()
      allowed.push(['sheet', 'flow'])
      config.set('allowedTypes', allowed)
      value.set('targetType', null)
      value.set('targetId', null)
      break
    }
    case 'table':
      config.set('collapsed', false)
      value.set('columns', new Y.Array())
      value.set('rows', new Y.Array())
      break
    case 'gallery':
      value.set('images', new Y.Array())
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
