// Access removed while the flow is open: the server closes the socket with 4403 and the page
// says so, instead of retrying forever.
import { checkpoint, openPage, scenario, shot, waitSaved } from './lib.mjs'

await scenario(async (browser, args) => {
  const { page, errors } = await openPage(browser)
  await page.goto(`${args.server}/?token=${args.token}#/projects/${args.project}/flows/${args.flow}`)
  await page.waitForSelector('.node-entry')
  await waitSaved(page)
  const who = await page.locator('[data-testid="who"]').textContent()
  await checkpoint('open')
  await page.waitForSelector('.banner[data-code="4403"]')
  const banner = await page.locator('.banner').textContent()
  const link = await page.locator('[data-testid="link-state"]').textContent()
  await shot(page, 'access-removed')
  return { who, banner, link, errors }
})
