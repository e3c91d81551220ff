/**
 * The app shell: sign-in, the hash router (#/, #/projects/P, #/projects/P/flows/F,
 * #/projects/P/pages/G, #/ops), and the life of each view's document connection.
 */
import './styles.css'
import { DocSession } from './sync'
import { mountConnectionStatus } from './connection-status'
import { Presence } from './presence'
import { ProjectTree } from './project-tree'
import { FlowEditor } from './flow-editor'
import { PageEditor, type ReferenceSource } from './page-editor'
import { type Role, projectRole } from './api'
import { OpsPage } from './ops'
import { ID_PATTERN, REFERENCE_TREE_KIND, type ReferenceType, type TreeKind, roomName } from './schema'
import { adoptTokenFromUrl, colorFor, displayName, getToken, onTokenChange, setToken } from './session'
import { errorPanel, h, openDialog, skeleton } from './ui'

type Route =
  | { name: 'home' }
  | { name: 'ops' }
  | { name: 'project', project: string }
  | { name: 'doc', project: string, kind: TreeKind, id: string }
  | { name: 'bad' }

function parseRoute (hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent)
  if (parts.length === 0) return { name: 'home' }
  if (parts.length === 1 && parts[0] === 'ops') return { name: 'ops' }
  if (parts[0] !== 'projects' || parts.length < 2 || !ID_PATTERN.test(parts[1])) return { name: 'bad' }
  if (parts.length === 2) return { name: 'project', project: parts[1] }
  if (parts.length === 4 && (parts[2] === 'flows' || parts[2] === 'pages') && ID_PATTERN.test(parts[3])) {
    return { name: 'doc', project: parts[1], kind: parts[2], id: parts[3] }
  }
  return { name: 'bad' }
}

const $ = (id: string): HTMLElement => document.getElementById(id) as HTMLElement
const main = $('main'); const sidebar = $('sidebar'); const crumbs = $('crumbs')
const statusHost = $('status'); const bannerHost = $('banner'); const peopleHost = $('people'); const account = $('account')

interface TreeState { project: string, token: string, session: DocSession, tree: ProjectTree, role: Promise<Role> }
interface DocState { key: string, session: DocSession, presence: Presence, destroy: () => void }

let tree: TreeState | null = null
let doc: DocState | null = null
let ops: OpsPage | null = null
let route: Route = { name: 'home' }
let statusStop: (() => void) | null = null

function showStatus (session: DocSession | null): void {
  statusStop?.()
  statusStop = null
  if (session === null) {
    statusHost.replaceChildren()
    bannerHost.replaceChildren()
  } else {
    statusStop = mountConnectionStatus(statusHost, bannerHost, session, { signIn: () => void signIn() })
  }
}

export function signIn (): Promise<void> {
  return openDialog<string>('Sign in', (form, close) => {
    const input = h('input', { id: 'signin-token', type: 'text', autocomplete: 'username', required: true, autofocus: true, value: getToken() ?? '' })
    const error = h('p', { className: 'field-error', role: 'alert' })
    form.append(
      h('p', { className: 'muted' }, 'Paste your access token. On a development server, any name works (for example “ann”).'),
      h('label', { for: 'signin-token' }, 'Token or name'), input, error,
      h('div', { className: 'dialog-actions' },
        h('button', { type: 'button', className: 'secondary', onclick: () => close(null) }, 'Cancel'),
        h('button', { type: 'submit', 'data-testid': 'signin-submit' }, 'Sign in')))
    return () => {
      const value = input.value.trim()
      if (value === '') {
        error.textContent = 'Please enter a token or a name.'
        return null
      }
      return value
    }
  }).then((token) => {
    if (token !== null) setToken(token)
  })
}

function renderAccount (): void {
  const token = getToken()
  account.replaceChildren(token === null
    ? h('button', { type: 'button', 'data-testid': 'signin', onclick: () => void signIn() }, 'Sign in')
    : h('div', { className: 'account' },
      h('span', { className: 'who', 'data-testid': 'who' }, displayName(token)),
      h('button', { type: 'button', className: 'secondary small', onclick: () => setToken(null) }, 'Sign out')))
}

function closeDoc (): void {
  if (doc !== null) showStatus(null)
  doc?.destroy()
  doc = null
  peopleHost.replaceChildren()
}

function closeTree (): void {
  showRole(null)
  if (tree !== null) {
    showStatus(null)
    tree.tree.destroy()
    tree.session.destroy()
    tree = null
  }
}

/** The "View only" badge in the header, shown to viewers (their edits would be dropped). */
function showRole (role: Role | null): void {
  let badge = document.getElementById('view-only')
  if (badge === null) {
    badge = h('span', { id: 'view-only', className: 'view-only', 'data-testid': 'view-only', title: 'You can see everything live, but not change it.' }, 'View only')
    document.querySelector('.header-right')?.prepend(badge)
  }
  badge.hidden = role !== 'viewer'
  if (role === 'viewer') document.body.dataset.readonly = 'true'
  else delete document.body.dataset.readonly
}

function ensureTree (project: string, token: string): TreeState {
  if (tree !== null && tree.project === project && tree.token === token) return tree
  closeTree()
  const session = new DocSession(roomName.tree(project), token)
  // Read-only until the role is known: nothing editable flashes for a viewer.
  const view = new ProjectTree(session, {
    project,
    readOnly: true,
    current: () => route.name === 'doc' ? { kind: route.kind, id: route.id } : null
  })
  const role = projectRole(project, token)
  const state: TreeState = { project, token, session, tree: view, role }
  tree = state
  void role.then((r) => {
    if (tree !== state) return
    view.setReadOnly(r === 'viewer')
    showRole(r)
  })
  return state
}

function referenceSource (t: TreeState): ReferenceSource {
  return {
    targets: () => (['sheet', 'flow'] as ReferenceType[]).flatMap((type) =>
      t.tree.items(REFERENCE_TREE_KIND[type]).filter((i) => i.deletedAt === null)
        .map((i) => ({ type, id: i.id, name: i.name }))
        .sort((a, b) => a.name.localeCompare(b.name))),
    onChange: (listener) => {
      const run = (): void => listener()
      t.session.doc.on('update', run)
      return () => t.session.doc.off('update', run)
    },
    href: (type, id) => `#/projects/${t.project}/${REFERENCE_TREE_KIND[type]}/${id}`
  }
}

function setCrumbs (items: Array<[string, string | null]>): void {
  const ol = h('ol', {})
  items.forEach(([label, href], i) => {
    const last = i === items.length - 1
    ol.append(h('li', {}, href !== null && !last ? h('a', { href }, label) : h('span', { 'aria-current': last ? 'page' : null }, label)))
  })
  crumbs.replaceChildren(ol)
}

function sidebarTabs (project: HTMLElement, nodes: HTMLElement | null): void {
  if (nodes === null) {
    sidebar.replaceChildren(project)
    return
  }
  const panels = { project, nodes }
  const tabs = h('div', { className: 'tabs', role: 'tablist', 'aria-label': 'Sidebar' })
  const select = (which: 'project' | 'nodes'): void => {
    for (const [name, panel] of Object.entries(panels)) panel.hidden = name !== which
    for (const tab of tabs.querySelectorAll<HTMLElement>('[role="tab"]')) {
      const on = tab.dataset.tab === which
      tab.setAttribute('aria-selected', String(on))
      tab.tabIndex = on ? 0 : -1
    }
  }
  for (const [which, label] of [['project', 'Project'], ['nodes', 'Nodes']] as const) {
    const tab = h('button', { type: 'button', role: 'tab', id: `tab-${which}`, 'aria-controls': `panel-${which}`, 'data-tab': which, 'data-testid': `tab-${which}` }, label)
    tab.addEventListener('click', () => select(which))
    tab.addEventListener('keydown', (event) => {
      if (event.key === 'ArrowRight' || event.key === 'ArrowLeft') {
        const next = which === 'project' ? 'nodes' : 'project'
        select(next)
        tabs.querySelector<HTMLElement>(`[data-tab="${next}"]`)?.focus()
      }
    })
    tabs.append(tab)
  }
  project.id = 'panel-project'; nodes.id = 'panel-nodes'
  for (const [which, panel] of Object.entries(panels)) {
    panel.setAttribute('role', 'tabpanel')
    panel.setAttribute('aria-labelledby', `tab-${which}`)
  }
  sidebar.replaceChildren(tabs, project, nodes)
  select('nodes')
}

function openDoc (project: string, kind: TreeKind, id: string, token: string): void {
  const key = `${project}/${kind}/${id}/${token}`
  if (doc !== null && doc.key === key) return
  closeDoc()
  const t = ensureTree(project, token)
  const session = new DocSession(kind === 'flows' ? roomName.flow(project, id) : roomName.page(project, id), token)
  const name = displayName(token)
  const presence = new Presence(session.awareness, name, colorFor(name))
  const cleanups: Array<() => void> = []
  showStatus(session)
  cleanups.push(presence.mountList(peopleHost))
  const nodesPanel = h('div', { className: 'panel' })
  sidebarTabs(h('div', { className: 'panel' }, t.tree.element), kind === 'flows' ? nodesPanel : null)
  const title = (): string => t.tree.name(kind, id) ?? id
  const crumb = (): void => setCrumbs([[project, `#/projects/${project}`], [kind === 'flows' ? 'Flows' : 'Pages', null], [title(), null]])
  crumb()
  const onTree = (): void => { crumb(); document.title = `${title()} — Storyarn` }
  t.session.doc.on('update', onTree)
  cleanups.push(() => t.session.doc.off('update', onTree))
  onTree()
  main.replaceChildren(h('div', { className: 'loading' }, h('p', { className: 'muted' }, 'Opening…'), skeleton(3)))
  let view: { destroy: () => void } | null = null
  Promise.all([session.whenSynced(), t.role]).then(([, role]) => {
    if (doc?.session !== session) return
    const readOnly = role === 'viewer'
    if (kind === 'flows') {
      const editor = new FlowEditor({ session, presence, sidebarNodes: nodesPanel, readOnly })
      main.replaceChildren(editor.element)
      editor.ensureEntry()
      requestAnimationFrame(() => editor.fit())
      view = editor
      Object.assign(window, { __storyarn: { session, editor } })
    } else {
      const editor = new PageEditor(session, { readOnly, references: referenceSource(t) })
      main.replaceChildren(h('h1', { className: 'page-title' }, title()), editor.element)
      view = editor
      Object.assign(window, { __storyarn: { session, editor } })
    }
  }, (error: Error) => {
    if (doc?.session === session) main.replaceChildren(errorPanel(`This document could not be opened. ${error.message}`, () => { closeDoc(); void render() }))
  })
  doc = {
    key,
    session,
    presence,
    destroy: () => {
      view?.destroy()
      for (const c of cleanups) c()
      presence.destroy()
      session.destroy()
    }
  }
}

function home (): void {
  setCrumbs([['Home', null]])
  const input = h('input', { id: 'project-id', type: 'text', value: 'demo', pattern: '[A-Za-z0-9_\\-]{1,64}', required: true })
  const form = h('form', { className: 'card' },
    h('h1', {}, 'Open a project'),
    h('label', { for: 'project-id' }, 'Project id'), input,
    h('p', { className: 'muted' }, 'Letters, digits, “-” and “_”. On a development server, a new id starts a new project.'),
    h('button', { type: 'submit' }, 'Open'))
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    if (input.checkValidity()) location.hash = `#/projects/${input.value.trim()}`
  })
  main.replaceChildren(h('div', { className: 'home' }, form,
    h('section', { className: 'card' }, h('h2', {}, 'Operators'), h('p', {}, h('a', { href: '#/ops' }, 'Rooms across the cluster')))))
}

function needSignIn (): void {
  main.replaceChildren(h('div', { className: 'card' },
    h('h1', {}, 'Sign in to continue'),
    h('p', {}, 'You need to sign in to open projects.'),
    h('button', { type: 'button', onclick: () => void signIn() }, 'Sign in')))
}

async function render (): Promise<void> {
  route = parseRoute(location.hash)
  renderAccount()
  if (route.name !== 'ops' && ops !== null) {
    ops.destroy()
    ops = null
  }
  const token = getToken()
  if (route.name !== 'project' && route.name !== 'doc') showRole(null)
  if (route.name === 'home' || route.name === 'bad') {
    closeDoc(); closeTree()
    showStatus(null); sidebar.replaceChildren()
    document.body.dataset.view = 'home'
    if (route.name === 'bad') {
      main.replaceChildren(errorPanel('There is nothing at this address.', () => { location.hash = '#/' }))
    } else {
      home()
    }
    return
  }
  if (token === null) {
    closeDoc(); closeTree()
    document.body.dataset.view = 'signin'
    needSignIn()
    return
  }
  if (route.name === 'ops') {
    closeDoc(); closeTree()
    showStatus(null); sidebar.replaceChildren()
    document.body.dataset.view = 'ops'
    setCrumbs([['Home', '#/'], ['Operations', null]])
    if (ops === null) {
      ops = new OpsPage(token)
      main.replaceChildren(ops.element)
    }
    document.title = 'Operations — Storyarn'
    return
  }
  if (route.name === 'project') {
    closeDoc()
    document.body.dataset.view = 'project'
    const t = ensureTree(route.project, token)
    showStatus(t.session)
    sidebarTabs(h('div', { className: 'panel' }, t.tree.element), null)
    setCrumbs([[route.project, null]])
    document.title = `${route.project} — Storyarn`
    const newFlow = h('button', { type: 'button', onclick: () => void t.tree.create('flows').then((id) => { if (id !== null) location.hash = `#/projects/${route.name === 'project' ? route.project : ''}/flows/${id}` }) }, 'New flow')
    const newPage = h('button', { type: 'button', className: 'secondary', onclick: () => void t.tree.create('pages').then((id) => { if (id !== null) location.hash = `#/projects/${route.name === 'project' ? route.project : ''}/pages/${id}` }) }, 'New page')
    const actions = h('div', { className: 'row' }, newFlow, newPage)
    const intro = h('p', {}, 'Choose a flow or a page in the list, or create one.')
    main.replaceChildren(h('div', { className: 'card' }, h('h1', {}, `Project ${route.project}`), intro, actions))
    void t.role.then((role) => {
      if (role !== 'viewer') return
      actions.hidden = true
      intro.textContent = 'Choose a flow or a page in the list. You can view this project; ask an owner to make you an editor to change it.'
    })
    return
  }
  document.body.dataset.view = route.kind === 'flows' ? 'flow' : 'page'
  openDoc(route.project, route.kind, route.id, token)
  tree?.tree.refresh() // highlights the current item
}

function menuToggle (): void {
  const button = h('button', { type: 'button', className: 'menu-toggle secondary small', 'aria-controls': 'sidebar', 'aria-expanded': 'false' }, 'Menu')
  button.addEventListener('click', () => {
    const open = document.body.classList.toggle('sidebar-open')
    button.setAttribute('aria-expanded', String(open))
  })
  document.querySelector('.app-header')?.insertBefore(button, crumbs)
  window.addEventListener('hashchange', () => {
    document.body.classList.remove('sidebar-open')
    button.setAttribute('aria-expanded', 'false')
  })
}

adoptTokenFromUrl()
menuToggle()
onTokenChange(() => {
  closeDoc(); closeTree()
  void render()
})
window.addEventListener('hashchange', () => void render())
void render()
