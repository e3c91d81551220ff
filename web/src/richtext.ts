/**
 * Rich text bound to a Y.XmlFragment through y-prosemirror, in the shape the server reads
 * (docs/documents.md "Rich text"): `paragraph` elements holding text and `hardBreak`s.
 */
import type * as Y from 'yjs'
import { Schema } from 'prosemirror-model'
import { EditorState } from 'prosemirror-state'
import { EditorView } from 'prosemirror-view'
import { keymap } from 'prosemirror-keymap'
import { baseKeymap, chainCommands, exitCode } from 'prosemirror-commands'
import { ySyncPlugin, yUndoPlugin, yCursorPlugin, undo, redo } from 'y-prosemirror'
import type { Awareness } from 'y-protocols/awareness'

export const richTextSchema = new Schema({
  nodes: {
    doc: { content: 'paragraph+' },
    paragraph: { content: 'inline*', group: 'block', parseDOM: [{ tag: 'p' }], toDOM: () => ['p', 0] },
    text: { group: 'inline' },
    hardBreak: {
      inline: true, group: 'inline', selectable: false,
      parseDOM: [{ tag: 'br' }], toDOM: () => ['br']
    }
  }
})

const insertHardBreak = chainCommands(exitCode, (state, dispatch) => {
  if (dispatch !== undefined) {
    dispatch(state.tr.replaceSelectionWith(richTextSchema.nodes.hardBreak.create()).scrollIntoView())
  }
  return true
})

export interface RichTextOptions {
  label: string
  awareness?: Awareness
  editable?: boolean
}

/** Mount an editor on `host`; returns a function that destroys it. */
export function mountRichText (host: HTMLElement, fragment: Y.XmlFragment, options: RichTextOptions): () => void {
  const plugins = [
    ySyncPlugin(fragment),
    yUndoPlugin(),
    keymap({ 'Mod-z': undo, 'Mod-y': redo, 'Mod-Shift-z': redo, 'Shift-Enter': insertHardBreak }),
    keymap(baseKeymap)
  ]
  if (options.awareness !== undefined) {
    // Remote carets in the text need the `user` field of awareness, which presence sets.
    plugins.splice(1, 0, yCursorPlugin(options.awareness))
  }
  let destroyed = false
  const view = new EditorView(host, {
    state: EditorState.create({ schema: richTextSchema, plugins }),
    // y-prosemirror may still dispatch a queued awareness refresh after the view is destroyed
    // (its binding never sets isDestroyed): drop it instead of crashing ProseMirror.
    // (ProseMirror calls this with the view as `this`, also while the constructor still runs.)
    dispatchTransaction (this: EditorView, tr) {
      if (!destroyed) this.updateState(this.state.apply(tr))
    },
    editable: () => options.editable !== false,
    attributes: {
      role: 'textbox',
      'aria-multiline': 'true',
      'aria-label': options.label,
      class: 'richtext'
    }
  })
  return () => {
    destroyed = true
    view.destroy()
  }
}
