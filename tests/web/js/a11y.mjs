// Accessibility: axe-core on each view (no serious or critical WCAG 2 A/AA violations), focus
// management in dialogs (focus moves in, Tab stays in, Escape returns it), and the narrow layout.
import { join } from 'node:path'
import { ROOT, openPage, scenario, shot, waitSaved } from './lib.mjs'

const AXE = join(ROOT, 'tests', 'web', 'node_modules', 'axe-core', 'axe.min.js')

async function audit (page, view) {
  await page.addScriptTag({ path: AXE })
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa'] })
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`)
  })
  return violations.map((v) => `${view}: ${v}`)
}

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

  await page.goto(`${base}/?token=ann#/projects/${args.project}/pages/sheet`)
  await page.waitForSelector('.page-editor')
  await page.selectOption('[data-testid="add-block-type"]', 'select')
  await page.click('[data-testid="add-block"]')
  await page.waitForSelector('.block')
  found.push(...await audit(page, 'page'))

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

  return { violations: found, keyboardEdge, focusIn, stillIn, focusBack, drawerHidden, errors: [...errors, ...narrow.errors] }
})
