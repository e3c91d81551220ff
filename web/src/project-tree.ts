/**
 * The project tree: pages and flows from the project's tree document (projects/P/tree), live.
 * Create, rename, move (drag and drop; or up and down among siblings, into another item, with
 * buttons or Alt+arrow keys), delete (to the trash: `deletedAt` set) and restore from the trash.
 * Sibling order is a fractional index (positions.ts), so two people moving things at once never
 * renumber each other's items and converge on one order. Parents are drawn as
 * crdt/views/tree.py reads them: a missing parent makes a root, a cycle left by concurrent
 * moves is cut at its smallest id, and the children of a trashed item go to the trash with it.
 */
import * as Y from 'yjs'
import { type TreeItem, type TreeKind, type TreeRoots, newId, newTreeItem, readTreeItem, treeRoots } from './schema'
import { positionBetween } from './positions'
import type { DocSession } from './sync'
import { confirmAction, h, notify, openDialog, promptText, skeleton } from './ui'

const TREE_ORIGIN = Symbol('tree edit')

export interface TreeOptions {
  project: string
  current: () => { kind: TreeKind, id: string } | null
  readOnly: boolean
}

export class ProjectTree {
  readonly element: HTMLElement
  readonly roots: TreeRoots
  private readonly body: HTMLElement
  private synced = false
  private readonly stop: Array<() => void> = []
  private dragging: { kind: TreeKind, id: string } | null = null
  private trashOpen = false
  private focusAfter: string | null = null

  constructor (private readonly session: DocSession, private readonly options: TreeOptions) {
    this.roots = treeRoots(session.doc)
    this.body = h('div', { className: 'tree-body' }, skeleton(6))
    this.element = h('nav', { className: 'project-tree', 'aria-label': 'Project pages and flows' }, this.body)
    const render = (): void => this.render()
    this.roots.pages.observeDeep(render)
    this.roots.flows.observeDeep(render)
    this.stop.push(() => {
      this.roots.pages.unobserveDeep(render)
      this.roots.flows.unobserveDeep(render)
    })
    session.whenSynced().then(() => {
      this.synced = true
      this.render()
    }, () => { /* the connection banner explains why */ })
  }

  items (kind: TreeKind): TreeItem[] {
    const out: TreeItem[] = []
    for (const [id, map] of this.roots[kind]) {
      if (map instanceof Y.Map) out.push(readTreeItem(kind, id, map))
    }
    return out
  }

  name (kind: TreeKind, id: string): string | null {
    const map = this.roots[kind].get(id)
    return map instanceof Y.Map ? readTreeItem(kind, id, map).name : null
  }

  /** Effective parents, as crdt/views/tree.py `_parents`: missing parent -> root; cycles cut. */
  parents (kind: TreeKind): Map<string, string | null> {
    const all = this.items(kind)
    const parents = new Map<string, string | null>()
    const ids = new Set(all.map((i) => i.id))
    for (const item of all) parents.set(item.id, item.parentId !== null && ids.has(item.parentId) ? item.parentId : null)
    const walked = new Set<string>()
    for (const start of Array.from(ids).sort()) {
      const chain: string[] = []
      const inChain = new Set<string>()
      let node: string | null = start
      while (node !== null && !walked.has(node) && !inChain.has(node)) {
        chain.push(node)
        inChain.add(node)
        node = parents.get(node) ?? null
      }
      for (const id of chain) walked.add(id)
      if (node !== null && inChain.has(node)) {
        const loop = chain.slice(chain.indexOf(node))
        const smallest = loop.reduce((a, b) => (b < a ? b : a))
        parents.set(smallest, null)
      }
    }
    return parents
  }

  private children (kind: TreeKind, parentId: string | null, parents = this.parents(kind)): TreeItem[] {
    return this.items(kind)
      .filter((i) => i.deletedAt === null && parents.get(i.id) === parentId)
      .sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  }

  /** The item and everything under it (a drop target inside it would make a cycle). */
  private subtree (kind: TreeKind, id: string): Set<string> {
    const parents = this.parents(kind)
    const out = new Set<string>([id])
    let grew = true
    while (grew) {
      grew = false
      for (const [child, parent] of parents) {
        if (parent !== null && out.has(parent) && !out.has(child)) {
          out.add(child)
          grew = true
        }
      }
    }
    return out
  }

  setReadOnly (readOnly: boolean): void {
    if (this.options.readOnly === readOnly) return
    this.options.readOnly = readOnly
    this.render()
  }

  private edit (fn: () => void): void {
    this.session.doc.transact(fn, TREE_ORIGIN)
  }

  async create (kind: TreeKind, parentId: string | null = null): Promise<string | null> {
    if (this.options.readOnly) return null
    const name = await promptText(kind === 'flows' ? 'New flow' : 'New page', 'Name', '', 'Create')
    if (name === null) return null
    const siblings = this.children(kind, parentId)
    const last = siblings.length > 0 ? siblings[siblings.length - 1].position : null
    const id = newId().replace(/-/g, '')
    this.edit(() => this.roots[kind].set(id, newTreeItem(name, parentId, positionBetween(last, null))))
    return id
  }

  async rename (item: TreeItem): Promise<void> {
    if (this.options.readOnly) return
    const name = await promptText(`Rename “${item.name}”`, 'Name', item.name)
    const map = this.roots[item.kind].get(item.id)
    if (name !== null && map instanceof Y.Map) this.edit(() => map.set('name', name))
  }

  async remove (item: TreeItem): Promise<void> {
    if (this.options.readOnly) return
    const ok = await confirmAction(`Delete “${item.name}”?`, 'It moves to the trash; its content is kept.', 'Delete')
    const map = this.roots[item.kind].get(item.id)
    if (ok && map instanceof Y.Map) this.edit(() => map.set('deletedAt', new Date().toISOString()))
  }

  /** Move up or down among siblings: a new position between the neighbours, nothing renumbered. */
  shift (item: TreeItem, direction: -1 | 1): void {
    if (this.options.readOnly) return
    const siblings = this.children(item.kind, this.parents(item.kind).get(item.id) ?? null)
    const index = siblings.findIndex((s) => s.id === item.id)
    const target = index + direction
    if (index < 0 || target < 0 || target >= siblings.length) return
    const rest = siblings.filter((s) => s.id !== item.id)
    const before = direction < 0 ? rest[target - 1]?.position ?? null : rest[target]?.position ?? null
    const after = direction < 0 ? rest[target]?.position ?? null : rest[target + 1]?.position ?? null
    const map = this.roots[item.kind].get(item.id)
    this.focusAfter = `${item.kind}:${item.id}`
    if (map instanceof Y.Map) this.edit(() => map.set('position', positionBetween(before, after)))
  }

  async move (item: TreeItem): Promise<void> {
    const descendants = new Set<string>([item.id])
    let grew = true
    const all = this.items(item.kind)
    while (grew) {
      grew = false
      for (const i of all) {
        if (i.parentId !== null && descendants.has(i.parentId) && !descendants.has(i.id)) {
          descendants.add(i.id)
          grew = true
        }
      }
    }
    const choices = all.filter((i) => i.deletedAt === null && !descendants.has(i.id))
    const parent = await openDialog<string>(`Move “${item.name}”`, (form, close) => {
      const select = h('select', { id: 'move-parent', autofocus: true },
        h('option', { value: '' }, '(top level)'),
        ...choices.map((c) => h('option', { value: c.id, selected: c.id === item.parentId }, c.name)))
      form.append(h('label', { for: 'move-parent' }, 'Put it inside'), select,
        h('div', { className: 'dialog-actions' },
          h('button', { type: 'button', className: 'secondary', onclick: () => close(null) }, 'Cancel'),
          h('button', { type: 'submit' }, 'Move')))
      return () => select.value
    })
    if (parent === null) return
    this.moveTo(item, parent === '' ? null : parent, Infinity)
  }

  /**
   * Put an item under `parentId` at `index` among its other children (Infinity: last), with a
   * position between its new neighbours (crdt/views/tree.py `position_at`). Refuses cycles.
   */
  moveTo (item: TreeItem, parentId: string | null, index: number): boolean {
    if (this.options.readOnly) return false
    if (parentId !== null && this.subtree(item.kind, item.id).has(parentId)) {
      notify('An item cannot go inside itself.', 'error')
      return false
    }
    const siblings = this.children(item.kind, parentId).filter((s) => s.id !== item.id).map((s) => s.position)
    const at = Math.max(0, Math.min(index, siblings.length))
    const before = at > 0 ? siblings[at - 1] : null
    let after: string | null = at < siblings.length ? siblings[at] : null
    if (before !== null && before === after) after = siblings.slice(at).find((p) => p > before) ?? null // a concurrent tie
    const map = this.roots[item.kind].get(item.id)
    if (!(map instanceof Y.Map)) return false
    this.focusAfter = `${item.kind}:${item.id}`
    this.edit(() => {
      if (map.get('parentId') !== parentId) map.set('parentId', parentId)
      map.set('position', positionBetween(before, after))
    })
    return true
  }

  async restore (item: TreeItem): Promise<void> {
    const map = this.roots[item.kind].get(item.id)
    if (this.options.readOnly || !(map instanceof Y.Map)) return
    // Under a parent that is itself in the trash it would stay hidden: bring it back at the top.
    const parents = this.parents(item.kind)
    const deleted = new Set(this.items(item.kind).filter((i) => i.deletedAt !== null).map((i) => i.id))
    let parent = parents.get(item.id) ?? null
    let hidden = false
    for (let i = 0; parent !== null && i < 1000; i++) {
      if (deleted.has(parent)) hidden = true
      parent = parents.get(parent) ?? null
    }
    const roots = this.children(item.kind, null)
    const last = roots.length > 0 ? roots[roots.length - 1].position : null
    this.edit(() => {
      map.set('deletedAt', null)
      if (hidden) {
        map.set('parentId', null)
        map.set('position', positionBetween(last, null))
      }
    })
    notify(`“${item.name}” restored${hidden ? ' at the top level' : ''}.`)
  }

  refresh (): void {
    this.render()
  }

  private render (): void {
    if (!this.synced) return
    // Keep the keyboard where it was: a remote edit redraws the tree under the person's focus.
    const active = document.activeElement instanceof HTMLElement && this.body.contains(document.activeElement) ? document.activeElement.dataset.focus : undefined
    const refocus = this.focusAfter !== null ? `${this.focusAfter}:link` : active
    this.focusAfter = null
    const current = this.options.current()
    const ro = this.options.readOnly
    const section = (kind: TreeKind, title: string): HTMLElement => {
      const addButton = ro
        ? null
        : h('button', { type: 'button', className: 'secondary small', 'data-testid': `new-${kind}`, 'data-focus': `new-${kind}` }, title === 'Flows' ? 'New flow' : 'New page')
      addButton?.addEventListener('click', () => {
        void this.create(kind).then((id) => {
          if (id !== null) location.hash = `#/projects/${this.options.project}/${kind}/${id}`
        })
      })
      const parents = this.parents(kind)
      const list = this.list(kind, null, current, 0, parents)
      const heading = h('h2', { 'data-kind': kind }, title)
      if (!ro) this.dropToTop(heading, kind)
      return h('section', { className: 'tree-section' },
        h('div', { className: 'tree-heading' }, heading, addButton),
        list.childElementCount > 0 ? list : h('p', { className: 'muted' }, kind === 'flows' ? 'No flows yet.' : 'No pages yet.'))
    }
    const hint = ro ? null : h('p', { className: 'sr-only', id: 'tree-keys' }, 'Drag items to move them. With the keyboard: Alt+Up and Alt+Down move the focused item among its siblings, Alt+Right puts it inside the item above, Alt+Left takes it out of its parent.')
    this.body.replaceChildren(...[hint, section('flows', 'Flows'), section('pages', 'Pages'), this.trash()].filter((e): e is HTMLElement => e !== null))
    if (refocus !== undefined) this.body.querySelector<HTMLElement>(`[data-focus="${CSS.escape(refocus)}"]`)?.focus()
  }

  private list (kind: TreeKind, parentId: string | null, current: { kind: TreeKind, id: string } | null, depth: number, parents: Map<string, string | null>): HTMLElement {
    const ul = h('ul', { role: depth === 0 ? 'tree' : 'group', 'aria-label': depth === 0 ? (kind === 'flows' ? 'Flows' : 'Pages') : null })
    if (depth > 50) return ul
    const ro = this.options.readOnly
    const siblings = this.children(kind, parentId, parents)
    siblings.forEach((item, index) => {
      const isCurrent = current?.kind === kind && current.id === item.id
      const link = h('a', {
        href: `#/projects/${this.options.project}/${kind}/${item.id}`,
        className: `tree-link${isCurrent ? ' current' : ''}`,
        'aria-current': isCurrent ? 'page' : null,
        'aria-describedby': ro ? null : 'tree-keys',
        'aria-keyshortcuts': ro ? null : 'Alt+ArrowUp Alt+ArrowDown Alt+ArrowLeft Alt+ArrowRight',
        'data-focus': `${kind}:${item.id}:link`,
        draggable: 'false'
      }, item.name)
      const actions = ro
        ? null
        : h('span', { className: 'tree-actions' },
          this.action('Rename', `Rename ${item.name}`, () => void this.rename(item), `${kind}:${item.id}:rename`),
          this.action('↑', `Move ${item.name} up`, () => this.shift(item, -1), `${kind}:${item.id}:up`),
          this.action('↓', `Move ${item.name} down`, () => this.shift(item, 1), `${kind}:${item.id}:down`),
          this.action('Move', `Move ${item.name} into…`, () => void this.move(item), `${kind}:${item.id}:move`),
          this.action('×', `Delete ${item.name}`, () => void this.remove(item), `${kind}:${item.id}:delete`))
      const row = h('div', { className: 'tree-row', draggable: ro ? null : 'true', 'data-id': item.id }, link, actions)
      if (!ro) {
        this.dragSource(row, item)
        this.dropTarget(row, item, parentId, siblings)
        link.addEventListener('keydown', (event) => this.onKey(event, item, parentId, index, siblings))
      }
      const childList = this.list(kind, item.id, current, depth + 1, parents)
      ul.append(h('li', { role: 'treeitem', 'data-id': item.id, 'aria-expanded': childList.childElementCount > 0 ? 'true' : null },
        row, childList.childElementCount > 0 ? childList : null))
    })
    return ul
  }

  /** Alt+arrows: the keyboard way to do what dragging does. */
  private onKey (event: KeyboardEvent, item: TreeItem, parentId: string | null, index: number, siblings: TreeItem[]): void {
    if (!event.altKey || event.ctrlKey || event.metaKey) return
    let moved = false
    let message = ''
    if (event.key === 'ArrowUp' && index > 0) {
      moved = this.moveTo(item, parentId, index - 1)
      message = `“${item.name}” moved up.`
    } else if (event.key === 'ArrowDown' && index < siblings.length - 1) {
      moved = this.moveTo(item, parentId, index + 1)
      message = `“${item.name}” moved down.`
    } else if (event.key === 'ArrowRight' && index > 0) {
      const into = siblings[index - 1]
      moved = this.moveTo(item, into.id, Infinity)
      message = `“${item.name}” moved inside “${into.name}”.`
    } else if (event.key === 'ArrowLeft' && parentId !== null) {
      const parents = this.parents(item.kind)
      const grand = parents.get(parentId) ?? null
      const around = this.children(item.kind, grand, parents).filter((s) => s.id !== item.id)
      const at = around.findIndex((s) => s.id === parentId)
      const parentName = this.name(item.kind, parentId) ?? ''
      moved = this.moveTo(item, grand, at + 1)
      message = `“${item.name}” moved out of “${parentName}”.`
    } else {
      return
    }
    event.preventDefault()
    if (moved) notify(message)
  }

  private dragSource (row: HTMLElement, item: TreeItem): void {
    row.addEventListener('dragstart', (event) => {
      this.dragging = { kind: item.kind, id: item.id }
      event.dataTransfer?.setData('text/plain', item.name)
      if (event.dataTransfer !== null) event.dataTransfer.effectAllowed = 'move'
      row.classList.add('dragging')
    })
    row.addEventListener('dragend', () => {
      this.dragging = null
      row.classList.remove('dragging')
      for (const el of this.body.querySelectorAll('.drop-before, .drop-after, .drop-inside')) el.classList.remove('drop-before', 'drop-after', 'drop-inside')
    })
  }

  /** Drop on a row: its top quarter puts the item before it, its bottom quarter after, the middle inside. */
  private dropTarget (row: HTMLElement, target: TreeItem, parentId: string | null, siblings: TreeItem[]): void {
    const zone = (event: DragEvent): 'before' | 'after' | 'inside' | null => {
      const dragging = this.dragging
      if (dragging === null || dragging.kind !== target.kind || this.subtree(target.kind, dragging.id).has(target.id)) return null
      const rect = row.getBoundingClientRect()
      const y = (event.clientY - rect.top) / Math.max(1, rect.height)
      return y < 0.25 ? 'before' : y > 0.75 ? 'after' : 'inside'
    }
    row.addEventListener('dragover', (event) => {
      const where = zone(event)
      if (where === null) return
      event.preventDefault()
      if (event.dataTransfer !== null) event.dataTransfer.dropEffect = 'move'
      row.classList.toggle('drop-before', where === 'before')
      row.classList.toggle('drop-after', where === 'after')
      row.classList.toggle('drop-inside', where === 'inside')
    })
    row.addEventListener('dragleave', () => row.classList.remove('drop-before', 'drop-after', 'drop-inside'))
    row.addEventListener('drop', (event) => {
      const where = zone(event)
      const dragging = this.dragging
      row.classList.remove('drop-before', 'drop-after', 'drop-inside')
      if (where === null || dragging === null) return
      event.preventDefault()
      this.dragging = null
      const map = this.roots[dragging.kind].get(dragging.id)
      if (!(map instanceof Y.Map)) return
      const item = readTreeItem(dragging.kind, dragging.id, map)
      const others = siblings.filter((s) => s.id !== item.id)
      const at = others.findIndex((s) => s.id === target.id)
      let ok: boolean
      if (where === 'inside') ok = this.moveTo(item, target.id, Infinity)
      else ok = this.moveTo(item, parentId, where === 'before' ? at : at + 1)
      if (ok) notify(where === 'inside' ? `“${item.name}” moved inside “${target.name}”.` : `“${item.name}” moved.`)
    })
  }

  /** Dropping on a section's heading puts the item last at the top level. */
  private dropToTop (heading: HTMLElement, kind: TreeKind): void {
    heading.addEventListener('dragover', (event) => {
      if (this.dragging?.kind !== kind) return
      event.preventDefault()
      heading.classList.add('drop-inside')
    })
    heading.addEventListener('dragleave', () => heading.classList.remove('drop-inside'))
    heading.addEventListener('drop', (event) => {
      heading.classList.remove('drop-inside')
      const dragging = this.dragging
      if (dragging?.kind !== kind) return
      event.preventDefault()
      this.dragging = null
      const map = this.roots[kind].get(dragging.id)
      if (map instanceof Y.Map && this.moveTo(readTreeItem(kind, dragging.id, map), null, Infinity)) notify('Moved to the top level.')
    })
  }

  /** The trash: deleted pages and flows, newest first, each with Restore. */
  private trash (): HTMLElement {
    const deleted = [...this.items('flows'), ...this.items('pages')]
      .filter((i) => i.deletedAt !== null)
      .sort((a, b) => ((b.deletedAt ?? '') < (a.deletedAt ?? '') ? -1 : (b.deletedAt ?? '') > (a.deletedAt ?? '') ? 1 : a.id < b.id ? -1 : 1))
    const summary = h('summary', { 'data-testid': 'trash-toggle', 'data-focus': 'trash' }, `Trash (${deleted.length})`)
    const list = h('ul', { className: 'trash-list', 'aria-label': 'Deleted pages and flows' })
    for (const item of deleted) {
      const when = item.deletedAt !== null && !Number.isNaN(Date.parse(item.deletedAt)) ? new Date(item.deletedAt).toLocaleString() : (item.deletedAt ?? '')
      const restore = this.options.readOnly
        ? null
        : h('button', { type: 'button', className: 'secondary small', 'aria-label': `Restore ${item.name}`, 'data-focus': `${item.kind}:${item.id}:restore` }, 'Restore')
      restore?.addEventListener('click', () => void this.restore(item))
      list.append(h('li', { className: 'trash-item', 'data-id': item.id },
        h('span', { className: 'trash-name' }, item.name),
        h('span', { className: 'type-chip' }, item.kind === 'flows' ? 'Flow' : 'Page'),
        h('span', { className: 'muted trash-when' }, h('span', { className: 'sr-only' }, 'deleted '), when),
        restore))
    }
    const details = h('details', { className: 'trash', 'data-testid': 'trash' }, summary,
      deleted.length > 0 ? list : h('p', { className: 'muted' }, 'The trash is empty.'))
    details.open = this.trashOpen
    details.addEventListener('toggle', () => { this.trashOpen = details.open })
    return details
  }

  private action (text: string, label: string, run: () => void, focus: string): HTMLElement {
    const b = h('button', { type: 'button', className: 'tree-action', 'aria-label': label, title: label, 'data-focus': focus }, text)
    b.addEventListener('click', run)
    return b
  }

  destroy (): void {
    for (const stop of this.stop) stop()
    this.element.remove()
  }
}
