'use strict';

// Loads syntaxes/idrql.tmLanguage.json with vscode-textmate and vscode-oniguruma (the
// engine VS Code itself uses) and tokenizes whole texts.

const fs = require('node:fs');
const path = require('node:path');
const vsctm = require('vscode-textmate');
const oniguruma = require('vscode-oniguruma');

const GRAMMAR_PATH = path.join(__dirname, '..', 'syntaxes', 'idrql.tmLanguage.json');
const WASM_PATH = path.join(
  path.dirname(require.resolve('vscode-oniguruma/package.json')),
  'release',
  'onig.wasm',
);

let onigLib;
function loadOniguruma() {
  if (onigLib === undefined) {
    const wasm = fs.readFileSync(WASM_PATH);
    onigLib = oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength)).then(() => ({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (text) => new oniguruma.OnigString(text),
    }));
  }
  return onigLib;
}

function readGrammar() {
  return JSON.parse(fs.readFileSync(GRAMMAR_PATH, 'utf8'));
}

/** Loads a grammar (the file's, or `raw` when given, e.g. a mutated copy). */
async function loadGrammar(raw = readGrammar()) {
  const registry = new vsctm.Registry({
    onigLib: loadOniguruma(),
    loadGrammar: async (scopeName) =>
      scopeName === raw.scopeName
        ? vsctm.parseRawGrammar(JSON.stringify(raw), 'idrql.tmLanguage.json')
        : null,
  });
  const grammar = await registry.loadGrammar(raw.scopeName);
  if (!grammar) throw new Error(`grammar ${raw.scopeName} did not load`);
  return grammar;
}

/** Tokens of a whole text: { start, end, text, scopes } with offsets into `text`. */
function tokenize(grammar, text) {
  const tokens = [];
  let state = vsctm.INITIAL;
  let offset = 0;
  for (const line of text.split('\n')) {
    const result = grammar.tokenizeLine(line, state);
    for (const token of result.tokens) {
      const end = Math.min(token.endIndex, line.length);
      if (end <= token.startIndex) continue;
      tokens.push({
        start: offset + token.startIndex,
        end: offset + end,
        text: line.slice(token.startIndex, end),
        scopes: token.scopes,
      });
    }
    state = result.ruleStack;
    offset += line.length + 1;
  }
  return tokens;
}

module.exports = { GRAMMAR_PATH, readGrammar, loadGrammar, tokenize };
