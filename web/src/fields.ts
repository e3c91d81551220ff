/**
 * Form controls bound to one key of a Y.Map holding a scalar (string, number, boolean or null),
 * and lists of Y.Maps (Y.Array) rendered item by item. Each field is its own map key and each
 * list item its own Y.Map, so two people editing different fields or items merge cleanly; a
 * remote change updates a control unless it has the focus (the person is typing in it).
 */
import * as Y from 'yjs'
import { mapsOf } from './schema'

export type Edit = (fn: () => void) => void

type Control = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement

export interface FieldOptions {
  /** Control value -> stored value (default: the string; '' stays ''). */
  parse?: (raw: string) => unknown
  /** Stored value -> control value (default: String, null/undefined as ''). */
  format?: (value: unknown) => string
  readOnly: boolean
}

function show (value: unknown): string {
  return value === null || value === undefined ? '' : String(value)
}

/** Bind a control to `map[key]`; returns the unbinding function. */
export function bindField (control: Control, map: Y.Map<unknown>, key: string, edit: Edit, options: FieldOptions): () => void {
  const format = options.format ?? show
  const parse = options.parse ?? ((raw: string) => raw)
  const isCheckbox = control instanceof HTMLInputElement && control.type === 'checkbox'
  const render = (): void => {
    const value = map.get(key)
    if (isCheckbox) (control as HTMLInputElement).checked = value === true
    else control.value = format(value)
  }
  render()
  if (options.readOnly) {
    if (control instanceof HTMLSelectElement || isCheckbox) control.disabled = true
    else (control as HTMLInputElement | HTMLTextAreaElement).readOnly = true
  }
  const write = (): void => {
    if (options.readOnly) return
    const next = isCheckbox ? (control as HTMLInputElement).checked : parse(control.value)
    if (map.get(key) !== next) edit(() => map.set(key, next))
  }
  // Text is sent as it is typed; selects, checkboxes, dates and numbers when they change.
  const live = control instanceof HTMLTextAreaElement || (control instanceof HTMLInputElement && (control.type === 'text' || control.type === 'search'))
  control.addEventListener(live ? 'input' : 'change', write)
  const observer = (event: Y.YMapEvent<unknown>): void => {
    if (event.keysChanged.has(key) && (document.activeElement !== control || !event.transaction.local)) render()
  }
  map.observe(observer)
  return () => {
    control.removeEventListener(live ? 'input' : 'change', write)
    map.unobserve(observer)
  }
}

/**
 * Render a Y.Array of Y.Maps into `host`, one element per item from `renderItem` (which returns
 * the element and its cleanup). Items are re-rendered only when the list itself changes
 * (insertions, deletions), never for a field edit inside an item.
 */
export function bindList (host: HTMLElement, list: Y.Array<Y.Map<unknown>>, renderItem: (item: Y.Map<unknown>, index: number) => [HTMLElement, () => void], empty: () => HTMLElement | null): () => void {
  let cleanups: Array<() => void> = []
  const render = (): void => {
    const focused = document.activeElement instanceof HTMLElement && host.contains(document.activeElement) ? document.activeElement : null
    const focusKey = focused?.dataset.key
    for (const c of cleanups) c()
    cleanups = []
    const items = mapsOf(list)
    const els = items.map((item, i) => {
      const [el, cleanup] = renderItem(item, i)
      cleanups.push(cleanup)
      return el
    })
    const placeholder = els.length === 0 ? empty() : null
    host.replaceChildren(...els, ...(placeholder !== null ? [placeholder] : []))
    if (focusKey !== undefined) host.querySelector<HTMLElement>(`[data-key="${CSS.escape(focusKey)}"]`)?.focus()
  }
  render()
  const observer = (event: Y.YArrayEvent<Y.Map<unknown>>): void => {
    if (event.changes.delta.length > 0) render()
  }
  list.observe(observer)
  return () => {
    list.unobserve(observer)
    for (const c of cleanups) c()
  }
}
