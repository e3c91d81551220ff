/**
 * The connection indicator: online / offline / retrying, "Saved" only when the server has
 * acknowledged everything this page sent (see sync.ts), and the clear messages for the close
 * codes a person can act on (4401 sign in again, 4403 access removed, 1013 retrying).
 */
import type { DocSession, SyncStatus } from './sync'
import { h } from './ui'

const LINK_TEXT: Record<SyncStatus['link'], string> = {
  connecting: 'Connecting…',
  online: 'Online',
  offline: 'Offline',
  retrying: 'Retrying…',
  'signed-out': 'Signed out',
  forbidden: 'No access',
  'not-found': 'Not found',
  refused: 'Disconnected'
}

export function saveText (status: SyncStatus): string {
  if (status.saved) return 'Saved'
  if (status.link === 'online') return 'Saving…'
  return 'Not saved yet: changes kept on this device'
}

export interface StatusActions {
  signIn: () => void
}

/** Mount the indicator and the banner for `session`; returns a function that removes them. */
export function mountConnectionStatus (indicatorHost: HTMLElement, bannerHost: HTMLElement, session: DocSession, actions: StatusActions): () => void {
  const dot = h('span', { className: 'dot', 'aria-hidden': 'true' })
  const link = h('span', { className: 'link-text', 'data-testid': 'link-state' })
  const save = h('span', { className: 'save-text', 'data-testid': 'save-state' })
  const indicator = h('div', { className: 'status', role: 'status', 'aria-live': 'polite', 'aria-label': 'Connection and save state' }, dot, link, save)
  indicatorHost.replaceChildren(indicator)
  const banner = h('div', { className: 'banner', role: 'alert', hidden: true })
  bannerHost.replaceChildren(banner)

  const stop = session.onStatus((status) => {
    indicator.dataset.link = status.link
    indicator.dataset.saved = String(status.saved)
    indicator.dataset.acks = String(status.acks)
    indicator.dataset.seq = status.seq === null ? '' : String(status.seq)
    link.textContent = LINK_TEXT[status.link]
    save.textContent = saveText(status)
    if (status.message === null) {
      banner.hidden = true
      banner.replaceChildren()
      return
    }
    banner.hidden = false
    banner.dataset.code = String(status.closeCode ?? '')
    const buttons: HTMLElement[] = []
    if (status.link === 'signed-out') buttons.push(h('button', { type: 'button', onclick: actions.signIn }, 'Sign in again'))
    if (status.link === 'retrying') buttons.push(h('button', { type: 'button', onclick: () => session.reconnect() }, 'Retry now'))
    if (status.link === 'refused' || status.link === 'not-found') buttons.push(h('button', { type: 'button', onclick: () => location.reload() }, 'Reload'))
    banner.replaceChildren(h('p', {}, status.message), ...buttons)
  })
  return () => {
    stop()
    indicator.remove()
    banner.remove()
  }
}
