/**
 * The node inspector: the fields of the selected node, bound to its data Y.Map. Dialogue text is
 * rich text bound to the node's Y.XmlFragment (y-prosemirror); short fields are inputs bound to
 * their Y.Text.
 */
import * as Y from 'yjs'
import type { Awareness } from 'y-protocols/awareness'
import { type FlowRoots, NODE_LABELS, addResponse, isNodeType, newId, nodeData, removeResponse, responsesOf } from './schema'
import { mountRichText } from './richtext'
import { bindText, h } from './ui'

export interface InspectorOptions {
  edit: (fn: () => void) => void
  origin: unknown
  awareness: Awareness
  readOnly: boolean
}

export class NodeInspector {
  readonly element: HTMLElement
  private cleanups: Array<() => void> = []
  private nodeId: string | null = null

  constructor (private readonly roots: FlowRoots, private readonly options: InspectorOptions) {
    this.element = h('aside', { className: 'inspector', 'aria-label': 'Selected node' })
    this.show(null)
  }

  show (nodeId: string | null): void {
    if (nodeId === this.nodeId && nodeId !== null && this.roots.nodes.get(nodeId) !== undefined) return
    this.clear()
    this.nodeId = nodeId
    const node = nodeId === null ? undefined : this.roots.nodes.get(nodeId)
    if (nodeId === null || node === undefined) {
      this.element.append(h('p', { className: 'muted' }, 'Select a node to edit it. Add nodes with the toolbar; connect them by pressing an output pin, then an input pin.'))
      return
    }
    const type = node.get('type')
    const data = nodeData(node)
    this.element.append(h('h2', {}, isNodeType(type) ? `${NODE_LABELS[type]} node` : 'Node'))
    if (data === null) {
      this.element.append(h('p', {}, 'This node has no data the editor understands.'))
      return
    }
    // Re-render when the node is removed (by anyone) or a field is replaced wholesale.
    const onNodes = (event: Y.YMapEvent<Y.Map<unknown>>): void => {
      if (event.keysChanged.has(nodeId)) {
        this.nodeId = null
        this.show(this.roots.nodes.has(nodeId) ? nodeId : null)
      }
    }
    this.roots.nodes.observe(onNodes)
    this.cleanups.push(() => this.roots.nodes.unobserve(onNodes))
    switch (type) {
      case 'dialogue':
        this.richField(data, 'text', 'Dialogue text')
        this.textField(data, 'stageDirections', 'Stage directions')
        this.textField(data, 'menuText', 'Menu text')
        this.responses(nodeId, node)
        break
      case 'hub': case 'exit':
        this.textField(data, 'label', 'Label')
        break
      case 'instruction':
        this.textField(data, 'description', 'Description', true)
        break
      case 'annotation':
        this.textField(data, 'text', 'Note', true)
        break
      case 'jump':
        this.jumpTarget(data)
        break
      case 'condition':
        this.element.append(h('p', { className: 'muted' }, 'Outputs: true and false. The condition editor is not built yet.'))
        break
      case 'subflow':
        this.scalarField(data, 'referencedFlowId', 'Referenced flow id')
        break
      case 'entry':
        this.element.append(h('p', { className: 'muted' }, 'Every flow starts here. The entry node cannot be removed.'))
        break
    }
  }

  private fieldId (name: string): string {
    return `field-${this.nodeId ?? ''}-${name}`
  }

  private richField (data: Y.Map<unknown>, key: string, label: string): void {
    let fragment = data.get(key)
    if (!(fragment instanceof Y.XmlFragment)) {
      if (this.options.readOnly) return
      const created = new Y.XmlFragment()
      this.options.edit(() => data.set(key, created))
      fragment = created
    }
    const host = h('div', { className: 'richtext-host', 'data-testid': `field-${key}` })
    const labelId = this.fieldId(key) + '-label'
    this.element.append(h('span', { className: 'label', id: labelId }, label), host)
    this.cleanups.push(mountRichText(host, fragment as Y.XmlFragment, { label, awareness: this.options.awareness, editable: !this.options.readOnly }))
  }

  private textField (data: Y.Map<unknown>, key: string, label: string, multiline = false): void {
    const value = data.get(key)
    if (!(value instanceof Y.Text)) {
      this.element.append(h('p', { className: 'muted' }, `${label}: not editable here.`))
      return
    }
    const id = this.fieldId(key)
    const input = multiline
      ? h('textarea', { id, rows: 4, 'data-testid': `field-${key}`, readonly: this.options.readOnly })
      : h('input', { id, type: 'text', 'data-testid': `field-${key}`, readonly: this.options.readOnly })
    this.element.append(h('label', { for: id }, label), input)
    this.cleanups.push(bindText(input, value, this.options.origin))
  }

  private scalarField (data: Y.Map<unknown>, key: string, label: string): void {
    const id = this.fieldId(key)
    const current = data.get(key)
    const input = h('input', { id, type: 'text', value: typeof current === 'string' ? current : '', readonly: this.options.readOnly })
    input.addEventListener('change', () => {
      const v = input.value.trim()
      this.options.edit(() => data.set(key, v === '' ? null : v))
    })
    this.element.append(h('label', { for: id }, label), input)
  }

  private jumpTarget (data: Y.Map<unknown>): void {
    const id = this.fieldId('targetHubId')
    const select = h('select', { id, disabled: this.options.readOnly })
    select.append(h('option', { value: '' }, '(no hub)'))
    for (const node of this.roots.nodes.values()) {
      const d = nodeData(node)
      const hubId = d?.get('hubId')
      if (node.get('type') === 'hub' && typeof hubId === 'string') {
        const label = d?.get('label')
        select.append(h('option', { value: hubId, selected: data.get('targetHubId') === hubId }, label instanceof Y.Text && label.length > 0 ? label.toString() : hubId))
      }
    }
    select.addEventListener('change', () => this.options.edit(() => data.set('targetHubId', select.value === '' ? null : select.value)))
    this.element.append(h('label', { for: id }, 'Jump to hub'), select)
  }

  private responses (nodeId: string, node: Y.Map<unknown>): void {
    const section = h('section', { className: 'responses', 'aria-label': 'Responses' })
    const list = h('ol', { className: 'response-list' })
    const add = h('button', { type: 'button', className: 'secondary', 'data-testid': 'add-response', disabled: this.options.readOnly }, 'Add response')
    add.addEventListener('click', () => {
      const id = newId('response_')
      this.options.edit(() => addResponse(this.roots, nodeId, id))
      list.querySelector<HTMLInputElement>(`[data-response="${id}"]`)?.focus()
    })
    section.append(h('h3', {}, 'Responses'), list, add)
    this.element.append(section)
    let bindings: Array<() => void> = []
    const render = (): void => {
      for (const unbind of bindings) unbind()
      bindings = []
      const responses = responsesOf(node)
      const items = responses?.toArray() ?? []
      list.replaceChildren(...items.map((r, i) => {
        const rid = String(r.get('id'))
        const text = r.get('text')
        const inputId = this.fieldId(`response-${rid}`)
        const input = h('input', { id: inputId, type: 'text', 'data-response': rid, readonly: this.options.readOnly })
        if (text instanceof Y.Text) bindings.push(bindText(input, text, this.options.origin))
        const remove = h('button', { type: 'button', className: 'icon danger', 'aria-label': `Remove response ${i + 1}`, disabled: this.options.readOnly }, '×')
        remove.addEventListener('click', () => this.options.edit(() => removeResponse(this.roots, nodeId, rid)))
        return h('li', {}, h('label', { for: inputId, className: 'sr-only' }, `Response ${i + 1}`), input, remove)
      }))
      if (items.length === 0) list.append(h('li', { className: 'muted' }, 'No responses: the line continues through its single output.'))
    }
    render()
    const data = nodeData(node)
    const observer = (events: Array<Y.YEvent<any>>): void => {
      // Only the list's shape matters here: response texts are bound field by field.
      if (events.some((e) => e.target instanceof Y.Array || (e.target === data && (e as Y.YMapEvent<unknown>).keysChanged.has('responses')))) render()
    }
    data?.observeDeep(observer)
    this.cleanups.push(() => {
      data?.unobserveDeep(observer)
      for (const unbind of bindings) unbind()
    })
  }

  private clear (): void {
    for (const cleanup of this.cleanups) cleanup()
    this.cleanups = []
    this.element.replaceChildren()
  }

  destroy (): void {
    this.clear()
    this.element.remove()
  }
}
