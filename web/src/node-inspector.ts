/**
 * The node inspector: the fields of the selected node, bound to its data Y.Map. Dialogue text is
 * rich text bound to the node's Y.XmlFragment (y-prosemirror); short fields are inputs bound to
 * their Y.Text.
 */
import * as Y from 'yjs'
import type { Awareness } from 'y-protocols/awareness'
import {
  type FlowRoots, ASSIGNMENT_OPERATORS, CONDITION_OPERATORS, NODE_LABELS, VALUELESS_ASSIGNMENT, VALUELESS_CONDITION, addResponse,
  conditionOf, isNodeType, listIn, mapsOf, newAssignment, newConditionBlock, newId, newRule, nodeData, removeById, removeResponse,
  responsesOf
} from './schema'
import { mountRichText } from './richtext'
import { bindField, bindList } from './fields'
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
        this.instructionEditor(data)
        break
      case 'annotation':
        this.textField(data, 'text', 'Note', true)
        break
      case 'jump':
        this.jumpTarget(data)
        break
      case 'condition':
        this.conditionEditor(data)
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

  private select (label: string, choices: Array<[string, string]>, key: string): HTMLSelectElement {
    return h('select', { 'aria-label': label, 'data-key': key }, ...choices.map(([value, text]) => h('option', { value }, text)))
  }

  /**
   * The condition editor: groups of rules (condition `blocks`, each with its own all/any logic),
   * combined by the condition's logic. Every rule is its own Y.Map in its group's Y.Array, so two
   * people editing different rules, or different fields of one rule, merge without loss.
   */
  private conditionEditor (data: Y.Map<unknown>): void {
    const ro = this.options.readOnly
    const edit = this.options.edit
    let condition = data.get('condition')
    if (!(condition instanceof Y.Map)) {
      if (ro) {
        this.element.append(h('p', { className: 'muted' }, 'No condition yet.'))
        return
      }
      edit(() => { condition = conditionOf(data) })
    }
    const cond = condition as Y.Map<unknown>
    const section = h('section', { className: 'logic-editor', 'aria-labelledby': this.fieldId('cond-h'), 'data-testid': 'condition-editor' })
    const logicId = this.fieldId('cond-logic')
    const logic = this.select('Combine groups', [['all', 'all groups are true'], ['any', 'any group is true']], 'cond-logic')
    logic.id = logicId
    this.cleanups.push(bindField(logic, cond, 'logic', edit, { readOnly: ro }))
    const switchId = this.fieldId('switch')
    const switchMode = h('input', { id: switchId, type: 'checkbox', 'data-testid': 'switch-mode' })
    this.cleanups.push(bindField(switchMode, data, 'switchMode', edit, { readOnly: ro }))
    const groups = h('ol', { className: 'logic-groups' })
    const addGroup = h('button', { type: 'button', className: 'secondary', 'data-testid': 'add-group', disabled: ro }, 'Add rule group')
    addGroup.hidden = ro
    addGroup.addEventListener('click', () => {
      const block = newConditionBlock(`Case ${mapsOf(cond.get('blocks')).length + 1}`)
      edit(() => listIn(cond, 'blocks').push([block]))
      groups.querySelector<HTMLElement>(`[data-key="variable-${String(mapsOf(block.get('rules'))[0]?.get('id'))}"]`)?.focus()
    })
    section.append(h('h3', { id: this.fieldId('cond-h') }, 'Condition'),
      h('div', { className: 'inline-field' }, switchMode, h('label', { for: switchId }, 'Switch mode: one output per group, then “default”')),
      h('label', { for: logicId }, 'The condition is true when'), logic, groups, addGroup)
    this.element.append(section)
    let stopGroups: () => void = () => {}
    const mount = (): void => {
      stopGroups()
      stopGroups = bindList(groups, listIn(cond, 'blocks'), (block, i) => this.conditionGroup(cond, block, i), () =>
        h('li', { className: 'muted' }, ro ? 'No rules.' : 'No rules yet: add a rule group. With no rules the condition is true.'))
    }
    if (cond.get('blocks') instanceof Y.Array) mount()
    else if (!ro) edit(() => { listIn(cond, 'blocks'); mount() })
    const observer = (event: Y.YMapEvent<unknown>): void => { if (event.keysChanged.has('blocks') && cond.get('blocks') instanceof Y.Array) mount() }
    cond.observe(observer)
    this.cleanups.push(() => { cond.unobserve(observer); stopGroups() })
  }

  private conditionGroup (cond: Y.Map<unknown>, block: Y.Map<unknown>, index: number): [HTMLElement, () => void] {
    const ro = this.options.readOnly
    const edit = this.options.edit
    const cleanups: Array<() => void> = []
    const blockId = String(block.get('id'))
    const labelId = this.fieldId(`group-${blockId}-label`)
    const label = h('input', { id: labelId, type: 'text', autocomplete: 'off', 'data-key': `label-${blockId}` })
    cleanups.push(bindField(label, block, 'label', edit, { readOnly: ro }))
    const logicId = this.fieldId(`group-${blockId}-logic`)
    const logic = this.select(`Logic of group ${index + 1}`, [['all', 'all rules are true'], ['any', 'any rule is true']], `logic-${blockId}`)
    logic.id = logicId
    cleanups.push(bindField(logic, block, 'logic', edit, { readOnly: ro }))
    const rules = h('ol', { className: 'logic-rules' })
    const addRule = h('button', { type: 'button', className: 'secondary small', 'data-testid': 'add-rule', disabled: ro }, 'Add rule')
    addRule.hidden = ro
    addRule.addEventListener('click', () => {
      const rule = newRule()
      edit(() => listIn(block, 'rules').push([rule]))
      rules.querySelector<HTMLElement>(`[data-key="variable-${String(rule.get('id'))}"]`)?.focus()
    })
    const remove = h('button', { type: 'button', className: 'icon secondary danger small', 'aria-label': `Remove rule group ${index + 1}`, disabled: ro, onclick: () => edit(() => removeById(listIn(cond, 'blocks'), blockId)) }, '×')
    remove.hidden = ro
    let stopRules: () => void = () => {}
    const mount = (): void => {
      stopRules()
      const list = block.get('rules')
      if (!(list instanceof Y.Array)) {
        rules.replaceChildren()
        stopRules = () => {}
        return
      }
      stopRules = bindList(rules, list as Y.Array<Y.Map<unknown>>, (rule, r) => this.assignmentLike(rule, `Rule ${r + 1} of group ${index + 1}`, CONDITION_OPERATORS, VALUELESS_CONDITION,
        () => edit(() => removeById(listIn(block, 'rules'), String(rule.get('id'))))), () => h('li', { className: 'muted' }, 'No rules in this group.'))
    }
    mount()
    const observer = (event: Y.YMapEvent<unknown>): void => { if (event.keysChanged.has('rules')) mount() }
    block.observe(observer)
    cleanups.push(() => { block.unobserve(observer); stopRules() })
    const el = h('li', { className: 'logic-group', 'data-id': blockId },
      h('div', { className: 'group-head' }, h('span', { className: 'group-title' }, `Group ${index + 1}`), remove),
      h('label', { for: labelId }, 'Name (the output’s name in switch mode)'), label,
      h('label', { for: logicId }, 'The group is true when'), logic, rules, addRule)
    return [el, () => { for (const c of cleanups) c() }]
  }

  /** One rule or assignment: page shortcut, variable, operator and value, each its own key. */
  private assignmentLike (map: Y.Map<unknown>, title: string, operators: Array<[string, string]>, valueless: Set<string>, remove: () => void): [HTMLElement, () => void] {
    const ro = this.options.readOnly
    const edit = this.options.edit
    const id = String(map.get('id'))
    const cleanups: Array<() => void> = []
    const text = (key: string, label: string, placeholder: string): HTMLInputElement => {
      const input = h('input', { type: 'text', autocomplete: 'off', placeholder, 'aria-label': `${title}: ${label}`, 'data-key': `${key}-${id}` })
      cleanups.push(bindField(input, map, key, edit, { readOnly: ro }))
      return input
    }
    const sheet = text('sheet', 'page shortcut', 'page')
    const variable = text('variable', 'variable', 'variable')
    const operator = this.select(`${title}: operator`, operators, `operator-${id}`)
    cleanups.push(bindField(operator, map, 'operator', edit, { readOnly: ro }))
    const value = text('value', 'value', 'value')
    const showValue = (): void => { value.hidden = valueless.has(operator.value) }
    showValue()
    operator.addEventListener('change', showValue)
    const follow = (event: Y.YMapEvent<unknown>): void => { if (event.keysChanged.has('operator')) showValue() }
    map.observe(follow)
    cleanups.push(() => map.unobserve(follow))
    const del = h('button', { type: 'button', className: 'icon secondary danger small', 'aria-label': `Remove ${title.toLowerCase()}`, disabled: ro, onclick: remove }, '×')
    del.hidden = ro
    const el = h('li', { className: 'logic-rule', 'data-id': id, 'aria-label': title },
      h('div', { className: 'rule-ref' }, sheet, h('span', { 'aria-hidden': 'true' }, '.'), variable), operator, value, del)
    return [el, () => { for (const c of cleanups) c() }]
  }

  /** The instruction editor: assignments, each its own Y.Map in the node's `assignments` array. */
  private instructionEditor (data: Y.Map<unknown>): void {
    const ro = this.options.readOnly
    const edit = this.options.edit
    const section = h('section', { className: 'logic-editor', 'aria-labelledby': this.fieldId('instr-h'), 'data-testid': 'instruction-editor' })
    const list = h('ol', { className: 'logic-rules' })
    const add = h('button', { type: 'button', className: 'secondary', 'data-testid': 'add-assignment', disabled: ro }, 'Add assignment')
    add.hidden = ro
    add.addEventListener('click', () => {
      const assignment = newAssignment()
      edit(() => listIn(data, 'assignments').push([assignment]))
      list.querySelector<HTMLElement>(`[data-key="variable-${String(assignment.get('id'))}"]`)?.focus()
    })
    section.append(h('h3', { id: this.fieldId('instr-h') }, 'Assignments'), list, add)
    this.element.append(section)
    let stop: () => void = () => {}
    const mount = (): void => {
      stop()
      const assignments = data.get('assignments')
      if (!(assignments instanceof Y.Array)) {
        list.replaceChildren(h('li', { className: 'muted' }, 'No assignments yet.'))
        stop = () => {}
        return
      }
      stop = bindList(list, assignments as Y.Array<Y.Map<unknown>>, (a, i) => this.assignmentLike(a, `Assignment ${i + 1}`, ASSIGNMENT_OPERATORS, VALUELESS_ASSIGNMENT,
        () => edit(() => removeById(listIn(data, 'assignments'), String(a.get('id'))))), () => h('li', { className: 'muted' }, 'No assignments yet.'))
    }
    mount()
    const observer = (event: Y.YMapEvent<unknown>): void => { if (event.keysChanged.has('assignments')) mount() }
    data.observe(observer)
    this.cleanups.push(() => { data.unobserve(observer); stop() })
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
