// Accessibility: axe-core on each view (no serious or critical WCAG 2 A/AA violations), focus
// management in dialogs (focus moves in, Tab stays in, Escape returns it), and the narrow layout.
// Also the newer views: table, gallery and reference blocks, the condition and instruction
// editors, the trash, their keyboard use, and the page editor on a narrow screen.
import { audit, openPage, scenario, shot, waitSaved } from './lib.mjs'

await scenario(async (browser, args) => {
  const base = args.server
  const { page, errors } = await openPage(browser, { bypassCSP: true })
  const found = []

  await page.goto(`${base}/#/`)
  await page.waitForSelector('#project-id')
  found.push(...await audit(page, 'home'))

  // The sign-in dialog: focus inside, trapped, Escape returns it to the button.
  await page.focus('[data-testid="signin"]')
  await page.keyboard.press('Enter')
  await page.waitForSelector('.dialog')
  const focusIn = await page.evaluate(() => document.activeElement?.id)
  for (let i = 0; i < 5; i++) await page.keyboard.press('Tab')
  const stillIn = await page.evaluate(() => document.querySelector('.dialog')?.contains(document.activeElement))
  found.push(...await audit(page, 'sign-in dialog'))
  await page.keyboard.press('Escape')
  const focusBack = await page.evaluate(() => document.activeElement?.dataset.testid)

  await page.goto(`${base}/?token=ann#/projects/${args.project}/flows/${args.flow}`)
  await page.waitForSelector('.node-entry')
  await page.selectOption('[data-testid="add-node-type"]', 'dialogue')
  await page.click('[data-testid="add-node"]')
  await page.waitForSelector('.inspector .ProseMirror')
  await waitSaved(page)
  found.push(...await audit(page, 'flow'))
  // Connecting with the keyboard: focus the entry node, C, focus the target, Enter.
  await page.focus('.node-entry')
  await page.keyboard.press('c')
  await page.focus('.node-dialogue')
  await page.keyboard.press('Enter')
  await page.waitForFunction(() => document.querySelectorAll('.edge').length === 1)
  const keyboardEdge = await page.evaluate(() => Array.from(window.__storyarn.session.doc.getMap('connections').values()).map((c) => c.get('sourcePin')))

  // The condition editor, reached and filled with the keyboard only.
  await page.selectOption('[data-testid="add-node-type"]', 'condition')
  await page.click('[data-testid="add-node"]')
  await page.waitForSelector('[data-testid="add-group"]')
  await page.focus('[data-testid="add-group"]')
  await page.keyboard.press('Enter')
  await page.waitForSelector('.logic-rule')
  const ruleFocus = await page.evaluate(() => document.activeElement?.dataset.key?.split('-')[0])
  await page.keyboard.type('health')
  await page.keyboard.press('Tab')
  const operatorFocus = await page.evaluate(() => document.activeElement?.dataset.key?.split('-')[0])
  found.push(...await audit(page, 'condition editor'))
  await page.selectOption('[data-testid="add-node-type"]', 'instruction')
  await page.click('[data-testid="add-node"]')
  await page.click('[data-testid="add-assignment"]')
  await page.waitForSelector('.logic-rule')
  found.push(...await audit(page, 'instruction editor'))
  const keyboardRule = await page.evaluate(() => {
    const nodes = Array.from(window.__storyarn.session.doc.getMap('nodes').values())
    const condition = nodes.find((n) => n.get('type') === 'condition').get('data').get('condition').toJSON()
    return condition.blocks[0].rules[0].variable
  })

  await page.goto(`${base}/?token=ann#/projects/${args.project}/pages/sheet`)
  await page.waitForSelector('.page-editor')
  await page.selectOption('[data-testid="add-block-type"]', 'select')
  await page.click('[data-testid="add-block"]')
  await page.waitForSelector('.block')
  found.push(...await audit(page, 'page'))
  // Table, gallery and reference blocks; a column added with the keyboard only.
  for (const type of ['table', 'gallery', 'reference']) {
    await page.selectOption('[data-testid="add-block-type"]', type)
    await page.click('[data-testid="add-block"]')
    await page.waitForSelector(`.block[data-type="${type}"]`)
  }
  await page.focus('[data-testid="column-name"]')
  await page.keyboard.type('Health')
  await page.keyboard.press('Tab')
  await page.keyboard.press('Tab')
  await page.keyboard.press('Enter')
  await page.waitForSelector('th[data-slug="health"]')
  await page.keyboard.press('Tab')
  await page.keyboard.press('Enter') // "Add row"
  await page.waitForSelector('.block-table tbody tr')
  await page.click('[data-testid="add-image"]')
  await page.waitForSelector('.gallery-item')
  await waitSaved(page)
  found.push(...await audit(page, 'page blocks'))

  // The trash, opened and used with the keyboard.
  await page.goto(`${base}/?token=ann#/projects/${args.project}`)
  await page.waitForSelector('[data-testid="trash-toggle"]')
  await page.focus('[data-testid="trash-toggle"]')
  await page.keyboard.press('Enter')
  const keyboardTrash = await page.locator('[data-testid="trash"]').evaluate((el) => el.open)
  found.push(...await audit(page, 'tree and trash'))

  await page.goto(`${base}/?token=ann#/ops`)
  await page.waitForSelector('[data-testid="ops-instances"]')
  found.push(...await audit(page, 'ops'))

  // Narrow screen: the sidebar becomes a drawer behind the Menu button.
  const narrow = await openPage(browser, { viewport: { width: 390, height: 780 }, bypassCSP: true })
  await narrow.page.goto(`${base}/?token=ann#/projects/${args.project}/flows/${args.flow}`)
  await narrow.page.waitForSelector('.node-entry')
  const drawerHidden = await narrow.page.$eval('#sidebar', (el) => el.getBoundingClientRect().right <= 0)
  await shot(narrow.page, 'narrow-flow')
  await narrow.page.click('.menu-toggle')
  await narrow.page.waitForFunction(() => document.getElementById('sidebar').getBoundingClientRect().left >= 0)
  await shot(narrow.page, 'narrow-menu')
  found.push(...await audit(narrow.page, 'narrow flow'))
  // The page editor with a table on a narrow screen: the table scrolls inside its block, the page does not.
  await narrow.page.goto(`${base}/?token=ann#/projects/${args.project}/pages/sheet`)
  await narrow.page.waitForSelector('.block-table')
  const narrowOverflow = await narrow.page.evaluate(() => {
    const main = document.getElementById('main')
    return { page: document.documentElement.scrollWidth - window.innerWidth, main: main.scrollWidth - main.clientWidth }
  })
  await shot(narrow.page, 'narrow-page')
  found.push(...await audit(narrow.page, 'narrow page'))

  return {
    violations: found, keyboardEdge, focusIn, stillIn, focusBack, drawerHidden, ruleFocus, operatorFocus, keyboardRule,
    keyboardTrash, narrowOverflow, errors: [...errors, ...narrow.errors]
  }
})
