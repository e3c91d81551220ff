// A 1,000-node flow: the canvas renders only what is in view, the node list stays usable
// (filter, keyboard, pick), and an edit on a picked node reaches the server.
import { checkpoint, openPage, scenario, shot, waitSaved } from './lib.mjs'

await scenario(async (browser, args) => {
  const { page, errors } = await openPage(browser)
  await page.goto(`${args.server}/?token=ann#/projects/${args.project}/flows/${args.flow}`)
  await page.waitForFunction(() => document.querySelector('.list-count')?.textContent === '1001 nodes', null, { timeout: 20000 })
  await waitSaved(page)
  const rows = await page.locator('.vlist-row').count()
  const rendered = Number(await page.$eval('[data-testid="canvas"]', (el) => el.dataset.rendered))

  // Scroll the list to its end: the last rows are drawn, still only a window of them.
  await page.$eval('[data-testid="node-list"]', (el) => { el.scrollTop = el.scrollHeight })
  await page.waitForFunction(() => Array.from(document.querySelectorAll('.vlist-row')).some((r) => r.getAttribute('aria-posinset') === '1001'))
  const rowsAtEnd = await page.locator('.vlist-row').count()

  // Filter, then pick with the keyboard: the canvas selects and centres the node.
  await page.fill('[data-testid="node-filter"]', 'Line 500')
  await page.waitForFunction(() => document.querySelector('.list-count')?.textContent === '1 node')
  await page.focus('[data-testid="node-list"]')
  await page.keyboard.press('Enter')
  await page.waitForSelector('.node.selected')
  const picked = await page.$eval('.node.selected', (el) => el.dataset.id)
  const text = await page.locator('.inspector .ProseMirror').textContent()
  await page.focus(`.node[data-id="${picked}"]`)
  await page.keyboard.press('ArrowRight')
  await page.waitForFunction((id) => window.__storyarn.session.doc.getMap('nodes').get(id).get('x') % 260 === 10, picked)
  await waitSaved(page)
  await page.fill('[data-testid="node-filter"]', '')
  await shot(page, 'big-flow')
  const x = await page.evaluate((id) => window.__storyarn.session.doc.getMap('nodes').get(id).get('x'), picked)
  await checkpoint('moved', { picked, x })
  return { rows, rowsAtEnd, rendered, picked, text, errors }
})
