// cnndsl highlighting and indentation for CodeMirror 6. The words come from cnndsl's own layer
// registry (the worker sends them once Python is up); until then only comments and numbers are coloured.
import { StreamLanguage, HighlightStyle, syntaxHighlighting, indentService } from "@codemirror/language";
import { tags as t } from "@lezer/highlight";

const DIMS = /^(?:-?\d+|\?)(?:x(?:-?\d+|\?))+(?![A-Za-z_0-9])/;
const NUMBER = /^(?:\d+\.\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|\d+(?:[eE][+-]?\d+)?)/;
const WORD = /^[A-Za-z_][A-Za-z0-9_]*/;

export function cnnLanguage(vocabulary = { layers: [], merges: [], options: [], statements: [], expressions: [] }) {
  const layers = new Set(vocabulary.layers);
  const merges = new Set(vocabulary.merges);
  const options = new Set(vocabulary.options);
  const statements = new Set(vocabulary.statements); // param, let, if, elif, else, for, use
  const expressionWords = new Set(vocabulary.expressions); // and, or, not, in, if, else
  return StreamLanguage.define({
    name: "cnndsl",
    startState: () => ({ stageStart: true, afterDef: false }),
    copyState: (s) => ({ ...s }),
    token(stream, state) {
      if (stream.sol()) state.stageStart = true;
      if (stream.eatSpace()) return null;
      if (stream.peek() === "#") {
        stream.skipToEnd();
        return "comment";
      }
      if (stream.match(DIMS) || stream.match(NUMBER)) {
        state.stageStart = false;
        return "number";
      }
      if (stream.match("@")) {
        stream.match(WORD);
        state.stageStart = false;
        return "labelName";
      }
      const word = stream.match(WORD);
      if (word) {
        const text = word[0];
        const atStart = state.stageStart;
        state.stageStart = false;
        if (state.afterDef) {
          state.afterDef = false;
          return "blockName";
        }
        if (atStart && text === "def") {
          state.afterDef = true;
          return "defKeyword";
        }
        if (text === "in" && stream.match(/^\.[A-Za-z_][A-Za-z0-9_]*/)) return "variableName"; // in.h: the input's size
        const rest = stream.string.slice(stream.pos);
        // `param x = 1`, `if s == 2:`, `else:`; not a label (`name: ...`) nor a block call (`name(...)`)
        if (atStart && statements.has(text) && (text === "else" || !/^\s*:(?!=)/.test(rest)) && !/^\s*\(/.test(rest)) {
          return "statementKeyword";
        }
        if (expressionWords.has(text)) return "statementKeyword";
        if (atStart && /^\s*:(?!=)/.test(stream.string.slice(stream.pos))) {
          state.stageStart = true; // `name: conv ...`: the layer word follows the label
          return "labelName";
        }
        if (atStart && merges.has(text)) return "merge";
        if (atStart && layers.has(text)) return "layer";
        if (atStart && /^\s*\(/.test(stream.string.slice(stream.pos))) return "blockName";
        if (options.has(text)) return "option";
        if (layers.has(text)) return "option"; // an activation written as an option: `conv 8 3x3 relu`
        return "variableName";
      }
      const ch = stream.next();
      if (ch === "|" || ch === ";" || ch === "(") {
        state.stageStart = true;
        return "operator";
      }
      if (ch === ":") {
        state.stageStart = true;
        return "punctuation";
      }
      if ("*+-/=,)".includes(ch)) return "operator";
      return null;
    },
    tokenTable: {
      layer: t.keyword,
      merge: t.controlKeyword,
      defKeyword: t.definitionKeyword,
      statementKeyword: t.definitionKeyword,
      blockName: t.function(t.variableName),
      option: t.modifier,
      labelName: t.labelName,
    },
    languageData: { commentTokens: { line: "#" } },
  });
}

export const cnnHighlighting = syntaxHighlighting(
  HighlightStyle.define([
    { tag: t.comment, color: "#6a737d", fontStyle: "italic" },
    { tag: t.number, color: "#005cc5" },
    { tag: t.keyword, color: "#b31d28", fontWeight: "600" },
    { tag: t.controlKeyword, color: "#6f42c1", fontWeight: "600" },
    { tag: t.definitionKeyword, color: "#6f42c1", fontWeight: "600" },
    { tag: t.function(t.variableName), color: "#6f42c1" },
    { tag: t.modifier, color: "#22863a" },
    { tag: t.labelName, color: "#e36209" },
    { tag: t.operator, color: "#d73a49" },
  ]),
);

// A line after `def name(...):` or inside open brackets is indented one level more than the one above.
// Enter asks before it breaks the line (a simulated break at `pos`): the text before the break is then
// the line above.
export const cnnIndentation = indentService.of((context, pos) => {
  const doc = context.state.doc;
  const here = doc.lineAt(pos);
  let previous = context.simulatedBreak === pos ? here.text.slice(0, pos - here.from) : "";
  let line = here.number - 1;
  while (!previous.trim() && line >= 1) previous = doc.line(line--).text;
  if (!previous.trim()) return 0;
  const base = previous.match(/^\s*/)[0].length;
  const code = previous.split("#", 1)[0].trimEnd();
  const open = (code.match(/\(/g) || []).length - (code.match(/\)/g) || []).length;
  return code.endsWith(":") || open > 0 ? base + context.unit : base;
});
