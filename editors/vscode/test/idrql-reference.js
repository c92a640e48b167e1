'use strict';

// An independent reading of IDR-QL for the grammar tests: a lexer transcribed from
// crates/idr-ql/src/lexer.rs and grammar.pest, and a small parser that gives every token
// the role it plays in its query (resource, keyword, key, operator, value, …). It shares
// no code or regular expression with syntaxes/idrql.tmLanguage.json, so the tests compare
// two readings of the language rather than the grammar with itself.

const KEYWORDS = ['and', 'or', 'not', 'in', 'where', 'show', 'limit'];
const RESOURCES = ['images', 'screens', 'plates', 'wells', 'projects', 'datasets', 'studies'];
// `image 122770`: a resource word may also be singular, at the start of a query or after
// the `in` of a catalog query. Studies have no singular (they are named, not numbered):
// `study` is only the scope kind of `in study "name"`.
const SINGULAR_RESOURCES = ['image', 'screen', 'plate', 'well', 'project', 'dataset'];
// grammar.pest's kw_keys and kw_values: keywords only as the first word of a query
// (`keys in screens`, `values "Gene Symbol"`); anywhere else they are ordinary words.
const CATALOG_HEADS = ['keys', 'values'];
const SCOPE_KINDS = ['study', 'screen', 'plate', 'project', 'dataset', 'well'];
const SYMBOL_OPERATORS = ['!=', '!~', '=', '~']; // longest first
const SPACES = [' ', '\t', '\r', '\n', '\u{feff}'];

// grammar.pest's word_char: ASCII letters and digits, `_ - . / :`, and every non-ASCII
// character except these ranges.
const NOT_WORD = [
  [0x80, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200b],
  [0x200e, 0x200f],
  [0x2028, 0x202f],
  [0x205f, 0x205f],
  [0x2066, 0x2069],
  [0x3000, 0x3000],
  [0xfeff, 0xfeff],
];

function isWordChar(ch) {
  const cp = ch.codePointAt(0);
  if (cp < 0x80) {
    return /^[A-Za-z0-9_\-./:]$/.test(ch);
  }
  return !NOT_WORD.some(([low, high]) => cp >= low && cp <= high);
}

function isKeyword(text) {
  return KEYWORDS.includes(text.toLowerCase());
}

function isResource(text) {
  const word = text.toLowerCase();
  return RESOURCES.includes(word) || SINGULAR_RESOURCES.includes(word);
}

/**
 * Tokens with UTF-16 offsets (as vscode-textmate reports them).
 * kind: word | string | op | lparen | rparen | comma | semi | comment | unknown
 */
function lex(text) {
  const tokens = [];
  let i = 0;
  const charAt = (at) => String.fromCodePoint(text.codePointAt(at));
  while (i < text.length) {
    const start = i;
    const ch = charAt(i);
    const op = SYMBOL_OPERATORS.find((symbol) => text.startsWith(symbol, i));
    if (op !== undefined) {
      i += op.length;
      tokens.push({ kind: 'op', start, end: i, text: op });
      continue;
    }
    if (SPACES.includes(ch)) {
      i += ch.length;
      continue;
    }
    let kind;
    const escapes = [];
    if (ch === '#') {
      while (i < text.length && text[i] !== '\n') i += 1;
      kind = 'comment';
    } else if (ch === '"') {
      i += 1;
      let terminated = false;
      while (i < text.length && text[i] !== '\n') {
        if (text[i] === '"') {
          i += 1;
          terminated = true;
          break;
        }
        if (text[i] === '\\') {
          const escapeStart = i;
          i += 1;
          if (i < text.length && text[i] !== '\n') {
            // docs/idr-ql.md: `\u{…}` takes 1 to 6 hex digits; the other escapes are one
            // character. (The lexer takes one character; the tree builder checks the rest.)
            const unicode = text[i] === 'u' ? /^u\{[0-9A-Fa-f]{1,6}\}/.exec(text.slice(i)) : null;
            i += unicode ? unicode[0].length : charAt(i).length;
            escapes.push({ start: escapeStart, end: i });
          }
        } else {
          i += charAt(i).length;
        }
      }
      kind = 'string';
      if (!terminated) throw new Error(`unterminated string at ${start}`);
    } else if (ch === '(') {
      i += 1;
      kind = 'lparen';
    } else if (ch === ')') {
      i += 1;
      kind = 'rparen';
    } else if (ch === ',') {
      i += 1;
      kind = 'comma';
    } else if (ch === ';') {
      i += 1;
      kind = 'semi';
    } else if (isWordChar(ch)) {
      while (i < text.length && isWordChar(charAt(i))) i += charAt(i).length;
      kind = 'word';
    } else {
      i += ch.length;
      kind = 'unknown';
    }
    const token = { kind, start, end: i, text: text.slice(start, i) };
    if (kind === 'string') token.escapes = escapes;
    tokens.push(token);
  }
  return tokens;
}

/** Splits tokens into queries, as lexer.rs `segments` does. */
function segments(text, tokens) {
  const queries = [];
  let current = [];
  const flush = () => {
    if (current.length > 0) queries.push(current);
    current = [];
  };
  for (const token of tokens) {
    if (token.kind === 'comment') continue;
    if (token.kind === 'semi') {
      flush();
      continue;
    }
    if (token.start === 0 || text[token.start - 1] === '\n') flush();
    current.push(token);
  }
  flush();
  return queries;
}

/**
 * Every token of `text` with its role. Throws on text that is not valid IDR-QL (the
 * examples all are). Roles: resource (plural or singular), keyword (clause keywords,
 * scope kinds, and `keys`/`values` heading a catalog query), logical (and/or/not),
 * operator (comparison, `in`, `not in`), key (also the key after `values`), key-string,
 * string, value, number (a limit, a scope's id, the ids of `image 122770`), comment,
 * punctuation.
 */
function roles(text) {
  const tokens = lex(text);
  for (const token of tokens) {
    if (token.kind === 'comment') token.role = 'comment';
    if (token.kind === 'semi') token.role = 'punctuation';
    if (token.kind === 'unknown') throw new Error(`unexpected ${JSON.stringify(token.text)}`);
  }
  for (const query of segments(text, tokens)) parseQuery(query);
  const missing = tokens.find((token) => token.role === undefined);
  if (missing) throw new Error(`no role for ${JSON.stringify(missing.text)} at ${missing.start}`);
  return tokens;
}

function parseQuery(tokens) {
  let at = 0;
  const peek = (offset = 0) => tokens[at + offset];
  const isWord = (token, word) =>
    token !== undefined && token.kind === 'word' && token.text.toLowerCase() === word;
  const fail = (what) => {
    const token = peek();
    throw new Error(`expected ${what}, found ${token ? JSON.stringify(token.text) : 'the end'}`);
  };
  const take = (role, test, what) => {
    const token = peek();
    if (token === undefined || !test(token)) fail(what);
    token.role = role;
    at += 1;
    return token;
  };
  const bareWord = (token) => token.kind === 'word' && !isKeyword(token.text);
  const text = (token) => token.kind === 'string' || bareWord(token);

  const digits = (token) => token !== undefined && token.kind === 'word' && /^[0-9]+$/.test(token.text);
  const limit = () => {
    if (isWord(peek(), 'limit')) {
      take('keyword', () => true, 'limit');
      take('number', digits, 'a number');
    }
  };

  // catalog = ("keys" | "values" [key]) ["in" resource] [limit]
  const head = peek();
  if (head !== undefined && head.kind === 'word' && CATALOG_HEADS.includes(head.text.toLowerCase())) {
    take('keyword', () => true, 'keys or values');
    if (head.text.toLowerCase() === 'values' && peek() !== undefined && text(peek())) {
      take(peek().kind === 'string' ? 'key-string' : 'key', () => true, 'a key');
    }
    if (isWord(peek(), 'in')) {
      take('keyword', () => true, 'in');
      take('resource', (t) => t.kind === 'word' && isResource(t.text), 'a resource');
    }
    limit();
    if (at !== tokens.length) fail('the end of the query');
    return;
  }

  // listing = resource [ids] [scope] [where] [show] [limit]
  take('resource', (t) => t.kind === 'word' && isResource(t.text), 'a resource');
  if (digits(peek())) {
    take('number', () => true, 'an id');
    while (peek() !== undefined && peek().kind === 'comma') {
      take('punctuation', () => true, ',');
      take('number', digits, 'an id');
    }
  }
  if (isWord(peek(), 'in')) {
    take('keyword', () => true, 'in');
    take('keyword', (t) => t.kind === 'word' && SCOPE_KINDS.includes(t.text.toLowerCase()), 'a scope kind');
    const target = peek();
    if (digits(target)) {
      take('number', () => true, 'an id');
    } else if (target !== undefined && target.kind === 'string') {
      take('string', () => true, 'a study');
    } else {
      take('value', bareWord, 'a scope target');
    }
  }
  const orExpr = () => {
    andExpr();
    while (isWord(peek(), 'or')) {
      take('logical', () => true, 'or');
      andExpr();
    }
  };
  const andExpr = () => {
    unary();
    while (isWord(peek(), 'and')) {
      take('logical', () => true, 'and');
      unary();
    }
  };
  const value = () => {
    if (peek() !== undefined && peek().kind === 'string') take('string', () => true, 'a value');
    else take('value', bareWord, 'a value');
  };
  const unary = () => {
    while (isWord(peek(), 'not')) take('logical', () => true, 'not');
    if (peek() !== undefined && peek().kind === 'lparen') {
      take('punctuation', () => true, '(');
      orExpr();
      take('punctuation', (t) => t.kind === 'rparen', ')');
      return;
    }
    take(peek() !== undefined && peek().kind === 'string' ? 'key-string' : 'key', text, 'a key');
    let list = false;
    if (peek() !== undefined && peek().kind === 'op') {
      take('operator', () => true, 'an operator');
    } else if (isWord(peek(), 'not') && isWord(peek(1), 'in')) {
      take('operator', () => true, 'not');
      take('operator', () => true, 'in');
      list = true;
    } else {
      take('operator', (t) => isWord(t, 'in'), 'an operator');
      list = true;
    }
    if (!list) {
      value();
      return;
    }
    take('punctuation', (t) => t.kind === 'lparen', '(');
    if (peek() !== undefined && peek().kind !== 'rparen') {
      value();
      while (peek() !== undefined && peek().kind === 'comma') {
        take('punctuation', () => true, ',');
        value();
      }
    }
    take('punctuation', (t) => t.kind === 'rparen', ')');
  };
  if (isWord(peek(), 'where')) {
    take('keyword', () => true, 'where');
    orExpr();
  }
  if (isWord(peek(), 'show')) {
    take('keyword', () => true, 'show');
    const item = () =>
      take(peek() !== undefined && peek().kind === 'string' ? 'key-string' : 'key', text, 'a field');
    item();
    while (peek() !== undefined && peek().kind === 'comma') {
      take('punctuation', () => true, ',');
      item();
    }
  }
  limit();
  if (at !== tokens.length) fail('the end of the query');
}

module.exports = { lex, roles, isWordChar, KEYWORDS, RESOURCES, SINGULAR_RESOURCES, CATALOG_HEADS, SCOPE_KINDS };
