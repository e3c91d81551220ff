/** Small DOM helpers shared by the views: element builder, dialogs with focus management, notices. */

type Child = Node | string | null | undefined | false
type Attrs = Record<string, string | number | boolean | null | undefined | ((event: Event) => void)>

export function h<K extends keyof HTMLElementTagNameMap> (tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue
    if (typeof value === 'function') {
      el.addEventListener(key.replace(/^on/, '').toLowerCase(), value)
    } else if (key === 'className') {
      el.className = String(value)
    } else if (key === 'text') {
      el.textContent = String(value)
    } else {
      el.setAttribute(key, value === true ? '' : String(value))
    }
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue
    el.append(child)
  }
  return el
}

/** Announce a message to screen readers and show it briefly as a toast. */
export function notify (message: string, kind: 'info' | 'error' = 'info'): void {
  let region = document.getElementById('toasts')
  if (region === null) {
    region = h('div', { id: 'toasts', className: 'toasts', role: 'status', 'aria-live': 'polite' })
    document.body.append(region)
  }
  const toast = h('div', { className: `toast toast-${kind}` }, message)
  region.append(toast)
  setTimeout(() => toast.remove(), 5000)
}

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"]), [contenteditable="true"]'

/**
 * A modal dialog: focus moves into it, Tab stays inside, Escape cancels, and focus returns to
 * where it was. `build` fills the form and returns the value to resolve with on submit.
 */
export function openDialog<T> (title: string, build: (form: HTMLFormElement, close: (value: T | null) => void) => () => T | null): Promise<T | null> {
  return new Promise((resolve) => {
    const previous = document.activeElement as HTMLElement | null
    const titleId = `dialog-title-${Math.random().toString(36).slice(2)}`
    const form = h('form', { className: 'dialog-form', method: 'dialog' })
    const dialog = h('div', { className: 'dialog', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': titleId },
      h('h2', { id: titleId }, title), form)
    const backdrop = h('div', { className: 'backdrop' }, dialog)
    let done = false
    const close = (value: T | null): void => {
      if (done) return
      done = true
      backdrop.remove()
      previous?.focus()
      resolve(value)
    }
    const submit = build(form, close)
    form.addEventListener('submit', (event) => {
      event.preventDefault()
      const value = submit()
      if (value !== null) close(value)
    })
    backdrop.addEventListener('mousedown', (event) => {
      if (event.target === backdrop) close(null)
    })
    dialog.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        event.preventDefault()
        close(null)
      } else if (event.key === 'Tab') {
        const items = Array.from(dialog.querySelectorAll<HTMLElement>(FOCUSABLE))
        if (items.length === 0) return
        const first = items[0]; const last = items[items.length - 1]
        if (event.shiftKey && document.activeElement === first) {
          event.preventDefault()
          last.focus()
        } else if (!event.shiftKey && document.activeElement === last) {
          event.preventDefault()
          first.focus()
        }
      }
    })
    document.body.append(backdrop)
    const target = dialog.querySelector<HTMLElement>('[autofocus]') ?? dialog.querySelector<HTMLElement>(FOCUSABLE)
    target?.focus()
  })
}

/** A text prompt as a dialog: resolves with the trimmed text, or null when cancelled. */
export function promptText (title: string, label: string, initial = '', submitLabel = 'Save'): Promise<string | null> {
  return openDialog<string>(title, (form, close) => {
    const id = `prompt-${Math.random().toString(36).slice(2)}`
    const input = h('input', { id, type: 'text', value: initial, required: true, autofocus: true, autocomplete: 'off' })
    const error = h('p', { className: 'field-error', role: 'alert' })
    form.append(
      h('label', { for: id }, label), input, error,
      h('div', { className: 'dialog-actions' },
        h('button', { type: 'button', className: 'secondary', onclick: () => close(null) }, 'Cancel'),
        h('button', { type: 'submit' }, submitLabel))
    )
    return () => {
      const value = input.value.trim()
      if (value === '') {
        error.textContent = 'Please enter a name.'
        input.focus()
        return null
      }
      return value
    }
  })
}

export function confirmAction (title: string, message: string, confirmLabel: string): Promise<boolean> {
  return openDialog<boolean>(title, (form, close) => {
    form.append(h('p', {}, message), h('div', { className: 'dialog-actions' },
      h('button', { type: 'button', className: 'secondary', onclick: () => close(null), autofocus: true }, 'Cancel'),
      h('button', { type: 'submit', className: 'danger' }, confirmLabel)))
    return () => true
  }).then((value) => value === true)
}

/** A list placeholder while data loads. */
export function skeleton (rows = 5): HTMLElement {
  const el = h('div', { className: 'skeleton', 'aria-busy': 'true', 'aria-label': 'Loading' })
  for (let i = 0; i < rows; i++) el.append(h('div', { className: 'skeleton-row' }))
  return el
}

/** A friendly error with a retry button. */
export function errorPanel (message: string, retry?: () => void): HTMLElement {
  return h('div', { className: 'error-panel', role: 'alert' },
    h('p', {}, message),
    retry !== undefined ? h('button', { type: 'button', onclick: retry }, 'Try again') : null)
}

/**
 * Bind a text input (or textarea) to a Y.Text: local typing becomes a minimal splice, remote
 * changes update the field while keeping the caret where it was.
 */
export function bindText (input: HTMLInputElement | HTMLTextAreaElement, ytext: import('yjs').Text, origin: unknown): () => void {
  input.value = ytext.toString()
  const onInput = (): void => {
    const before = ytext.toString()
    const after = input.value
    let start = 0
    while (start < before.length && start < after.length && before[start] === after[start]) start++
    let endBefore = before.length; let endAfter = after.length
    while (endBefore > start && endAfter > start && before[endBefore - 1] === after[endAfter - 1]) { endBefore--; endAfter-- }
    const doc = ytext.doc
    const apply = (): void => {
      if (endBefore > start) ytext.delete(start, endBefore - start)
      if (endAfter > start) ytext.insert(start, after.slice(start, endAfter))
    }
    if (doc !== null) doc.transact(apply, origin)
    else apply()
  }
  const observer = (_event: unknown, transaction: import('yjs').Transaction): void => {
    if (transaction.origin === origin && transaction.local) return
    const value = ytext.toString()
    if (value === input.value) return
    const focused = document.activeElement === input
    const selStart = input.selectionStart; const selEnd = input.selectionEnd
    input.value = value
    if (focused && selStart !== null && selEnd !== null) input.setSelectionRange(Math.min(selStart, value.length), Math.min(selEnd, value.length))
  }
  input.addEventListener('input', onInput)
  ytext.observe(observer)
  return () => {
    input.removeEventListener('input', onInput)
    ytext.unobserve(observer)
  }
}
