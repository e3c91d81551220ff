/**
 * The page editor: a page's blocks in `blockOrder` order, each bound to its Y.Map (label Y.Text,
 * value per block type; rich text bound to a Y.XmlFragment). Add, move up and down, delete.
 */
import * as Y from 'yjs'
import { type BlockType, type PageRoots, BLOCK_LABELS, BLOCK_TYPES, moveBlock, newBlock, newId, orderedBlockIds, pageRoots, removeBlock } from './schema'
import { mountRichText } from './richtext'
import type { DocSession } from './sync'
import { bindText, h, notify } from './ui'

const PAGE_ORIGIN = Symbol('page edit')

export class PageEditor {
  readonly element: HTMLElement
  readonly roots: PageRoots
  readonly undo: Y.UndoManager
  private readonly list: HTMLElement
  private readonly blockCleanups = new Map<string, () => void>()
  private readonly blockEls = new Map<string, HTMLElement>()
  private readonly stop: Array<() => void> = []

  constructor (private readonly session: DocSession, private readonly readOnly: boolean) {
    this.roots = pageRoots(session.doc)
    this.undo = new Y.UndoManager([this.roots.blocks, this.roots.blockOrder], { trackedOrigins: new Set([PAGE_ORIGIN]) })
    this.list = h('ol', { className: 'blocks', 'aria-label': 'Blocks' })
    const typeSelect = h('select', { 'aria-label': 'Block type to add', 'data-testid': 'add-block-type' }, ...BLOCK_TYPES.map((t) => h('option', { value: t }, BLOCK_LABELS[t])))
    const add = h('button', { type: 'button', 'data-testid': 'add-block', disabled: readOnly }, 'Add block')
    add.addEventListener('click', () => this.addBlock(typeSelect.value as BlockType))
    this.element = h('div', { className: 'page-editor' },
      h('div', { className: 'toolbar', role: 'toolbar', 'aria-label': 'Page tools' }, typeSelect, add,
        h('button', { type: 'button', className: 'secondary', onclick: () => this.undo.undo() }, 'Undo'),
        h('button', { type: 'button', className: 'secondary', onclick: () => this.undo.redo() }, 'Redo')),
      this.list)
    const render = (events: Array<Y.YEvent<any>>): void => {
      // Only membership and order re-render the list; field edits are bound in place.
      if (events.some((e) => e.target === this.roots.blocks || e.target === this.roots.blockOrder ||
          (e.target instanceof Y.Map && e.path.length === 1 && (e as Y.YMapEvent<unknown>).keysChanged.has('type')))) this.render()
    }
    this.roots.blocks.observeDeep(render)
    this.roots.blockOrder.observeDeep(render)
    this.stop.push(() => {
      this.roots.blocks.unobserveDeep(render)
      this.roots.blockOrder.unobserveDeep(render)
    })
    this.render()
  }

  private edit (fn: () => void): void {
    this.session.doc.transact(fn, PAGE_ORIGIN)
  }

  addBlock (type: BlockType): string {
    const id = newId()
    this.edit(() => {
      this.roots.blocks.set(id, newBlock(type, BLOCK_LABELS[type]))
      this.roots.blockOrder.push([id])
    })
    this.blockEls.get(id)?.querySelector<HTMLElement>('input, textarea, select, [contenteditable]')?.focus()
    notify(`${BLOCK_LABELS[type]} block added.`)
    return id
  }

  private render (): void {
    const ids = orderedBlockIds(this.roots)
    for (const [id, cleanup] of this.blockCleanups) {
      if (!this.roots.blocks.has(id)) {
        cleanup()
        this.blockCleanups.delete(id)
        this.blockEls.get(id)?.remove()
        this.blockEls.delete(id)
      }
    }
    const els = ids.map((id, index) => {
      let el = this.blockEls.get(id)
      if (el === undefined) {
        el = this.renderBlock(id)
        this.blockEls.set(id, el)
      }
      const up = el.querySelector<HTMLButtonElement>('.move-up'); const down = el.querySelector<HTMLButtonElement>('.move-down')
      if (up !== null) up.disabled = this.readOnly || index === 0
      if (down !== null) down.disabled = this.readOnly || index === ids.length - 1
      return el
    })
    if (els.length === 0) {
      this.list.replaceChildren(h('li', { className: 'muted empty' }, 'This page has no blocks yet. Add one with the toolbar.'))
    } else {
      // Keep focused elements in place: only reorder when the order changed.
      const current = Array.from(this.list.children)
      if (current.length !== els.length || current.some((c, i) => c !== els[i])) this.list.replaceChildren(...els)
    }
  }

  private renderBlock (id: string): HTMLElement {
    const block = this.roots.blocks.get(id) as Y.Map<unknown>
    const type = block.get('type')
    const config = block.get('config'); const value = block.get('value')
    const cleanups: Array<() => void> = []
    const labelId = `block-label-${id}`; const valueId = `block-value-${id}`
    const labelText = config instanceof Y.Map ? config.get('label') : null
    const labelInput = h('input', { id: labelId, className: 'block-label', type: 'text', 'aria-label': 'Block label', readonly: this.readOnly })
    if (labelText instanceof Y.Text) cleanups.push(bindText(labelInput, labelText, PAGE_ORIGIN))
    const body = h('div', { className: 'block-value' })
    if (value instanceof Y.Map && config instanceof Y.Map) {
      cleanups.push(this.renderValue(body, String(type), config, value, valueId, labelId))
    } else {
      body.append(h('p', { className: 'muted' }, 'This block has no value the editor understands.'))
    }
    const actions = h('div', { className: 'block-actions' },
      h('button', { type: 'button', className: 'secondary icon move-up', 'aria-label': 'Move block up', onclick: () => this.shift(id, -1) }, '↑'),
      h('button', { type: 'button', className: 'secondary icon move-down', 'aria-label': 'Move block down', onclick: () => this.shift(id, 1) }, '↓'),
      h('button', { type: 'button', className: 'secondary icon danger', 'aria-label': 'Delete block', disabled: this.readOnly, onclick: () => this.edit(() => removeBlock(this.roots, id)) }, '×'))
    const typeName = typeof type === 'string' && type in BLOCK_LABELS ? BLOCK_LABELS[type as BlockType] : String(type)
    this.blockCleanups.set(id, () => { for (const c of cleanups) c() })
    return h('li', { className: 'block', 'data-id': id, 'data-type': String(type) },
      h('div', { className: 'block-head' }, h('span', { className: 'type-chip' }, typeName), labelInput, actions), body)
  }

  private shift (id: string, direction: -1 | 1): void {
    const ids = orderedBlockIds(this.roots)
    const index = ids.indexOf(id)
    if (index < 0) return
    this.edit(() => moveBlock(this.roots, id, index + direction))
  }

  private renderValue (body: HTMLElement, type: string, config: Y.Map<unknown>, value: Y.Map<unknown>, inputId: string, labelId: string): () => void {
    const content = value.get('content')
    const set = (v: unknown): void => this.edit(() => value.set('content', v))
    const ro = this.readOnly
    switch (type) {
      case 'text': {
        const input = h('textarea', { id: inputId, rows: 2, 'aria-labelledby': labelId, readonly: ro })
        body.append(input)
        return content instanceof Y.Text ? bindText(input, content, PAGE_ORIGIN) : () => {}
      }
      case 'rich_text': {
        const host = h('div', { className: 'richtext-host' })
        body.append(host)
        return content instanceof Y.XmlFragment ? mountRichText(host, content, { label: 'Rich text', awareness: this.session.awareness, editable: !ro }) : () => {}
      }
      case 'number': {
        const input = h('input', { id: inputId, type: 'number', 'aria-labelledby': labelId, readonly: ro, value: typeof content === 'number' ? content : '' })
        input.addEventListener('change', () => set(input.value === '' ? null : Number(input.value)))
        body.append(input)
        return this.follow(value, () => { input.value = typeof value.get('content') === 'number' ? String(value.get('content')) : '' })
      }
      case 'date': {
        const input = h('input', { id: inputId, type: 'date', 'aria-labelledby': labelId, readonly: ro, value: typeof content === 'string' ? content : '' })
        input.addEventListener('change', () => set(input.value === '' ? null : input.value))
        body.append(input)
        return this.follow(value, () => { input.value = typeof value.get('content') === 'string' ? String(value.get('content')) : '' })
      }
      case 'boolean': {
        const select = h('select', { id: inputId, 'aria-labelledby': labelId, disabled: ro },
          h('option', { value: '' }, '—'), h('option', { value: 'true' }, 'Yes'), h('option', { value: 'false' }, 'No'))
        const show = (): void => { const c = value.get('content'); select.value = c === true ? 'true' : c === false ? 'false' : '' }
        show()
        select.addEventListener('change', () => set(select.value === '' ? null : select.value === 'true'))
        body.append(select)
        return this.follow(value, show)
      }
      case 'select': case 'multi_select': {
        const options = config.get('options')
        const list = options instanceof Y.Array ? options.toArray().filter((o): o is Y.Map<unknown> => o instanceof Y.Map) : []
        const select = h('select', { id: inputId, 'aria-labelledby': labelId, multiple: type === 'multi_select', disabled: ro },
          type === 'select' ? h('option', { value: '' }, '—') : null,
          ...list.map((o) => h('option', { value: String(o.get('key')) }, String(o.get('value')))))
        const show = (): void => {
          const c = value.get('content')
          const chosen = new Set(c instanceof Y.Array ? c.toArray().map(String) : typeof c === 'string' ? [c] : [])
          for (const opt of Array.from(select.options)) opt.selected = chosen.has(opt.value)
          if (type === 'select' && chosen.size === 0) select.value = ''
        }
        show()
        select.addEventListener('change', () => {
          if (type === 'select') {
            set(select.value === '' ? null : select.value)
          } else {
            const arr = value.get('content')
            const picked = Array.from(select.selectedOptions).map((o) => o.value)
            this.edit(() => {
              if (arr instanceof Y.Array) {
                arr.delete(0, arr.length)
                arr.push(picked)
              } else {
                const fresh = new Y.Array<string>()
                fresh.push(picked)
                value.set('content', fresh)
              }
            })
          }
        })
        body.append(select)
        return this.follow(value, show, true)
      }
      default:
        body.append(h('p', { className: 'muted' }, `${type} blocks are shown read-only here; editing them is not built yet.`))
        return () => {}
    }
  }

  /** Re-show a scalar field when someone else changes it. */
  private follow (value: Y.Map<unknown>, show: () => void, deep = false): () => void {
    const observer = (): void => show()
    if (deep) value.observeDeep(observer)
    else value.observe(observer)
    return () => {
      if (deep) value.unobserveDeep(observer)
      else value.unobserve(observer)
    }
  }

  destroy (): void {
    for (const stop of this.stop) stop()
    for (const cleanup of this.blockCleanups.values()) cleanup()
    this.undo.destroy()
    this.element.remove()
  }
}
