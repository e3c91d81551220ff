// A token the server does not accept closes the socket with 4401: the page says to sign in
// again, and signing in with a good token reconnects.
import { openPage, scenario, shot, waitSaved } from './lib.mjs'

await scenario(async (browser, args) => {
  const { page, errors } = await openPage(browser)
  await page.goto(`${args.server}/?token=stale-token#/projects/${args.project}/flows/${args.flow}`)
  await page.waitForSelector('.banner[data-code="4401"]')
  const banner = await page.locator('.banner').textContent()
  const bannerCode = await page.$eval('.banner', (el) => el.dataset.code)
  await shot(page, 'sign-in-again')
  await page.click('.banner button:has-text("Sign in again")')
  await page.fill('#signin-token', 'ann-token')
  await page.click('[data-testid="signin-submit"]')
  await page.waitForSelector('.node-entry')
  await waitSaved(page)
  return { banner, bannerCode, afterSignIn: await page.locator('[data-testid="save-state"]').textContent(), errors }
})
