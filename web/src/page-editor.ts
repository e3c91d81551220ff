/**
 * The page editor: a page's blocks in `blockOrder` order, each bound to its Y.Map (label Y.Text,
 * value per block type; rich text bound to a Y.XmlFragment). Add, move up and down, delete.
 */
import * as Y from 'yjs'
import {
  type BlockType, type ColumnType, type PageRoots, type ReferenceType, BLOCK_LABELS, BLOCK_TYPES, COLUMN_LABELS, COLUMN_TYPES,
  listIn, mapsOf, moveBlock, newBlock, newGalleryImage, newId, newTableColumn, newTableRow, orderedBlockIds, pageRoots,
  removeBlock, removeById
} from './schema'
import { mountRichText } from './richtext'
import { bindField, bindList } from './fields'
import type { DocSession } from './sync'
import { bindText, h, notify } from './ui'

const PAGE_ORIGIN = Symbol('page edit')

/** What a reference block may point at: the project tree's pages ("sheet") and flows. */
export interface ReferenceTarget { type: ReferenceType, id: string, name: string }
export interface ReferenceSource {
  targets: () => ReferenceTarget[]
  onChange: (listener: () => void) => () => void
  href: (type: ReferenceType, id: string) => string
}

export interface PageEditorOptions {
  readOnly: boolean
  references?: ReferenceSource
}

export class PageEditor {
  readonly element: HTMLElement
  readonly roots: PageRoots
  readonly undo: Y.UndoManager
  private readonly list: HTMLElement
  private readonly blockCleanups = new Map<string, () => void>()
  private readonly blockEls = new Map<string, HTMLElement>()
  private readonly stop: Array<() => void> = []

  private readonly readOnly: boolean
  private readonly references: ReferenceSource | undefined

  constructor (private readonly session: DocSession, options: PageEditorOptions) {
    this.readOnly = options.readOnly
    this.references = options.references
    const readOnly = this.readOnly
    this.roots = pageRoots(session.doc)
    this.undo = new Y.UndoManager([this.roots.blocks, this.roots.blockOrder], { trackedOrigins: new Set([PAGE_ORIGIN]) })
    this.list = h('ol', { className: 'blocks', 'aria-label': 'Blocks' })
    const typeSelect = h('select', { 'aria-label': 'Block type to add', 'data-testid': 'add-block-type', disabled: readOnly }, ...BLOCK_TYPES.map((t) => h('option', { value: t }, BLOCK_LABELS[t])))
    const add = h('button', { type: 'button', 'data-testid': 'add-block', disabled: readOnly }, 'Add block')
    add.addEventListener('click', () => this.addBlock(typeSelect.value as BlockType))
    this.element = h('div', { className: `page-editor${readOnly ? ' read-only' : ''}` },
      readOnly
        ? null
        : h('div', { className: 'toolbar', role: 'toolbar', 'aria-label': 'Page tools' }, typeSelect, add,
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
    if (this.readOnly) return ''
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
    actions.hidden = this.readOnly
    const typeName = typeof type === 'string' && type in BLOCK_LABELS ? BLOCK_LABELS[type as BlockType] : String(type)
    this.blockCleanups.set(id, () => { for (const c of cleanups) c() })
    return h('li', { className: 'block', 'data-id': id, 'data-type': String(type) },
      h('div', { className: 'block-head' }, h('span', { className: 'type-chip' }, typeName), labelInput, actions), body)
  }

  private shift (id: string, direction: -1 | 1): void {
    if (this.readOnly) return
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
      case 'reference':
        return this.renderReference(body, config, value, inputId, labelId)
      case 'table':
        return this.renderTable(body, value, labelId)
      case 'gallery':
        return this.renderGallery(body, value, labelId)
      default:
        body.append(h('p', { className: 'muted' }, `${type} blocks are shown read-only here; editing them is not built yet.`))
        return () => {}
    }
  }

  /** A reference: a page or flow of the project tree, stored as `targetType` + `targetId`. */
  private renderReference (body: HTMLElement, config: Y.Map<unknown>, value: Y.Map<unknown>, inputId: string, labelId: string): () => void {
    const allowedRaw = config.get('allowedTypes')
    const allowed = new Set<string>(allowedRaw instanceof Y.Array ? allowedRaw.toArray().map(String) : ['sheet', 'flow'])
    const select = h('select', { id: inputId, 'aria-labelledby': labelId, 'data-testid': 'reference-target', disabled: this.readOnly })
    const link = h('a', { className: 'reference-link', 'data-testid': 'reference-link' })
    const show = (): void => {
      const targets = (this.references?.targets() ?? []).filter((t) => allowed.has(t.type))
      const type = value.get('targetType'); const id = value.get('targetId')
      const current = typeof type === 'string' && typeof id === 'string' ? `${type}:${id}` : ''
      const groups: Array<[ReferenceType, string]> = [['sheet', 'Pages'], ['flow', 'Flows']]
      select.replaceChildren(h('option', { value: '' }, '(nothing)'),
        ...groups.filter(([t]) => allowed.has(t)).map(([t, label]) => h('optgroup', { label },
          ...targets.filter((x) => x.type === t).map((x) => h('option', { value: `${x.type}:${x.id}` }, x.name)))))
      const known = targets.find((x) => `${x.type}:${x.id}` === current)
      if (current !== '' && known === undefined) select.append(h('option', { value: current }, `(missing: ${current})`))
      select.value = current
      if (known !== undefined && this.references !== undefined) {
        link.hidden = false
        link.textContent = `Open ${known.name}`
        link.setAttribute('href', this.references.href(known.type, known.id))
      } else {
        link.hidden = true
      }
    }
    show()
    select.addEventListener('change', () => {
      if (this.readOnly) return
      const [type, ...rest] = select.value.split(':')
      this.edit(() => {
        value.set('targetType', select.value === '' ? null : type)
        value.set('targetId', select.value === '' ? null : rest.join(':'))
      })
    })
    body.append(h('div', { className: 'reference' }, select, link))
    const stopTree = this.references?.onChange(show) ?? (() => {})
    const stop = this.follow(value, show)
    return () => { stop(); stopTree() }
  }

  /** A table: columns (name, slug, type) and rows (name, cells keyed by column slug). */
  private renderTable (body: HTMLElement, value: Y.Map<unknown>, labelId: string): () => void {
    const ro = this.readOnly
    const host = h('div', { className: 'table-wrap', role: 'region', 'aria-labelledby': labelId, tabindex: 0 })
    const controls = h('div', { className: 'row table-tools' })
    body.append(host, controls)
    if (!ro) {
      const nameId = `${labelId}-newcol`
      const name = h('input', { id: nameId, type: 'text', placeholder: 'Column name', 'data-testid': 'column-name', autocomplete: 'off' })
      const type = h('select', { 'aria-label': 'Column type', 'data-testid': 'column-type' }, ...COLUMN_TYPES.map((t) => h('option', { value: t }, COLUMN_LABELS[t])))
      const addColumn = h('button', { type: 'button', className: 'secondary', 'data-testid': 'add-column' }, 'Add column')
      addColumn.addEventListener('click', () => {
        const label = name.value.trim() === '' ? `Column ${mapsOf(value.get('columns')).length + 1}` : name.value.trim()
        const taken = mapsOf(value.get('columns')).map((c) => String(c.get('slug')))
        this.edit(() => listIn(value, 'columns').push([newTableColumn(label, type.value as ColumnType, taken)]))
        name.value = ''
        notify(`Column “${label}” added.`)
      })
      const addRow = h('button', { type: 'button', className: 'secondary', 'data-testid': 'add-row' }, 'Add row')
      addRow.addEventListener('click', () => {
        const label = `Row ${mapsOf(value.get('rows')).length + 1}`
        this.edit(() => listIn(value, 'rows').push([newTableRow(label)]))
        notify(`${label} added.`)
      })
      controls.append(h('label', { for: nameId, className: 'sr-only' }, 'New column name'), name, type, addColumn, addRow)
    }
    let cleanups: Array<() => void> = []
    const render = (): void => {
      const focused = document.activeElement instanceof HTMLElement && host.contains(document.activeElement) ? document.activeElement.dataset.key : undefined
      for (const c of cleanups) c()
      cleanups = []
      const columns = mapsOf(value.get('columns'))
      const rows = mapsOf(value.get('rows'))
      const table = h('table', { className: 'data block-table', 'aria-labelledby': labelId })
      const headRow = h('tr', {}, h('th', { scope: 'col' }, 'Row'))
      for (const column of columns) {
        const colId = String(column.get('id'))
        const nameInput = h('input', { type: 'text', className: 'cell-input', 'aria-label': 'Column name', 'data-key': `col-${colId}` })
        cleanups.push(bindField(nameInput, column, 'name', (fn) => this.edit(fn), { readOnly: ro }))
        const type = String(column.get('type'))
        const remove = ro ? null : h('button', { type: 'button', className: 'icon secondary danger small', 'aria-label': `Remove column ${String(column.get('name'))}`, onclick: () => this.edit(() => removeById(listIn(value, 'columns'), colId)) }, '×')
        headRow.append(h('th', { scope: 'col', 'data-slug': String(column.get('slug')) },
          h('div', { className: 'col-head' }, nameInput, h('span', { className: 'type-chip' }, type in COLUMN_LABELS ? COLUMN_LABELS[type as ColumnType] : type), remove)))
      }
      if (!ro) headRow.append(h('th', { scope: 'col' }, h('span', { className: 'sr-only' }, 'Actions')))
      const tbody = h('tbody', {})
      rows.forEach((row, r) => {
        const rowId = String(row.get('id'))
        const rowName = h('input', { type: 'text', className: 'cell-input', 'aria-label': `Name of row ${r + 1}`, 'data-key': `row-${rowId}` })
        cleanups.push(bindField(rowName, row, 'name', (fn) => this.edit(fn), { readOnly: ro }))
        const tr = h('tr', { 'data-id': rowId }, h('th', { scope: 'row' }, rowName))
        let cells = row.get('cells')
        if (!(cells instanceof Y.Map)) cells = null
        for (const column of columns) {
          const slug = String(column.get('slug'))
          const colName = String(column.get('name') ?? slug)
          tr.append(h('td', { 'data-slug': slug }, this.cell(row, cells as Y.Map<unknown> | null, slug, String(column.get('type')), `${colName}, row ${r + 1}`, `cell-${rowId}-${slug}`, cleanups)))
        }
        if (!ro) {
          tr.append(h('td', {}, h('button', { type: 'button', className: 'icon secondary danger small', 'aria-label': `Remove row ${r + 1}`, onclick: () => this.edit(() => removeById(listIn(value, 'rows'), rowId)) }, '×')))
        }
        tbody.append(tr)
      })
      table.append(h('thead', {}, headRow), tbody)
      host.replaceChildren(columns.length === 0 && rows.length === 0 ? h('p', { className: 'muted' }, 'No columns or rows yet.') : table)
      if (focused !== undefined) host.querySelector<HTMLElement>(`[data-key="${CSS.escape(focused)}"]`)?.focus()
    }
    render()
    // Rebuild on list changes (columns, rows added or removed); cells and names are bound in place.
    const observer = (events: Array<Y.YEvent<any>>): void => {
      if (events.some((e) => e.target instanceof Y.Array || e.target === value ||
          (e instanceof Y.YMapEvent && e.target instanceof Y.Map && e.keysChanged.has('cells')) ||
          (e instanceof Y.YMapEvent && e.keysChanged.has('slug')))) render()
    }
    value.observeDeep(observer)
    return () => {
      value.unobserveDeep(observer)
      for (const c of cleanups) c()
    }
  }

  /** One table cell, bound to `cells[slug]` (its own map key: edits of other cells merge). */
  private cell (row: Y.Map<unknown>, cells: Y.Map<unknown> | null, slug: string, type: string, label: string, key: string, cleanups: Array<() => void>): HTMLElement {
    const ro = this.readOnly
    const target = cells ?? new Y.Map<unknown>()
    const edit = (fn: () => void): void => this.edit(() => {
      if (!(row.get('cells') instanceof Y.Map)) row.set('cells', target)
      fn()
    })
    let control: HTMLInputElement
    switch (type) {
      case 'number':
        control = h('input', { type: 'number', className: 'cell-input', 'aria-label': label, 'data-key': key })
        cleanups.push(bindField(control, target, slug, edit, { readOnly: ro, parse: (raw) => raw === '' ? null : Number(raw) }))
        break
      case 'boolean':
        control = h('input', { type: 'checkbox', 'aria-label': label, 'data-key': key })
        cleanups.push(bindField(control, target, slug, edit, { readOnly: ro }))
        break
      case 'date':
        control = h('input', { type: 'date', className: 'cell-input', 'aria-label': label, 'data-key': key })
        cleanups.push(bindField(control, target, slug, edit, { readOnly: ro, parse: (raw) => raw === '' ? null : raw }))
        break
      case 'text':
        control = h('input', { type: 'text', className: 'cell-input', 'aria-label': label, 'data-key': key })
        cleanups.push(bindField(control, target, slug, edit, { readOnly: ro }))
        break
      default: {
        // select, multi_select, reference, formula: shown as written, not edited here yet.
        const v = target.get(slug)
        return h('span', { className: 'muted', 'aria-label': label }, v instanceof Y.AbstractType ? JSON.stringify(v.toJSON()) : JSON.stringify(v ?? null))
      }
    }
    return control
  }

  /** A gallery: images (an asset id for now) with a label and a description each. */
  private renderGallery (body: HTMLElement, value: Y.Map<unknown>, labelId: string): () => void {
    const ro = this.readOnly
    const list = h('ol', { className: 'gallery', 'aria-labelledby': labelId })
    body.append(list)
    if (!ro) {
      const add = h('button', { type: 'button', className: 'secondary', 'data-testid': 'add-image' }, 'Add image')
      add.addEventListener('click', () => {
        const image = newGalleryImage()
        this.edit(() => listIn(value, 'images').push([image]))
        list.querySelector<HTMLElement>(`[data-key="asset-${String(image.get('id'))}"]`)?.focus()
      })
      body.append(add)
    }
    let stopList: () => void = () => {}
    const mount = (): void => {
      stopList()
      const images = value.get('images')
      if (!(images instanceof Y.Array)) {
        list.replaceChildren(h('li', { className: 'muted' }, 'No images yet.'))
        stopList = () => {}
        return
      }
      stopList = bindList(list, images as Y.Array<Y.Map<unknown>>, (image, i) => {
        const id = String(image.get('id'))
        const cleanups: Array<() => void> = []
        const field = (key: string, label: string, multiline = false): HTMLElement => {
          const fieldId = `img-${id}-${key}`
          const control = multiline
            ? h('textarea', { id: fieldId, rows: 2, 'data-key': `${key === 'assetId' ? 'asset' : key}-${id}` })
            : h('input', { id: fieldId, type: 'text', autocomplete: 'off', 'data-key': `${key === 'assetId' ? 'asset' : key}-${id}` })
          cleanups.push(bindField(control, image, key, (fn) => this.edit(fn), { readOnly: ro }))
          return h('div', { className: 'image-field' }, h('label', { for: fieldId }, label), control)
        }
        const remove = ro ? null : h('button', { type: 'button', className: 'icon secondary danger', 'aria-label': `Remove image ${i + 1}`, onclick: () => this.edit(() => removeById(listIn(value, 'images'), id)) }, '×')
        const el = h('li', { className: 'gallery-item', 'data-id': id },
          h('div', { className: 'image-thumb', 'aria-hidden': 'true' }, String(i + 1)),
          h('div', { className: 'image-fields' }, field('assetId', 'Asset id'), field('label', 'Label'), field('description', 'Description', true)),
          remove)
        return [el, () => { for (const c of cleanups) c() }]
      }, () => h('li', { className: 'muted' }, 'No images yet.'))
    }
    mount()
    const observer = (event: Y.YMapEvent<unknown>): void => { if (event.keysChanged.has('images')) mount() }
    value.observe(observer)
    return () => {
      value.unobserve(observer)
      stopList()
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
