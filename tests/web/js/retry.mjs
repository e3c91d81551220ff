// 1013: the server's storage refuses writes, the server closes the writer with 1013 ("try again
// later"), the page says it is retrying, and it reconnects and saves once storage is back.
import { checkpoint, openPage, scenario, shot, waitSaved } from './lib.mjs'

await scenario(async (browser, args) => {
  const { page, errors } = await openPage(browser)
  await page.goto(`${args.server}/?token=ann#/projects/${args.project}/flows/${args.flow}`)
  await page.waitForSelector('.node-entry')
  await waitSaved(page)
  await checkpoint('break') // pytest makes the database refuse writes
  await page.selectOption('[data-testid="add-node-type"]', 'hub')
  await page.click('[data-testid="add-node"]')
  await page.waitForSelector('[data-testid="field-label"]')
  await page.fill('[data-testid="field-label"]', 'Kept through the outage')
  await page.waitForSelector('.status[data-link="retrying"]', { timeout: 15000 })
  await page.waitForSelector('.banner[data-code="1013"]')
  const link = await page.locator('[data-testid="link-state"]').textContent()
  const banner = await page.locator('.banner').textContent()
  const save = await page.locator('[data-testid="save-state"]').textContent()
  await shot(page, 'retrying')
  const nodeId = await page.evaluate(() => Array.from(window.__storyarn.session.doc.getMap('nodes').entries()).find(([, n]) => n.get('type') === 'hub')[0])
  await checkpoint('repair')
  await waitSaved(page, 30000)
  const after = await page.locator('[data-testid="link-state"]').textContent()
  const bannerHidden = await page.locator('.banner').isHidden()
  return { link, banner, save, after, bannerHidden, nodeId, errors }
})
