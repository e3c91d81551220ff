// One person goes offline (Playwright's offline mode), both edit, she comes back: both converge,
// and the offline edit reaches the server.
import { flowJson, openPage, saveState, scenario, shot, waitSaved } from './lib.mjs'

async function addHub (page, label) {
  const before = await page.locator('.node').count()
  await page.selectOption('[data-testid="add-node-type"]', 'hub')
  await page.click('[data-testid="add-node"]')
  await page.waitForFunction((n) => document.querySelectorAll('.node').length > n, before)
  await page.fill('[data-testid="field-label"]', label)
  return page.$eval('.node.selected', (el) => el.dataset.id)
}

await scenario(async (browser, args) => {
  const url = (token) => `${args.server}/?token=${token}#/projects/${args.project}/flows/${args.flow}`
  const ann = await openPage(browser); const bob = await openPage(browser)
  await ann.page.goto(url('ann')); await ann.page.waitForSelector('.node-entry'); await waitSaved(ann.page)
  await bob.page.goto(url('bob')); await bob.page.waitForSelector('.node-entry'); await waitSaved(bob.page)

  await ann.context.setOffline(true)
  await ann.page.waitForSelector('.status[data-link="offline"]')
  const offlineNode = await addHub(ann.page, 'Written offline')
  const onlineNode = await addHub(bob.page, 'Written online')
  await waitSaved(bob.page)
  const offlineState = await saveState(ann.page)
  await shot(ann.page, 'offline')
  // While offline, neither has the other's node.
  if (await ann.page.locator(`.node[data-id="${onlineNode}"]`).count() !== 0) throw new Error('offline page received an update')

  await ann.context.setOffline(false)
  await waitSaved(ann.page, 15000)
  for (const page of [ann.page, bob.page]) {
    await page.waitForFunction((ids) => ids.every((id) => window.__storyarn.session.doc.getMap('nodes').has(id)), [offlineNode, onlineNode])
  }
  const a = await flowJson(ann.page); const b = await flowJson(bob.page)
  if (JSON.stringify(Object.keys(a.nodes).sort()) !== JSON.stringify(Object.keys(b.nodes).sort())) throw new Error('pages differ')
  return { offlineNode, onlineNode, offlineState, nodes: Object.keys(a.nodes), errors: [...ann.errors, ...bob.errors] }
})
