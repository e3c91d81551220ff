// The project tree: drag and drop (inside an item, before an item), the keyboard alternative
// (Alt+arrows, focus stays on the moved item), and the trash (restore, delete); a second person
// sees the result live. pytest then reads the server's tree document.
import { checkpoint, openPage, scenario, shot, waitSaved } from './lib.mjs'

const row = (id) => `.project-tree li[data-id="${id}"] > .tree-row`
const rootOrder = (page, kind) => page.evaluate((k) => Array.from(document.querySelectorAll(`.project-tree ul[aria-label="${k}"] > li`)).map((li) => li.dataset.id), kind)

await scenario(async (browser, args) => {
  const url = (token) => `${args.server}/?token=${token}#/projects/${args.project}`
  const ann = await openPage(browser)
  await ann.page.goto(url('ann'))
  await ann.page.waitForSelector(row('a3'))

  // Drag "Act 3" onto the middle of "Act 1": it goes inside.
  await ann.page.dragAndDrop(row('a3'), row('a1'))
  await ann.page.waitForSelector(`.project-tree li[data-id="a1"] li[data-id="a3"]`)
  // Drag "Act 2" onto the top edge of "Act 1": it goes before it.
  await ann.page.dragAndDrop(row('a2'), row('a1'), { targetPosition: { x: 30, y: 2 } })
  await ann.page.waitForFunction(() => Array.from(document.querySelectorAll('.project-tree ul[aria-label="Flows"] > li')).map((li) => li.dataset.id).join() === 'a2,a1')
  const flowsAfterDrag = await rootOrder(ann.page, 'Flows')

  // The keyboard: Alt+Right puts "Castle" inside "Jaime", Alt+Left takes it out, Alt+Up moves it first.
  const castle = '[data-focus="pages:castle:link"]'
  await ann.page.focus(castle)
  await ann.page.keyboard.press('Alt+ArrowRight')
  await ann.page.waitForSelector('.project-tree li[data-id="jaime"] li[data-id="castle"]')
  const focusInside = await ann.page.evaluate(() => document.activeElement?.dataset.focus)
  await ann.page.keyboard.press('Alt+ArrowLeft')
  await ann.page.waitForFunction(() => Array.from(document.querySelectorAll('.project-tree ul[aria-label="Pages"] > li')).map((li) => li.dataset.id).join() === 'jaime,castle')
  await ann.page.keyboard.press('Alt+ArrowUp')
  await ann.page.waitForFunction(() => Array.from(document.querySelectorAll('.project-tree ul[aria-label="Pages"] > li')).map((li) => li.dataset.id).join() === 'castle,jaime')
  const focusAfterKeys = await ann.page.evaluate(() => document.activeElement?.dataset.focus)

  // The trash: "Old notes" is there; restore it. Then delete "Jaime": it goes to the trash.
  await ann.page.click('[data-testid="trash-toggle"]')
  const trashBefore = await ann.page.locator('.trash-item .trash-name').allTextContents()
  await ann.page.click('button[aria-label="Restore Old notes"]')
  await ann.page.waitForSelector(row('old'))
  await ann.page.click(`${row('jaime')} button[aria-label="Delete Jaime"]`)
  await ann.page.click('.dialog button[type="submit"]')
  await ann.page.waitForFunction(() => Array.from(document.querySelectorAll('.trash-item .trash-name')).map((e) => e.textContent).join() === 'Jaime')
  const trashOpen = await ann.page.locator('[data-testid="trash"]').evaluate((el) => el.open)
  await waitSaved(ann.page)
  await shot(ann.page, 'tree-trash')

  // Bob sees it all.
  const bob = await openPage(browser)
  await bob.page.goto(url('bob'))
  await bob.page.waitForSelector(`.project-tree li[data-id="a1"] li[data-id="a3"]`)
  await bob.page.waitForSelector(row('old'))
  const bobFlows = await rootOrder(bob.page, 'Flows')
  const bobPages = await rootOrder(bob.page, 'Pages')
  await checkpoint('done')
  return { flowsAfterDrag, focusInside, focusAfterKeys, trashBefore, trashOpen, bobFlows, bobPages, errors: [...ann.errors, ...bob.errors] }
})
