// "Saved" is shown only after the server's durable ack: pytest holds the store's commits while
// the page edits, checks the page says "Saving…", then lets the commit through.
import { checkpoint, openPage, saveState, scenario, shot, waitSaved } from './lib.mjs'

await scenario(async (browser, args) => {
  const { page, errors } = await openPage(browser)
  await page.goto(`${args.server}/?token=ann#/projects/${args.project}/flows/${args.flow}`)
  await page.waitForSelector('.node-entry')
  await waitSaved(page)
  await checkpoint('ready')
  await page.selectOption('[data-testid="add-node-type"]', 'hub')
  await page.click('[data-testid="add-node"]')
  const nodeId = await page.$eval('.node.selected', (el) => el.dataset.id)
  // pytest answers once the server holds the node in its document, uncommitted.
  await checkpoint('edited', { nodeId })
  const whileHeld = await saveState(page)
  const savedWhileHeld = await page.$eval('.status', (el) => el.dataset.saved)
  await shot(page, 'saving')
  await checkpoint('checked', { whileHeld })
  await waitSaved(page)
  return { whileHeld, savedWhileHeld, after: await saveState(page), errors }
})
