// Shared by the browser scenarios: launch Debian's chromium through playwright-core, talk to
// the pytest side (named options in; JSON lines out; `checkpoint` waits for pytest's answer on
// stdin), and bounded waits. Every wait has a timeout; a scenario that hangs is killed by pytest.
import { chromium } from 'playwright-core'
import { createInterface } from 'node:readline'
import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
export const SCREENSHOTS = join(ROOT, 'docs', 'screenshots')
const CHROMIUM = process.env.STORYARN_CHROMIUM ?? '/usr/bin/chromium'
const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
  '--disable-dev-shm-usage'
]

export function parseArgs () {
  const out = {}
  const argv = process.argv.slice(2)
  for (let i = 0; i < argv.length; i += 2) out[argv[i].replace(/^--/, '')] = argv[i + 1]
  return out
}

export function emit (value) {
  process.stdout.write(JSON.stringify(value) + '\n')
}

const lines = createInterface({ input: process.stdin })
const waiting = []
const queued = []
lines.on('line', (line) => {
  const resolve = waiting.shift()
  if (resolve) resolve(line)
  else queued.push(line)
})

/** Tell pytest we reached `name` (with data), and wait for its JSON answer. */
export async function checkpoint (name, data = {}) {
  emit({ checkpoint: name, ...data })
  const line = queued.length > 0 ? queued.shift() : await new Promise((resolve) => waiting.push(resolve))
  return JSON.parse(line)
}

export async function launch () {
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true, timeout: 30000 })
}

const allErrors = []

/** A new context and page; page errors and console errors are collected and fail the scenario. */
export async function openPage (browser, { viewport = { width: 1280, height: 800 }, bypassCSP = false } = {}) {
  // bypassCSP only for injecting axe-core: the app itself runs under the server's CSP.
  const context = await browser.newContext({ viewport, bypassCSP })
  context.setDefaultTimeout(10000)
  const page = await context.newPage()
  const errors = []
  errors.push = (...items) => { allErrors.push(...items); return Array.prototype.push.apply(errors, items) }
  page.on('pageerror', (err) => errors.push(String(err)))
  page.on('console', (msg) => {
    // A refused websocket during offline mode is expected; anything else is a bug.
    if (msg.type() === 'error' && !/WebSocket|ERR_INTERNET_DISCONNECTED|net::/.test(msg.text())) errors.push(msg.text())
  })
  return { context, page, errors }
}

export async function shot (page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true })
  await page.evaluate(() => document.getElementById('toasts')?.replaceChildren()) // transient notices
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) })
}

/** Poll `check` in the page's process (node side) until truthy; bounded. */
export async function waitFor (check, { timeoutMs = 10000, what = 'a condition', intervalMs = 50 } = {}) {
  const started = Date.now()
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}

export async function saveState (page) {
  return page.locator('[data-testid="save-state"]').textContent()
}

export async function waitSaved (page, timeout = 10000) {
  await page.waitForFunction(() => document.querySelector('.status')?.getAttribute('data-saved') === 'true' &&
    document.querySelector('.status')?.getAttribute('data-link') === 'online', null, { timeout })
}

/** The flow as JSON, read from the page's Y.Doc (the same canonical form as the Python side). */
export async function flowJson (page) {
  return page.evaluate(() => {
    const { session } = window.__storyarn
    const nodes = session.doc.getMap('nodes'); const connections = session.doc.getMap('connections')
    const text = (v) => (v && typeof v.toString === 'function' && typeof v !== 'string') ? v.toString() : v
    const out = { nodes: {}, connections: {} }
    for (const [id, n] of nodes) {
      const data = n.get('data')
      out.nodes[id] = { type: n.get('type'), x: n.get('x'), y: n.get('y'), text: data && data.get('text') ? text(data.get('text')) : null }
    }
    for (const [id, c] of connections) out.connections[id] = c.toJSON()
    return out
  })
}

/** Run `body` and always close the browser; print `{ok: true, ...result}` or fail with exit 1. */
export async function scenario (body) {
  const args = parseArgs()
  const browser = await launch()
  try {
    const result = await body(browser, args)
    emit({ ok: true, ...result })
  } catch (err) {
    emit({ ok: false, error: String(err && err.stack ? err.stack : err), pageErrors: allErrors })
    process.exitCode = 1
  } finally {
    await browser.close()
    lines.close()
  }
}

const AXE = join(ROOT, 'tests', 'web', 'node_modules', 'axe-core', 'axe.min.js')

/** axe-core on the page as it is: serious or critical WCAG 2 A/AA violations, named by view. */
export async function audit (page, view) {
  await page.addScriptTag({ path: AXE })
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa'] })
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`)
  })
  return violations.map((v) => `${view}: ${v}`)
}

/** The doc of the open view as JSON (Y types to plain values). */
export async function docJson (page) {
  return page.evaluate(() => {
    const { session } = window.__storyarn
    const out = {}
    for (const [name, type] of session.doc.share) out[name] = type.toJSON()
    return out
  })
}
