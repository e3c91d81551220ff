// Table, gallery and reference blocks on a page, and the condition and instruction editors of
// a flow, with two people editing different cells and different rules at the same time;
// pytest then reads the server's page and flow documents.
import { checkpoint, openPage, scenario, shot, waitSaved } from './lib.mjs'

async function create (page, kind, name) {
  await page.click(`[data-testid="new-${kind}"]`)
  await page.fill('.dialog input', name)
  await page.keyboard.press('Enter')
  await page.waitForFunction((k) => location.hash.includes(`/${k}/`), kind)
  return page.evaluate(() => location.hash.split('/').pop())
}

async function addBlock (page, type) {
  const before = await page.locator('.block').count()
  await page.selectOption('[data-testid="add-block-type"]', type)
  await page.click('[data-testid="add-block"]')
  await page.waitForFunction((n) => document.querySelectorAll('.block').length > n, before)
  return page.locator('.block').last()
}

await scenario(async (browser, args) => {
  const base = `${args.server}/?token=ann#/projects/${args.project}`
  const ann = await openPage(browser)
  await ann.page.goto(base)
  await ann.page.waitForSelector('[data-testid="new-flows"]')
  const tavern = await create(ann.page, 'flows', 'Tavern')
  await ann.page.waitForSelector('.node-entry')
  await ann.page.click('[data-testid="tab-project"]')
  const jaime = await create(ann.page, 'pages', 'Jaime')
  await ann.page.waitForSelector('.page-editor')

  // A table: three columns, two rows.
  const table = await addBlock(ann.page, 'table')
  await table.locator('.block-label').fill('Stats')
  for (const [name, type] of [['Health', 'number'], ['Title', 'text'], ['Alive', 'boolean']]) {
    await table.locator('[data-testid="column-name"]').fill(name)
    await table.locator('[data-testid="column-type"]').selectOption(type)
    await table.locator('[data-testid="add-column"]').click()
    await table.locator(`th[data-slug="${name.toLowerCase()}"]`).waitFor()
  }
  await table.locator('[data-testid="add-row"]').click()
  await table.locator('[data-testid="add-row"]').click()
  await ann.page.waitForFunction(() => document.querySelectorAll('.block-table tbody tr').length === 2)
  await table.locator('tbody tr').first().locator('th input').fill('Base')
  await waitSaved(ann.page)

  // Bob opens the page: ann and bob fill different cells of the first row at the same time.
  const bob = await openPage(browser)
  await bob.page.goto(`${args.server}/?token=bob#/projects/${args.project}/pages/${jaime}`)
  await bob.page.waitForFunction(() => document.querySelectorAll('.block-table tbody tr').length === 2)
  const annHealth = ann.page.locator('.block-table tbody tr').first().locator('td[data-slug="health"] input')
  const bobTitle = bob.page.locator('.block-table tbody tr').first().locator('td[data-slug="title"] input')
  await Promise.all([
    (async () => { await annHealth.fill('42'); await annHealth.press('Tab') })(),
    bobTitle.fill('Ser')
  ])
  await ann.page.locator('.block-table tbody tr').first().locator('td[data-slug="alive"] input').check()
  await ann.page.waitForFunction(() => document.querySelector('.block-table tbody tr td[data-slug="title"] input')?.value === 'Ser')
  await bob.page.waitForFunction(() => document.querySelector('.block-table tbody tr td[data-slug="health"] input')?.value === '42')

  // A gallery with one image, a reference to the flow "Tavern".
  const gallery = await addBlock(ann.page, 'gallery')
  await gallery.locator('.block-label').fill('Portraits')
  await gallery.locator('[data-testid="add-image"]').click()
  await gallery.locator('.gallery-item').waitFor()
  await gallery.locator('.gallery-item input').nth(0).fill('asset-123')
  await gallery.locator('.gallery-item input').nth(1).fill('Young Jaime')
  await gallery.locator('.gallery-item textarea').fill('Before the war')
  const reference = await addBlock(ann.page, 'reference')
  await reference.locator('.block-label').fill('Home flow')
  await reference.locator('[data-testid="reference-target"]').selectOption({ label: 'Tavern' })
  await reference.locator('[data-testid="reference-link"]:not([hidden])').waitFor()
  const referenceHref = await reference.locator('[data-testid="reference-link"]').getAttribute('href')
  await bob.page.waitForFunction(() => document.querySelector('.gallery-item textarea')?.value === 'Before the war')
  await bob.page.waitForFunction(() => document.querySelector('[data-testid="reference-target"] option:checked')?.textContent === 'Tavern')
  await waitSaved(ann.page)
  await waitSaved(bob.page)
  await shot(ann.page, 'page-blocks')

  // The flow: a condition node with one group; ann and bob each write a rule in it at once.
  await ann.page.goto(`${base}/flows/${tavern}`)
  await ann.page.waitForSelector('.node-entry')
  await ann.page.selectOption('[data-testid="add-node-type"]', 'condition')
  await ann.page.click('[data-testid="add-node"]')
  await ann.page.waitForSelector('[data-testid="condition-editor"]')
  await ann.page.click('[data-testid="add-group"]')
  await ann.page.waitForSelector('.logic-rule')
  const conditionId = await ann.page.evaluate(() => Array.from(window.__storyarn.session.doc.getMap('nodes').entries()).find(([, n]) => n.get('type') === 'condition')[0])
  await waitSaved(ann.page)
  await bob.page.goto(`${args.server}/?token=bob#/projects/${args.project}/flows/${tavern}`)
  await bob.page.waitForSelector(`.node[data-id="${conditionId}"]`)
  await bob.page.click(`.node[data-id="${conditionId}"] .node-header`)
  await bob.page.waitForSelector('.logic-rule')
  await bob.page.click('[data-testid="add-rule"]')
  await bob.page.waitForFunction(() => document.querySelectorAll('.logic-rule').length === 2)
  await ann.page.waitForFunction(() => document.querySelectorAll('.logic-rule').length === 2)
  const fillRule = async (page, index, sheet, variable, operator, value) => {
    const rule = page.locator('.logic-rule').nth(index)
    await rule.locator('input[data-key^="sheet-"]').fill(sheet)
    await rule.locator('input[data-key^="variable-"]').fill(variable)
    await rule.locator('select[data-key^="operator-"]').selectOption(operator)
    if (value !== null) await rule.locator('input[data-key^="value-"]').fill(value)
  }
  await Promise.all([
    fillRule(ann.page, 0, 'mc.jaime', 'health', 'greater_than', '3'),
    fillRule(bob.page, 1, 'mc.jaime', 'alive', 'is_true', null)
  ])
  await ann.page.selectOption('.logic-group select[data-key^="logic-"]', 'any')
  await ann.page.waitForFunction(() => document.querySelectorAll('.logic-rule input[data-key^="variable-"]')[1]?.value === 'alive')
  await bob.page.waitForFunction(() => document.querySelectorAll('.logic-rule input[data-key^="value-"]')[0]?.value === '3')
  const valueHidden = await ann.page.locator('.logic-rule').nth(1).locator('input[data-key^="value-"]').isHidden()
  await waitSaved(ann.page)
  await waitSaved(bob.page)
  const summary = await ann.page.locator(`.node[data-id="${conditionId}"] .node-body`).textContent()
  await shot(ann.page, 'condition-editor')

  // An instruction node with one assignment.
  await ann.page.selectOption('[data-testid="add-node-type"]', 'instruction')
  await ann.page.click('[data-testid="add-node"]')
  await ann.page.waitForSelector('[data-testid="instruction-editor"]')
  await ann.page.click('[data-testid="add-assignment"]')
  await ann.page.waitForSelector('.logic-rule')
  await fillRule(ann.page, 0, 'mc.jaime', 'health', 'subtract', '1')
  const instructionId = await ann.page.evaluate(() => Array.from(window.__storyarn.session.doc.getMap('nodes').entries()).find(([, n]) => n.get('type') === 'instruction')[0])
  await bob.page.waitForFunction((id) => document.querySelector(`.node[data-id="${id}"] .node-body`)?.textContent === 'mc.jaime.health -= 1', instructionId)
  await waitSaved(ann.page)
  await shot(ann.page, 'instruction-editor')

  await checkpoint('done', { jaime, tavern, conditionId, instructionId })
  return { referenceHref, valueHidden, summary, errors: [...ann.errors, ...bob.errors] }
})
