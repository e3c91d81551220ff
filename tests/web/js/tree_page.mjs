// The project tree (create, rename, move, delete) and the page editor's blocks, seen live by a
// second person; pytest then reads the server's tree and page documents.
import { checkpoint, openPage, scenario, shot, waitSaved } from './lib.mjs'

async function create (page, kind, name) {
  await page.click(`[data-testid="new-${kind}"]`)
  await page.fill('.dialog input', name)
  await page.keyboard.press('Enter')
  await page.waitForFunction((k) => location.hash.includes(`/${k}/`), kind)
  return page.evaluate(() => location.hash.split('/').pop())
}

const item = (name) => `li:has(> .tree-row a:text-is("${name}"))`
const row = (name) => `.project-tree ${item(name)}`

await scenario(async (browser, args) => {
  const project = `${args.server}/?token=ann#/projects/${args.project}`
  const ann = await openPage(browser)
  await ann.page.goto(project)
  await ann.page.waitForSelector('[data-testid="new-flows"]')

  const opening = await create(ann.page, 'flows', 'Opening')
  await ann.page.waitForSelector('.node-entry')
  await ann.page.click('[data-testid="tab-project"]')
  const tavern = await create(ann.page, 'flows', 'Tavern')
  await ann.page.waitForSelector('.node-entry')
  await ann.page.click('[data-testid="tab-project"]')

  // Rename "Opening" to "Prologue", move "Tavern" inside it.
  await ann.page.click(`${row('Opening')} > .tree-row button[aria-label="Rename Opening"]`)
  await ann.page.fill('.dialog input', 'Prologue')
  await ann.page.keyboard.press('Enter')
  await ann.page.waitForSelector(row('Prologue'))
  await ann.page.click(`${row('Tavern')} > .tree-row button[aria-label="Move Tavern into…"]`)
  await ann.page.selectOption('#move-parent', { label: 'Prologue' })
  await ann.page.click('.dialog button[type="submit"]')
  await ann.page.waitForSelector(`${row('Prologue')} ${item('Tavern')}`)

  // A page with blocks of several types.
  const characters = await create(ann.page, 'pages', 'Characters')
  await ann.page.waitForSelector('.page-editor')
  const add = async (type) => {
    const before = await ann.page.locator('.block').count()
    await ann.page.selectOption('[data-testid="add-block-type"]', type)
    await ann.page.click('[data-testid="add-block"]')
    await ann.page.waitForFunction((n) => document.querySelectorAll('.block').length > n, before)
    return ann.page.locator('.block').last()
  }
  const name = await add('text')
  await name.locator('.block-label').fill('Name')
  await name.locator('textarea').fill('Jaime')
  const health = await add('number')
  await health.locator('.block-label').fill('Health')
  await health.locator('input[type="number"]').fill('42')
  await health.locator('input[type="number"]').press('Tab')
  const knight = await add('boolean')
  await knight.locator('select').selectOption('true')
  const bio = await add('rich_text')
  await bio.locator('.ProseMirror').click()
  await ann.page.keyboard.type('Knight of the realm')
  await waitSaved(ann.page)

  // A second person sees the tree and the page.
  const bob = await openPage(browser)
  await bob.page.goto(`${args.server}/?token=bob#/projects/${args.project}/pages/${characters}`)

  await bob.page.waitForFunction(() => Array.from(document.querySelectorAll('.block textarea')).some((t) => t.value === 'Jaime'))
  await bob.page.waitForSelector(`${row('Prologue')} ${item('Tavern')}`)
  await bob.page.waitForFunction(() => document.querySelector('.block[data-type="rich_text"] .ProseMirror')?.textContent?.includes('Knight of the realm'))
  await shot(ann.page, 'page-editor')

  // Delete the page from the tree (it goes to the trash).
  await ann.page.click(`${row('Characters')} > .tree-row button[aria-label="Delete Characters"]`)
  await ann.page.click('.dialog button[type="submit"]')
  await bob.page.waitForFunction(() => !Array.from(document.querySelectorAll('.tree-link')).some((a) => a.textContent === 'Characters'))
  await waitSaved(ann.page)
  await bob.page.goto(`${args.server}/?token=bob#/projects/${args.project}`)
  await bob.page.waitForSelector(row('Prologue'))
  await shot(bob.page, 'project-tree')
  await checkpoint('done', { opening, tavern, characters })
  return { errors: [...ann.errors, ...bob.errors] }
})
