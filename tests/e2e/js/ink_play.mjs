// Compile ink source read from stdin with inkjs's compiler, then play it, picking the given
// choice indices in order. Prints one JSON line:
//   {"errors": [...], "warnings": [...], "lines": [...], "choices": [[...], ...], "ended": bool}
// where `choices` lists the choice texts offered at each stop. Exit code 0 even when compiling
// fails: the test reads `errors`.
// Usage: node ink_play.mjs [choiceIndex ...] < story.ink
import { Compiler, CompilerOptions } from 'inkjs/full'

const picks = process.argv.slice(2).map(Number)
let source = ''
for await (const chunk of process.stdin) source += chunk

const errors = []
const warnings = []
const options = new CompilerOptions(null, [], false, (message, type) => {
  if (type === 2) errors.push(message)
  else warnings.push(message)
})
const result = { errors, warnings, lines: [], tags: [], choices: [], ended: false }
let story = null
try {
  story = new Compiler(source, options).Compile()
} catch (err) {
  if (errors.length === 0) errors.push(String(err))
}
if (story !== null && errors.length === 0) {
  story.onError = (message) => errors.push(`runtime: ${message}`)
  try {
    for (let step = 0; step <= picks.length; step++) {
      while (story.canContinue) {
        const line = story.Continue().trim()
        if (line) result.lines.push(line)
        result.tags.push(...story.currentTags)
      }
      if (story.currentChoices.length === 0) break
      result.choices.push(story.currentChoices.map((c) => c.text))
      if (step === picks.length) break
      story.ChooseChoiceIndex(picks[step])
    }
    result.ended = !story.canContinue && story.currentChoices.length === 0
  } catch (err) {
    errors.push(`runtime: ${err}`)
  }
}
process.stdout.write(JSON.stringify(result) + '\n')
