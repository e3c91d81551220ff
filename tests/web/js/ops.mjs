// The ops page lists the open rooms with their clients, refreshing by itself.
import { openPage, scenario, shot } from './lib.mjs'

await scenario(async (browser, args) => {
  const editor = await openPage(browser)
  await editor.page.goto(`${args.server}/?token=ann#/projects/${args.project}/flows/${args.flow}`)
  await editor.page.waitForSelector('.node-entry')
  const ops = await openPage(browser)
  await ops.page.goto(`${args.server}/?token=operator#/ops`)
  const room = `projects/${args.project}/flows/${args.flow}`
  await ops.page.waitForSelector(`tr[data-room="${room}"]`)
  const clients = await ops.page.$eval(`tr[data-room="${room}"] td`, (el) => el.textContent)
  // A second editor joins: the page refreshes by itself and counts two clients.
  const second = await openPage(browser)
  await second.page.goto(`${args.server}/?token=bob#/projects/${args.project}/flows/${args.flow}`)
  await second.page.waitForSelector('.node-entry')
  await ops.page.waitForFunction((r) => document.querySelector(`tr[data-room="${r}"] td`)?.textContent === '2', room, { timeout: 15000 })
  const instances = await ops.page.locator('[data-testid="ops-instances"] tbody tr').count()
  await shot(ops.page, 'ops')
  return { clients, instances, errors: [...editor.errors, ...ops.errors, ...second.errors] }
})
