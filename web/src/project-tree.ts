/**
 * The project tree: pages and flows from the project's tree document (projects/P/tree), live.
 * Create, rename, move (into another folder item, or up and down among siblings), delete (to the
 * trash: `deletedAt` set). Sibling order is a fractional index (positions.ts), so two people
 * moving things at once never renumber each other's items and converge on one order.
 */
import * as Y from 'yjs'
import { type TreeItem, type TreeKind, type TreeRoots, newId, newTreeItem, readTreeItem, treeRoots } from './schema'
import { positionBetween } from './positions'
import type { DocSession } from './sync'
import { confirmAction, h, openDialog, promptText, skeleton } from './ui'

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

  private children (kind: TreeKind, parentId: string | null): TreeItem[] {
    const all = this.items(kind).filter((i) => i.deletedAt === null)
    const ids = new Set(all.map((i) => i.id))
    return all
      .filter((i) => (i.parentId !== null && ids.has(i.parentId) ? i.parentId : null) === parentId)
      .sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : a.id.localeCompare(b.id)))
  }

  private edit (fn: () => void): void {
    this.session.doc.transact(fn, TREE_ORIGIN)
  }

  async create (kind: TreeKind, parentId: string | null = null): Promise<string | null> {
    const name = await promptText(kind === 'flows' ? 'New flow' : 'New page', 'Name', '', 'Create')
    if (name === null) return null
    const siblings = this.children(kind, parentId)
    const last = siblings.length > 0 ? siblings[siblings.length - 1].position : null
    const id = newId().replace(/-/g, '')
    this.edit(() => this.roots[kind].set(id, newTreeItem(name, parentId, positionBetween(last, null))))
    return id
  }

  async rename (item: TreeItem): Promise<void> {
    const name = await promptText(`Rename “${item.name}”`, 'Name', item.name)
    const map = this.roots[item.kind].get(item.id)
    if (name !== null && map instanceof Y.Map) this.edit(() => map.set('name', name))
  }

  async remove (item: TreeItem): Promise<void> {
    const ok = await confirmAction(`Delete “${item.name}”?`, 'It moves to the trash; its content is kept.', 'Delete')
    const map = this.roots[item.kind].get(item.id)
    if (ok && map instanceof Y.Map) this.edit(() => map.set('deletedAt', new Date().toISOString()))
  }

  /** Move up or down among siblings: a new position between the neighbours, nothing renumbered. */
  shift (item: TreeItem, direction: -1 | 1): void {
    const siblings = this.children(item.kind, item.parentId)
    const index = siblings.findIndex((s) => s.id === item.id)
    const target = index + direction
    if (index < 0 || target < 0 || target >= siblings.length) return
    const rest = siblings.filter((s) => s.id !== item.id)
    const before = direction < 0 ? rest[target - 1]?.position ?? null : rest[target]?.position ?? null
    const after = direction < 0 ? rest[target]?.position ?? null : rest[target + 1]?.position ?? null
    const map = this.roots[item.kind].get(item.id)
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
    const parentId = parent === '' ? null : parent
    const siblings = this.children(item.kind, parentId).filter((s) => s.id !== item.id)
    const last = siblings.length > 0 ? siblings[siblings.length - 1].position : null
    const map = this.roots[item.kind].get(item.id)
    if (map instanceof Y.Map) {
      this.edit(() => {
        map.set('parentId', parentId)
        map.set('position', positionBetween(last, null))
      })
    }
  }

  refresh (): void {
    this.render()
  }

  private render (): void {
    if (!this.synced) return
    const current = this.options.current()
    const section = (kind: TreeKind, title: string): HTMLElement => {
      const addButton = h('button', { type: 'button', className: 'secondary small', 'data-testid': `new-${kind}`, disabled: this.options.readOnly }, title === 'Flows' ? 'New flow' : 'New page')
      addButton.addEventListener('click', () => {
        void this.create(kind).then((id) => {
          if (id !== null) location.hash = `#/projects/${this.options.project}/${kind}/${id}`
        })
      })
      const list = this.list(kind, null, current, 0)
      return h('section', { className: 'tree-section' },
        h('div', { className: 'tree-heading' }, h('h2', {}, title), addButton),
        list.childElementCount > 0 ? list : h('p', { className: 'muted' }, kind === 'flows' ? 'No flows yet.' : 'No pages yet.'))
    }
    this.body.replaceChildren(section('flows', 'Flows'), section('pages', 'Pages'))
  }

  private list (kind: TreeKind, parentId: string | null, current: { kind: TreeKind, id: string } | null, depth: number): HTMLElement {
    const ul = h('ul', { role: depth === 0 ? 'tree' : 'group', 'aria-label': depth === 0 ? (kind === 'flows' ? 'Flows' : 'Pages') : null })
    if (depth > 20) return ul // a cycle made by concurrent moves: stop drawing, the server reports it
    for (const item of this.children(kind, parentId)) {
      const isCurrent = current?.kind === kind && current.id === item.id
      const link = h('a', {
        href: `#/projects/${this.options.project}/${kind}/${item.id}`,
        className: `tree-link${isCurrent ? ' current' : ''}`,
        'aria-current': isCurrent ? 'page' : null
      }, item.name)
      const actions = h('span', { className: 'tree-actions' },
        this.action('Rename', `Rename ${item.name}`, () => void this.rename(item)),
        this.action('↑', `Move ${item.name} up`, () => this.shift(item, -1)),
        this.action('↓', `Move ${item.name} down`, () => this.shift(item, 1)),
        this.action('Move', `Move ${item.name} into…`, () => void this.move(item)),
        this.action('×', `Delete ${item.name}`, () => void this.remove(item)))
      const childList = this.list(kind, item.id, current, depth + 1)
      ul.append(h('li', { role: 'treeitem', 'data-id': item.id, 'aria-expanded': childList.childElementCount > 0 ? 'true' : null },
        h('div', { className: 'tree-row' }, link, actions),
        childList.childElementCount > 0 ? childList : null))
    }
    return ul
  }

  private action (text: string, label: string, run: () => void): HTMLElement {
    const b = h('button', { type: 'button', className: 'tree-action', 'aria-label': label, title: label, disabled: this.options.readOnly }, text)
    b.addEventListener('click', run)
    return b
  }

  destroy (): void {
    for (const stop of this.stop) stop()
    this.element.remove()
  }
}
