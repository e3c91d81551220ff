// View-only mode: a viewer sees an editor's work live, has no editing controls, and whatever it
// tries (dragging, deleting, typing, even writing to its own Y.Doc) reaches neither the editor
// nor the server. pytest checks the server's documents at the checkpoint.
import { audit, checkpoint, openPage, scenario, shot, waitSaved } from './lib.mjs'

await scenario(async (browser, args) => {
  const url = (token, path) => `${args.server}/?token=${token}#/projects/${args.project}/${path}`
  const ed = await openPage(browser)
  // The editor prepares a flow (a dialogue line) and a page (a text block).
  await ed.page.goto(url(args.editor, `flows/${args.flow}`))
  await ed.page.waitForSelector('.node-entry')
  const editorBadge = await ed.page.locator('[data-testid="view-only"]').isVisible()
  await ed.page.selectOption('[data-testid="add-node-type"]', 'dialogue')
  await ed.page.click('[data-testid="add-node"]')
  await ed.page.waitForSelector('.inspector .ProseMirror')
  await ed.page.click('.inspector .ProseMirror')
  await ed.page.keyboard.type('Hello')
  const dialogue = await ed.page.evaluate(() => Array.from(window.__storyarn.session.doc.getMap('nodes').entries()).find(([, n]) => n.get('type') === 'dialogue')[0])
  await waitSaved(ed.page)

  const vi = await openPage(browser, { bypassCSP: true })
  await vi.page.goto(url(args.viewer, `flows/${args.flow}`))
  await vi.page.waitForSelector(`.node[data-id="${dialogue}"]`)
  await vi.page.waitForSelector('[data-testid="view-only"]:visible')
  const before = await vi.page.evaluate((id) => { const n = window.__storyarn.session.doc.getMap('nodes').get(id); return { x: n.get('x'), y: n.get('y') } }, dialogue)
  const controls = {
    addNode: await vi.page.locator('[data-testid="add-node"]').count(),
    deleteButton: await vi.page.locator('[data-testid="delete"]').count(),
    undo: await vi.page.locator('[data-testid="undo"]').count(),
    newFlow: await vi.page.locator('[data-testid="new-flows"]').count(),
    treeActions: await vi.page.locator('.tree-actions').count(),
    draggableRows: await vi.page.locator('.tree-row[draggable="true"]').count()
  }
  // Select the line: the inspector shows it, read-only.
  await vi.page.click(`.node[data-id="${dialogue}"] .node-header`)
  await vi.page.waitForSelector('.inspector .ProseMirror')
  controls.richTextEditable = await vi.page.getAttribute('.inspector .ProseMirror', 'contenteditable')
  controls.stageReadOnly = await vi.page.locator('[data-testid="field-stageDirections"]').evaluate((el) => el.readOnly)
  controls.addResponseDisabled = await vi.page.locator('[data-testid="add-response"]').isDisabled()
  controls.pinsDisabled = await vi.page.locator(`.node[data-id="${dialogue}"] .pin`).evaluateAll((pins) => pins.every((p) => p.disabled))
  const violations = await audit(vi.page, 'viewer flow')
  await shot(vi.page, 'view-only')

  // Attempts: drag the node, arrow keys, Delete, connect with C, type in the text.
  const box = await vi.page.locator(`.node[data-id="${dialogue}"] .node-body`).boundingBox()
  await vi.page.mouse.move(box.x + 20, box.y + 10)
  await vi.page.mouse.down()
  await vi.page.mouse.move(box.x + 140, box.y + 90, { steps: 8 })
  await vi.page.mouse.up()
  await vi.page.focus(`.node[data-id="${dialogue}"]`)
  await vi.page.keyboard.press('ArrowRight')
  await vi.page.keyboard.press('Delete')
  await vi.page.focus('.node-entry')
  await vi.page.keyboard.press('c')
  await vi.page.focus(`.node[data-id="${dialogue}"]`)
  await vi.page.keyboard.press('Enter')
  await vi.page.click(`.node[data-id="${dialogue}"] .node-header`)
  await vi.page.click('.inspector .ProseMirror')
  await vi.page.keyboard.type(' INTRUDER')
  const afterUi = await vi.page.evaluate((id) => {
    const doc = window.__storyarn.session.doc
    const n = doc.getMap('nodes').get(id)
    return { x: n.get('x'), y: n.get('y'), nodes: doc.getMap('nodes').size, connections: doc.getMap('connections').size, text: n.get('data').get('text').toString() }
  }, dialogue)
  // Even a change written straight into the viewer's own document is dropped by the server.
  await vi.page.evaluate((id) => {
    const doc = window.__storyarn.session.doc
    doc.getMap('nodes').get(id).set('x', 9999)
    doc.getMap('meta').set('name', 'Hijacked')
  }, dialogue)

  // The editor keeps working, and the viewer sees it live.
  await ed.page.click('.inspector .ProseMirror')
  await ed.page.keyboard.press('End')
  await ed.page.keyboard.type(' there')
  await ed.page.selectOption('[data-testid="add-node-type"]', 'hub')
  await ed.page.click('[data-testid="add-node"]')
  await ed.page.waitForSelector('[data-testid="field-label"]')
  await ed.page.fill('[data-testid="field-label"]', 'Crossroads')
  await vi.page.waitForFunction(() => Array.from(document.querySelectorAll('[data-testid="node-list"] .row-text')).some((b) => b.textContent === 'Crossroads'))
  await vi.page.waitForFunction((id) => document.querySelector(`[data-testid="node-list"] [data-id="${id}"] .row-text`)?.textContent === 'Hello there', dialogue)
  await waitSaved(ed.page)
  await new Promise((resolve) => setTimeout(resolve, 500))
  const editorSees = await ed.page.evaluate((id) => {
    const doc = window.__storyarn.session.doc
    const n = doc.getMap('nodes').get(id)
    return { x: n.get('x'), name: doc.getMap('meta').get('name') ?? null, text: n.get('data').get('text').toString() }
  }, dialogue)

  // The page: the editor's text block, read-only for the viewer.
  await ed.page.goto(url(args.editor, `pages/${args.page}`))
  await ed.page.waitForSelector('[data-testid="add-block"]')
  await ed.page.selectOption('[data-testid="add-block-type"]', 'text')
  await ed.page.click('[data-testid="add-block"]')
  await ed.page.locator('.block textarea').fill('Jaime')
  for (const type of ['table', 'gallery', 'reference']) {
    await ed.page.selectOption('[data-testid="add-block-type"]', type)
    await ed.page.click('[data-testid="add-block"]')
    await ed.page.waitForSelector(`.block[data-type="${type}"]`)
  }
  await ed.page.fill('[data-testid="column-name"]', 'Health')
  await ed.page.selectOption('[data-testid="column-type"]', 'number')
  await ed.page.click('[data-testid="add-column"]')
  await ed.page.click('[data-testid="add-row"]')
  await ed.page.click('[data-testid="add-image"]')
  await ed.page.waitForSelector('.gallery-item')
  await waitSaved(ed.page)
  await vi.page.goto(url(args.viewer, `pages/${args.page}`))
  await vi.page.waitForFunction(() => document.querySelector('.block textarea')?.value === 'Jaime')
  await vi.page.waitForSelector('.gallery-item')
  const page = {
    addBlock: await vi.page.locator('[data-testid="add-block"]').count(),
    labelReadOnly: await vi.page.locator('.block-label').evaluateAll((els) => els.length === 4 && els.every((el) => el.readOnly)),
    valueReadOnly: await vi.page.locator('.block textarea').first().evaluate((el) => el.readOnly),
    deleteVisible: await vi.page.locator('.block [aria-label="Delete block"]').first().isVisible(),
    blockTools: await vi.page.locator('[data-testid="add-column"], [data-testid="add-row"], [data-testid="add-image"], .block-table button, .gallery-item button').count(),
    tableLocked: await vi.page.locator('.block-table input').evaluateAll((inputs) => inputs.length === 3 && inputs.every((i) => i.readOnly || i.disabled)),
    galleryLocked: await vi.page.locator('.gallery-item input, .gallery-item textarea').evaluateAll((inputs) => inputs.length === 3 && inputs.every((i) => i.readOnly)),
    referenceDisabled: await vi.page.locator('[data-testid="reference-target"]').isDisabled()
  }
  await vi.page.locator('.block textarea').first().click()
  await vi.page.keyboard.type('XX')
  page.valueAfterTyping = await vi.page.locator('.block textarea').first().inputValue()
  violations.push(...await audit(vi.page, 'viewer page'))
  await ed.page.locator('.block textarea').first().fill('Jaime Lannister')
  await vi.page.waitForFunction(() => document.querySelector('.block textarea')?.value === 'Jaime Lannister')

  await checkpoint('done', { dialogue, x: before.x, y: before.y })
  return { editorBadge, controls, before, afterUi, editorSees, page, violations, errors: [...ed.errors, ...vi.errors] }
})
