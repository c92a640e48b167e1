'use strict';

// The TextMate grammar against every example in examples/idr-ql and a few hand-written
// lines. Expected scopes come from test/idrql-reference.js, an independent lexer and
// parser, so a wrong grammar rule shows up as a mismatch.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const { readGrammar, loadGrammar, tokenize } = require('./textmate');
const { roles } = require('./idrql-reference');

const EXAMPLES_DIR = path.resolve(__dirname, '..', '..', '..', 'examples', 'idr-ql');
const ROOT = 'source.idrql';

const ROLE_SCOPES = {
  comment: ['comment.line.number-sign.idrql'],
  resource: ['entity.name.type.resource.idrql'],
  keyword: ['keyword.control.idrql'],
  logical: ['keyword.operator.logical.idrql'],
  operator: ['keyword.operator.comparison.idrql'],
  key: ['variable.other.key.idrql'],
  'key-string': ['string.quoted.double.idrql', 'variable.other.key.idrql'],
  string: ['string.quoted.double.idrql'],
  value: ['string.unquoted.value.idrql'],
  number: ['constant.numeric.idrql'],
};
// Scopes a role must not carry (a value is not a key, a key is not a plain value, …).
const ROLE_FORBIDDEN = {
  string: ['variable.other.key.idrql'],
  value: ['variable.other.key.idrql'],
  key: ['string.unquoted.value.idrql', 'string.quoted.double.idrql'],
  keyword: ['variable.other.key.idrql', 'string.unquoted.value.idrql'],
  logical: ['variable.other.key.idrql', 'string.unquoted.value.idrql'],
  operator: ['variable.other.key.idrql', 'string.unquoted.value.idrql'],
};

function exampleFiles() {
  return fs
    .readdirSync(EXAMPLES_DIR)
    .filter((name) => name.endsWith('.idrql'))
    .sort()
    .map((name) => path.join(EXAMPLES_DIR, name));
}

/**
 * Every disagreement between the grammar's tokens and the reference reading of `text`;
 * an empty list when the grammar is right.
 */
function mismatches(grammar, text) {
  const problems = [];
  const tmTokens = tokenize(grammar, text);
  const where = (token) => {
    const line = text.slice(0, token.start).split('\n').length;
    return `line ${line} ${JSON.stringify(token.text)}`;
  };

  for (const token of roles(text)) {
    const covering = tmTokens.filter((t) => t.start < token.end && t.end > token.start);
    if (covering.length === 0) {
      problems.push(`${where(token)}: no grammar token`);
      continue;
    }
    for (const t of covering) {
      if (t.start < token.start || t.end > token.end) {
        problems.push(`${where(token)}: grammar token ${JSON.stringify(t.text)} crosses its edge`);
      }
      const expected =
        token.role === 'punctuation'
          ? [t.scopes.find((s) => s.startsWith('punctuation.')) || 'punctuation.*']
          : ROLE_SCOPES[token.role];
      for (const scope of expected) {
        if (!t.scopes.includes(scope)) {
          problems.push(`${where(token)} (${token.role}): ${JSON.stringify(t.text)} lacks ${scope}, has ${t.scopes.join(' ')}`);
        }
      }
      for (const scope of ROLE_FORBIDDEN[token.role] || []) {
        if (t.scopes.includes(scope)) {
          problems.push(`${where(token)} (${token.role}): ${JSON.stringify(t.text)} must not have ${scope}`);
        }
      }
    }
    // The escapes of a string are their own tokens.
    for (const escape of token.escapes || []) {
      const t = tmTokens.find((x) => x.start === escape.start && x.end === escape.end);
      if (!t || !t.scopes.includes('constant.character.escape.idrql')) {
        problems.push(`${where(token)}: escape ${text.slice(escape.start, escape.end)} is not constant.character.escape.idrql`);
      }
    }
  }

  for (const t of tmTokens) {
    if (t.scopes.length === 1 && t.scopes[0] === ROOT && !/^[ \t\r\n\u{feff}]*$/u.test(t.text)) {
      problems.push(`${where(t)}: only the root scope`);
    }
  }
  return problems;
}

/** The non-whitespace tokens of one line as [text, scopes without the root]. */
async function scopesOf(line) {
  const grammar = await loadGrammar();
  return tokenize(grammar, line)
    .filter((t) => t.text.trim() !== '')
    .map((t) => [t.text, t.scopes.filter((s) => s !== ROOT && s !== 'meta.clause.show.idrql').join(' ')]);
}

const STR = 'string.quoted.double.idrql';
const KEY = 'variable.other.key.idrql';
const QKEY = `${STR} ${KEY}`;
const BEGIN = 'punctuation.definition.string.begin.idrql';
const END = 'punctuation.definition.string.end.idrql';
const CONTROL = 'keyword.control.idrql';
const LOGICAL = 'keyword.operator.logical.idrql';
const CMP = 'keyword.operator.comparison.idrql';
const RESOURCE = 'entity.name.type.resource.idrql';
const VALUE = 'string.unquoted.value.idrql';
const NUMBER = 'constant.numeric.idrql';
const COMMENT = 'comment.line.number-sign.idrql';

test('the examples directory holds .idrql files', () => {
  assert.ok(exampleFiles().length >= 9, `found ${exampleFiles().length} in ${EXAMPLES_DIR}`);
});

test('every example is scoped as the reference lexer and parser read it', async (t) => {
  const grammar = await loadGrammar();
  for (const file of exampleFiles()) {
    await t.test(path.basename(file), () => {
      const text = fs.readFileSync(file, 'utf8');
      assert.deepEqual(mismatches(grammar, text), []);
    });
  }
});

// Valid queries beyond the examples, for what they lack (escapes, `not in`, `!=`, `!~`,
// `in study`, `;`, upper case, non-ASCII words; lookups by id and catalog queries in
// every form, studies, and `keys`/`values` as ordinary words after the head).
const EXTRA_QUERIES = [
  'images where "Gene Symbol" = ade8 show name limit 5',
  'images where not "Cell Line" in (HeLa, "say \\"hi\\"") and Phenotype ~ mitosis limit 20 # trailing comment',
  'wells in plate 4554 where name not in (A1, B2) or Row != 3; screens where name !~ idr0002',
  'IMAGES In Study "idr0002" WHERE "Gene Symbol"=ade8 SHOW Name, "Channels" LIMIT 3',
  'projects where (name ~ "idr0021" or Organism = "Homo sapiens") and not Andrew = Ménière/细胞分裂\n  show "Tab\\there \\u{e9}", url\n  limit 1000',
  '# only a comment\ndatasets in project 51 where "Back\\\\slash" = "\\n\\r" ; images in dataset 51 where x in ()',
  // Lookups by id: singular or plural resources, any case, one id or several.
  'image 122770\nimages 1884807, 1884808 show thumbnail\nscreen 102 show files\nplates 4554, 422 show rowLabels',
  'Well 45217 show bulk; PROJECT 51 show files, name;Dataset 51 limit 2',
  'images 1884807,\n  # ids may continue on the next lines\n  1884808 ,1884809\n  show name',
  // Catalog queries.
  'keys\nkeys in screens limit 5\nvalues "Gene Symbol"\nvalues Organism in screens\nValues organism in plate',
  'KEYS IN Image LIMIT 3; values in wells limit 10;values "Cell Line" limit 2 # a comment',
  'values\n  "Gene Symbol" # the key\n  in screens\n  limit 3',
  'values keys in images; values values; keys',
  // Studies: plural only, found by a condition on their images.
  'studies where "Gene Symbol" = cdc20\nSTUDIES where "Gene Symbol" in (cdc20, ect2) and "Cell Line" = HeLa show title, imageCount, containers',
  'images where a = b; Studies\n  where Phenotype ~ mitotic\n  show publication, license, releaseDate, organism limit 5',
  // `keys` and `values` are ordinary words anywhere but the head.
  'images where keys = values show keys, values',
  'images\n  where values ~ keys and "keys" in (keys, values)\n  show values',
];

test('hand-written queries are scoped as the reference reads them', async (t) => {
  const grammar = await loadGrammar();
  for (const text of EXTRA_QUERIES) {
    await t.test(text, () => {
      assert.deepEqual(mismatches(grammar, text), []);
    });
  }
});

test('the reference finds every token class in the examples', () => {
  const seen = new Set();
  for (const file of exampleFiles()) {
    for (const token of roles(fs.readFileSync(file, 'utf8'))) seen.add(token.role);
  }
  for (const role of ['comment', 'resource', 'keyword', 'logical', 'operator', 'key', 'key-string', 'string', 'value', 'number', 'punctuation']) {
    assert.ok(seen.has(role), `no ${role} in the examples`);
  }
});

test('a wrong grammar fails the check on the examples and the hand-written queries', async (t) => {
  const examples = exampleFiles().map((file) => fs.readFileSync(file, 'utf8')).concat(EXTRA_QUERIES);
  const failsOn = async (mutate) => {
    const raw = readGrammar();
    mutate(raw);
    const grammar = await loadGrammar(raw);
    return examples.flatMap((text) => mismatches(grammar, text));
  };
  // Where a query starts: column 0 or after `;` (the prefix of the head rules).
  const QUERY_START = '(?:^\\x{FEFF}?|(?<=;)[ \\t\\r\\x{FEFF}]*)';
  const mutations = {
    'comment scope renamed': (g) => { g.repository.comment.name = 'comment.block.idrql'; },
    'no bare keys': (g) => { delete g.repository['key-word'].match; g.repository['key-word'].patterns = []; },
    'no quoted keys': (g) => { g.repository['key-string'].begin = '(?!)'; },
    'no show clause': (g) => { g.repository['show-clause'] = { patterns: [] }; },
    'no resources': (g) => { g.repository.resource = { patterns: [] }; },
    'no scope clause': (g) => { g.repository.scope = { patterns: [] }; },
    'no symbol operators': (g) => { g.repository['symbol-operator'] = { patterns: [] }; },
    'logical keywords as values': (g) => { g.repository['logical-operator'].name = 'string.unquoted.value.idrql'; },
    'no escapes': (g) => { g.repository.escape = { patterns: [] }; },
    'no numbers after limit': (g) => { g.repository['limit-clause'].captures['2'] = {}; },
    'no bare values': (g) => { g.repository['bare-value'] = { patterns: [] }; g.repository.invalid = { patterns: [] }; },
    'singular resources not recognised': (g) => { g.repository.resource.begin = g.repository.resource.begin.replaceAll('s?', 's'); },
    'studies not recognised': (g) => { g.repository.resource.begin = g.repository.resource.begin.replace('|studies)', ')'); },
    'no ids after a resource': (g) => { g.repository.resource.patterns = []; },
    'no catalog queries': (g) => { g.repository.catalog = { patterns: [] }; },
    'keys and values heads anywhere': (g) => {
      for (const rule of ['catalog-keys', 'catalog-values']) {
        g.repository[rule].begin = g.repository[rule].begin.replace(QUERY_START, '');
      }
    },
    'no key after values': (g) => { g.repository['catalog-values'].patterns = g.repository['catalog-keys'].patterns; },
    'in RESOURCE of a catalog query read as a scope': (g) => {
      g.repository['catalog-of'] = { patterns: [{ include: '#scope' }, { include: '#list-operator' }, { include: '#bare-value' }] };
    },
    'no resource after a catalog in': (g) => { g.repository['catalog-resource'] = { patterns: [] }; },
  };
  for (const [name, mutate] of Object.entries(mutations)) {
    await t.test(name, async () => {
      assert.notDeepEqual(await failsOn(mutate), [], `the check passed with "${name}"`);
    });
  }
});

test('images where "Gene Symbol" = ade8 show name limit 5', async () => {
  assert.deepEqual(await scopesOf('images where "Gene Symbol" = ade8 show name limit 5'), [
    ['images', RESOURCE],
    ['where', CONTROL],
    ['"', `${QKEY} ${BEGIN}`],
    ['Gene Symbol', QKEY],
    ['"', `${QKEY} ${END}`],
    ['=', CMP],
    ['ade8', VALUE],
    ['show', CONTROL],
    ['name', KEY],
    ['limit', CONTROL],
    ['5', NUMBER],
  ]);
});

test('not, in (a, b), ~, an escape, a limit and a trailing comment', async () => {
  const line = 'images where not "Cell Line" in (HeLa, "say \\"hi\\"") and Phenotype ~ mitosis limit 20 # trailing comment';
  assert.deepEqual(await scopesOf(line), [
    ['images', RESOURCE],
    ['where', CONTROL],
    ['not', LOGICAL],
    ['"', `${QKEY} ${BEGIN}`],
    ['Cell Line', QKEY],
    ['"', `${QKEY} ${END}`],
    ['in', CMP],
    ['(', 'punctuation.section.parens.begin.idrql'],
    ['HeLa', VALUE],
    [',', 'punctuation.separator.comma.idrql'],
    ['"', `${STR} ${BEGIN}`],
    ['say ', STR],
    ['\\"', `${STR} constant.character.escape.idrql`],
    ['hi', STR],
    ['\\"', `${STR} constant.character.escape.idrql`],
    ['"', `${STR} ${END}`],
    [')', 'punctuation.section.parens.end.idrql'],
    ['and', LOGICAL],
    ['Phenotype', KEY],
    ['~', CMP],
    ['mitosis', VALUE],
    ['limit', CONTROL],
    ['20', NUMBER],
    ['#', `${COMMENT} punctuation.definition.comment.idrql`],
    [' trailing comment', COMMENT],
  ]);
});

test('a scope, not in, != and !~, and two queries joined by ;', async () => {
  const line = 'wells in plate 4554 where name not in (A1, B2) or Row != 3; screens where name !~ idr0002';
  assert.deepEqual(await scopesOf(line), [
    ['wells', RESOURCE],
    ['in', CONTROL],
    ['plate', CONTROL],
    ['4554', NUMBER],
    ['where', CONTROL],
    ['name', KEY],
    ['not', CMP],
    ['in', CMP],
    ['(', 'punctuation.section.parens.begin.idrql'],
    ['A1', VALUE],
    [',', 'punctuation.separator.comma.idrql'],
    ['B2', VALUE],
    [')', 'punctuation.section.parens.end.idrql'],
    ['or', LOGICAL],
    ['Row', KEY],
    ['!=', CMP],
    ['3', VALUE],
    [';', 'punctuation.terminator.query.idrql'],
    ['screens', RESOURCE],
    ['where', CONTROL],
    ['name', KEY],
    ['!~', CMP],
    ['idr0002', VALUE],
  ]);
});

test('keywords and resources in any case; a study name; quoted show keys', async () => {
  const line = 'IMAGES In Study "idr0002" WHERE "Gene Symbol"=ade8 SHOW Name, "Channels" LIMIT 3';
  assert.deepEqual(await scopesOf(line), [
    ['IMAGES', RESOURCE],
    ['In', CONTROL],
    ['Study', CONTROL],
    ['"', `${STR} ${BEGIN}`],
    ['idr0002', STR],
    ['"', `${STR} ${END}`],
    ['WHERE', CONTROL],
    ['"', `${QKEY} ${BEGIN}`],
    ['Gene Symbol', QKEY],
    ['"', `${QKEY} ${END}`],
    ['=', CMP],
    ['ade8', VALUE],
    ['SHOW', CONTROL],
    ['Name', KEY],
    [',', 'punctuation.separator.comma.idrql'],
    ['"', `${QKEY} ${BEGIN}`],
    ['Channels', QKEY],
    ['"', `${QKEY} ${END}`],
    ['LIMIT', CONTROL],
    ['3', NUMBER],
  ]);
});

test('words that contain keywords, non-ASCII words and bad characters', async () => {
  const line = 'screens where Andrew = Ménière/细胞分裂 or notes ~ index < x "bad \\q"';
  assert.deepEqual(await scopesOf(line), [
    ['screens', RESOURCE],
    ['where', CONTROL],
    ['Andrew', KEY],
    ['=', CMP],
    ['Ménière/细胞分裂', VALUE],
    ['or', LOGICAL],
    ['notes', KEY],
    ['~', CMP],
    ['index', VALUE],
    ['<', 'invalid.illegal.character.idrql'],
    ['x', VALUE],
    ['"', `${STR} ${BEGIN}`],
    ['bad ', STR],
    ['\\q', `${STR} invalid.illegal.escape.idrql`],
    ['"', `${STR} ${END}`],
  ]);
});

test('lookups by id: singular and plural resources in any case, ids as numbers', async () => {
  assert.deepEqual(await scopesOf('image 122770; Images 1884807, 1884808 show thumbnail;SCREEN 102 show files'), [
    ['image', RESOURCE],
    ['122770', NUMBER],
    [';', 'punctuation.terminator.query.idrql'],
    ['Images', RESOURCE],
    ['1884807', NUMBER],
    [',', 'punctuation.separator.comma.idrql'],
    ['1884808', NUMBER],
    ['show', CONTROL],
    ['thumbnail', KEY],
    [';', 'punctuation.terminator.query.idrql'],
    ['SCREEN', RESOURCE],
    ['102', NUMBER],
    ['show', CONTROL],
    ['files', KEY],
  ]);
  // A singular word is a resource only at the start of a query: after `in` it is a scope
  // kind, in a condition a key or a value.
  assert.deepEqual(await scopesOf('plates 4554, 422 in screen 102 where well = image'), [
    ['plates', RESOURCE],
    ['4554', NUMBER],
    [',', 'punctuation.separator.comma.idrql'],
    ['422', NUMBER],
    ['in', CONTROL],
    ['screen', CONTROL],
    ['102', NUMBER],
    ['where', CONTROL],
    ['well', KEY],
    ['=', CMP],
    ['image', VALUE],
  ]);
});

test('studies: a plural resource at the start of a query, with no singular', async () => {
  assert.deepEqual(await scopesOf('studies where "Gene Symbol" = cdc20 show title, imageCount, publication, license, containers'), [
    ['studies', RESOURCE],
    ['where', CONTROL],
    ['"', `${QKEY} ${BEGIN}`],
    ['Gene Symbol', QKEY],
    ['"', `${QKEY} ${END}`],
    ['=', CMP],
    ['cdc20', VALUE],
    ['show', CONTROL],
    ['title', KEY],
    [',', 'punctuation.separator.comma.idrql'],
    ['imageCount', KEY],
    [',', 'punctuation.separator.comma.idrql'],
    ['publication', KEY],
    [',', 'punctuation.separator.comma.idrql'],
    ['license', KEY],
    [',', 'punctuation.separator.comma.idrql'],
    ['containers', KEY],
  ]);
  assert.deepEqual(await scopesOf('images where a = b;Studies where x = y'), [
    ['images', RESOURCE],
    ['where', CONTROL],
    ['a', KEY],
    ['=', CMP],
    ['b', VALUE],
    [';', 'punctuation.terminator.query.idrql'],
    ['Studies', RESOURCE],
    ['where', CONTROL],
    ['x', KEY],
    ['=', CMP],
    ['y', VALUE],
  ]);
  // Studies are named, not numbered: `study` at the start of a query is no resource (the
  // language server reports the unknown word), and its number is no id.
  assert.deepEqual(await scopesOf('study 5'), [
    ['study', VALUE],
    ['5', VALUE],
  ]);
  assert.deepEqual(await scopesOf('images where a = b; STUDY 5'), [
    ['images', RESOURCE],
    ['where', CONTROL],
    ['a', KEY],
    ['=', CMP],
    ['b', VALUE],
    [';', 'punctuation.terminator.query.idrql'],
    ['STUDY', VALUE],
    ['5', VALUE],
  ]);
  // `study` stays the scope kind of `in study "name"`.
  assert.deepEqual(await scopesOf('images in study "idr0002" where a = b'), [
    ['images', RESOURCE],
    ['in', CONTROL],
    ['study', CONTROL],
    ['"', `${STR} ${BEGIN}`],
    ['idr0002', STR],
    ['"', `${STR} ${END}`],
    ['where', CONTROL],
    ['a', KEY],
    ['=', CMP],
    ['b', VALUE],
  ]);
  // After the `in` of a catalog query `studies` is a resource word, as `datasets` is (the
  // language server reports that the search engine has no catalog of either); `study` is
  // not.
  assert.deepEqual(await scopesOf('keys in studies; values Organism in study'), [
    ['keys', CONTROL],
    ['in', CONTROL],
    ['studies', RESOURCE],
    [';', 'punctuation.terminator.query.idrql'],
    ['values', CONTROL],
    ['Organism', KEY],
    ['in', CONTROL],
    ['study', VALUE],
  ]);
});

test('ids are ASCII digits only, as in grammar.pest', async () => {
  // U+0661..U+0663, ARABIC-INDIC DIGITs: word characters, not a number.
  assert.deepEqual(await scopesOf('image \u0661\u0662\u0663'), [
    ['image', RESOURCE],
    ['\u0661\u0662\u0663', VALUE],
  ]);
});

test('catalog queries: keys and values heads, the key after values, the resource after in', async () => {
  assert.deepEqual(await scopesOf('values "Gene Symbol" in screens limit 3; keys'), [
    ['values', CONTROL],
    ['"', `${QKEY} ${BEGIN}`],
    ['Gene Symbol', QKEY],
    ['"', `${QKEY} ${END}`],
    ['in', CONTROL],
    ['screens', RESOURCE],
    ['limit', CONTROL],
    ['3', NUMBER],
    [';', 'punctuation.terminator.query.idrql'],
    ['keys', CONTROL],
  ]);
  assert.deepEqual(await scopesOf('Values organism in plate;KEYS IN Images LIMIT 5; values limit 2'), [
    ['Values', CONTROL],
    ['organism', KEY],
    ['in', CONTROL],
    ['plate', RESOURCE],
    [';', 'punctuation.terminator.query.idrql'],
    ['KEYS', CONTROL],
    ['IN', CONTROL],
    ['Images', RESOURCE],
    ['LIMIT', CONTROL],
    ['5', NUMBER],
    [';', 'punctuation.terminator.query.idrql'],
    ['values', CONTROL],
    ['limit', CONTROL],
    ['2', NUMBER],
  ]);
});

test('`in screen` is a resource after keys or values and a scope after a resource', async () => {
  assert.deepEqual(await scopesOf('keys in screen; values in screens; plates in screen 102'), [
    ['keys', CONTROL],
    ['in', CONTROL],
    ['screen', RESOURCE],
    [';', 'punctuation.terminator.query.idrql'],
    ['values', CONTROL],
    ['in', CONTROL],
    ['screens', RESOURCE],
    [';', 'punctuation.terminator.query.idrql'],
    ['plates', RESOURCE],
    ['in', CONTROL],
    ['screen', CONTROL],
    ['102', NUMBER],
  ]);
});

test('keys and values are ordinary words anywhere but the head of a query', async () => {
  assert.deepEqual(await scopesOf('images where keys = values show keys, values'), [
    ['images', RESOURCE],
    ['where', CONTROL],
    ['keys', KEY],
    ['=', CMP],
    ['values', VALUE],
    ['show', CONTROL],
    ['keys', KEY],
    [',', 'punctuation.separator.comma.idrql'],
    ['values', KEY],
  ]);
  // After `values` the key may itself be spelled `keys` or `values`.
  assert.deepEqual(await scopesOf('values keys in wells; values values'), [
    ['values', CONTROL],
    ['keys', KEY],
    ['in', CONTROL],
    ['wells', RESOURCE],
    [';', 'punctuation.terminator.query.idrql'],
    ['values', CONTROL],
    ['values', KEY],
  ]);
  // On a continuation line (not at column 0) `keys` is not a head.
  assert.deepEqual(await scopesOf('images\n  where keys ~ x'), [
    ['images', RESOURCE],
    ['where', CONTROL],
    ['keys', KEY],
    ['~', CMP],
    ['x', VALUE],
  ]);
});

test('a keyword out of place in a catalog query is still a keyword', async () => {
  assert.deepEqual(await scopesOf('keys where a = b and not c'), [
    ['keys', CONTROL],
    ['where', CONTROL],
    ['a', VALUE],
    ['=', CMP],
    ['b', VALUE],
    ['and', LOGICAL],
    ['not', LOGICAL],
    ['c', VALUE],
  ]);
});

test('ids and catalog queries continue on indented lines and end at a new query', async () => {
  const text = 'images 1884807,\n  # more\n  1884808\n  show name\nvalues\n  "Gene Symbol"\n  in screens\n  limit 3\n'
    + 'keys in images\nimage 5\n7\n';
  assert.deepEqual(await scopesOf(text), [
    ['images', RESOURCE],
    ['1884807', NUMBER],
    [',', 'punctuation.separator.comma.idrql'],
    ['#', `${COMMENT} punctuation.definition.comment.idrql`],
    [' more', COMMENT],
    ['1884808', NUMBER],
    ['show', CONTROL],
    ['name', KEY],
    ['values', CONTROL],
    ['"', `${QKEY} ${BEGIN}`],
    ['Gene Symbol', QKEY],
    ['"', `${QKEY} ${END}`],
    ['in', CONTROL],
    ['screens', RESOURCE],
    ['limit', CONTROL],
    ['3', NUMBER],
    ['keys', CONTROL],
    ['in', CONTROL],
    ['images', RESOURCE],
    ['image', RESOURCE],
    ['5', NUMBER],
    // A number at column 0 starts a (wrong) query of its own: not an id of `image 5`.
    ['7', VALUE],
  ]);
});

test('a show list ends at a new query; comments and continuation lines stay inside', async () => {
  const grammar = await loadGrammar();
  const text = 'wells in plate 1 show label,\n# a comment at column 0\n  images\nplates in screen 2 show name\n';
  const scoped = tokenize(grammar, text)
    .filter((t) => t.text.trim() !== '')
    .map((t) => [t.text, t.scopes.includes('meta.clause.show.idrql'), t.scopes.at(-1)]);
  assert.deepEqual(scoped, [
    ['wells', false, RESOURCE],
    ['in', false, CONTROL],
    ['plate', false, CONTROL],
    ['1', false, NUMBER],
    ['show', true, CONTROL],
    ['label', true, KEY],
    [',', true, 'punctuation.separator.comma.idrql'],
    ['#', true, 'punctuation.definition.comment.idrql'],
    [' a comment at column 0', true, COMMENT],
    ['images', true, KEY],
    ['plates', false, RESOURCE],
    ['in', false, CONTROL],
    ['screen', false, CONTROL],
    ['2', false, NUMBER],
    ['show', true, CONTROL],
    ['name', true, KEY],
  ]);
});

test('an unterminated string ends at the end of its line', async () => {
  assert.deepEqual(await scopesOf('images where a = "open\n  limit 5'), [
    ['images', RESOURCE],
    ['where', CONTROL],
    ['a', KEY],
    ['=', CMP],
    ['"', `${STR} ${BEGIN}`],
    ['open', STR],
    ['limit', CONTROL],
    ['5', NUMBER],
  ]);
});

module.exports = { mismatches };
