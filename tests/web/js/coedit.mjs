// Two people co-edit one flow in two browser contexts: add, type, drag, connect; presence; undo
// of one's own change only. Ends with a checkpoint that hands the converged flow to pytest, which
// compares it with the server's document.
import { checkpoint, flowJson, openPage, scenario, shot, waitSaved } from './lib.mjs'

const sel = (id) => `.node[data-id="${id}"]`

async function addNode (page, type) {
  const before = await page.locator('.node').count()
  await page.selectOption('[data-testid="add-node-type"]', type)
  await page.click('[data-testid="add-node"]')
  await page.waitForFunction((n) => document.querySelectorAll('.node').length > n, before)
  return page.$eval('.node.selected', (el) => el.dataset.id)
}

async function dragBy (page, selector, dx, dy) {
  const box = await page.locator(selector).boundingBox()
  const x = box.x + box.width / 2; const y = box.y + box.height / 2
  await page.mouse.move(x, y)
  await page.mouse.down()
  await page.mouse.move(x + dx, y + dy, { steps: 8 })
  await page.mouse.up()
}

async function dragTo (page, from, to) {
  const a = await page.locator(from).boundingBox(); const b = await page.locator(to).boundingBox()
  await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2)
  await page.mouse.down()
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 8 })
  await page.mouse.up()
}

// Fit applies on the next animation frame: wait for it before reading boxes for a drag.
async function fit (page) {
  await page.click('button:has-text("Fit")')
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))))
}

const position = (page, id) => page.evaluate((nodeId) => {
  const node = window.__storyarn.session.doc.getMap('nodes').get(nodeId)
  return node ? [node.get('x'), node.get('y')] : null
}, id)

await scenario(async (browser, args) => {
  const url = (token) => `${args.server}/?token=${token}#/projects/${args.project}/flows/${args.flow}`
  const ann = await openPage(browser)
  const bob = await openPage(browser)
  await ann.page.goto(url('ann'))
  await ann.page.waitForSelector('.node-entry')
  await waitSaved(ann.page)
  await bob.page.goto(url('bob'))
  await bob.page.waitForSelector('.node-entry')

  // Presence: each sees the other in the header.
  await ann.page.waitForSelector('.presence [data-name="bob"]')
  await bob.page.waitForSelector('.presence [data-name="ann"]')

  // Ann adds a dialogue line and types it as rich text.
  const dialogue = await addNode(ann.page, 'dialogue')
  await ann.page.locator('.inspector .ProseMirror').click()
  await ann.page.keyboard.type('Who goes there?')
  await bob.page.waitForFunction((s) => document.querySelector(s)?.textContent?.includes('Who goes there?'), `${sel(dialogue)} .node-body`)

  // Bob adds a hub, names it, and drags it; Ann sees where it lands.
  const hub = await addNode(bob.page, 'hub')
  await bob.page.fill('[data-testid="field-label"]', 'Crossroads')
  await fit(bob.page)
  await dragBy(bob.page, `${sel(hub)} .node-header`, 120, 40)
  const hubAt = await position(bob.page, hub)
  await ann.page.waitForFunction(([id, x, y]) => {
    const n = window.__storyarn.session.doc.getMap('nodes').get(id)
    return n && n.get('x') === x && n.get('y') === y
  }, [hub, ...hubAt])
  await ann.page.waitForFunction((s) => document.querySelector(s)?.textContent?.includes('Crossroads'), `${sel(hub)} .node-body`)

  // Ann connects entry -> dialogue by pressing the output pin, then the input pin.
  await fit(ann.page)
  await ann.page.click('.node-entry .pin-out')
  await ann.page.click(`${sel(dialogue)} .pin-in`)
  // Bob drags from the dialogue's output to the hub's input.
  await fit(bob.page)
  await dragTo(bob.page, `${sel(dialogue)} .pin-out`, `${sel(hub)} .pin-in`)
  for (const p of [ann.page, bob.page]) await p.waitForFunction(() => document.querySelectorAll('.edge').length === 2)

  // Undo undoes one's own change only: Bob's undo removes his connection, not Ann's.
  await bob.page.locator('[data-testid="canvas"]').click({ position: { x: 5, y: 5 } })
  await bob.page.keyboard.press('Control+z')
  for (const p of [ann.page, bob.page]) await p.waitForFunction(() => document.querySelectorAll('.edge').length === 1)
  await bob.page.keyboard.press('Control+Shift+z')
  for (const p of [ann.page, bob.page]) await p.waitForFunction(() => document.querySelectorAll('.edge').length === 2)

  // Presence on the canvas: Bob selects the dialogue and points at the canvas.
  await bob.page.click(`${sel(dialogue)} .node-header`)
  const canvas = await bob.page.locator('[data-testid="canvas"]').boundingBox()
  await bob.page.mouse.move(canvas.x + canvas.width / 2, canvas.y + 60)
  await bob.page.mouse.move(canvas.x + canvas.width / 2 + 10, canvas.y + 70)
  await ann.page.waitForSelector(`${sel(dialogue)}.peer-selected`)
  await ann.page.waitForSelector('.peer-cursor[data-name="bob"]')

  await waitSaved(ann.page)
  await waitSaved(bob.page)
  await ann.page.locator('.inspector').evaluate((el) => el.scrollTo(0, 0))
  await shot(ann.page, 'flow-editor')
  const a = await flowJson(ann.page); const b = await flowJson(bob.page)
  if (JSON.stringify(sorted(a)) !== JSON.stringify(sorted(b))) throw new Error(`pages differ:\n${JSON.stringify(a)}\n${JSON.stringify(b)}`)
  await checkpoint('converged', { flow: a, dialogue, hub })
  return { errors: [...ann.errors, ...bob.errors] }
})

function sorted (value) {
  if (Array.isArray(value)) return value.map(sorted)
  if (value && typeof value === 'object') return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sorted(value[k])]))
  return value
}
