'use strict';

// package.json, the grammar and the language configuration agree with one another.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const read = (file) => fs.readFileSync(path.join(ROOT, file), 'utf8');
const manifest = JSON.parse(read('package.json'));

test('the language is registered as idrql for .idrql files', () => {
  const languages = manifest.contributes.languages;
  assert.equal(languages.length, 1);
  const [language] = languages;
  assert.equal(language.id, 'idrql');
  assert.deepEqual(language.extensions, ['.idrql']);
  assert.ok(language.aliases.includes('IDR-QL'));
  assert.ok(fs.existsSync(path.join(ROOT, language.configuration)), language.configuration);
});

test('the grammar contribution matches the grammar file', () => {
  const [grammar] = manifest.contributes.grammars;
  assert.equal(manifest.contributes.grammars.length, 1);
  assert.equal(grammar.language, manifest.contributes.languages[0].id);
  const file = path.join(ROOT, grammar.path);
  assert.ok(fs.existsSync(file), grammar.path);
  const raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.equal(raw.scopeName, grammar.scopeName);
  assert.equal(raw.scopeName, 'source.idrql');
  const extensions = manifest.contributes.languages[0].extensions.map((ext) => ext.replace(/^\./, ''));
  assert.deepEqual(raw.fileTypes, extensions);
  // Every include names a rule that exists.
  const includes = JSON.stringify(raw).match(/"include":"#[^"]+"/g) || [];
  for (const include of includes) {
    const name = include.slice('"include":"#'.length, -1);
    assert.ok(raw.repository[name], `missing repository rule ${name}`);
  }
});

test('the language configuration parses and names the comment and brackets', () => {
  const config = JSON.parse(read(manifest.contributes.languages[0].configuration));
  assert.equal(config.comments.lineComment, '#');
  assert.deepEqual(config.brackets, [['(', ')']]);
  const autoClosing = config.autoClosingPairs.map((pair) => [pair.open, pair.close]);
  assert.deepEqual(autoClosing, [['(', ')'], ['"', '"']]);
  assert.deepEqual(config.surroundingPairs, [['(', ')'], ['"', '"']]);
  assert.doesNotThrow(() => new RegExp(config.wordPattern));
  assert.match('idr0002-heriche-condensation/screenA', new RegExp(`^${config.wordPattern}$`));
  assert.doesNotMatch('"Gene Symbol"', new RegExp(`^${config.wordPattern}$`));
});

test('the settings are declared with their defaults', () => {
  const properties = manifest.contributes.configuration.properties;
  assert.equal(properties['idrql.server.path'].default, 'idr');
  assert.equal(properties['idrql.server.upstream'].default, '');
  assert.match(properties['idrql.server.upstream'].markdownDescription, /idr lsp --upstream/);
  assert.deepEqual(properties['idrql.trace.server'].enum, ['off', 'messages', 'verbose']);
  assert.equal(properties['idrql.trace.server'].default, 'off');
  const commands = manifest.contributes.commands.map((command) => command.command);
  assert.deepEqual(commands, ['idrql.restartServer']);
  assert.ok(read('src/extension.js').includes("'idrql.restartServer'"));
});

test('the manifest has what vsce needs, with pinned versions', () => {
  for (const field of ['name', 'publisher', 'version', 'license', 'main']) {
    assert.ok(manifest[field], `missing ${field}`);
  }
  // The project has no public repository address yet; vsce is told so rather than given
  // an address that may not exist.
  assert.equal(manifest.repository, undefined);
  assert.ok(manifest.scripts.package.includes('--allow-missing-repository'));
  assert.equal(manifest.license, 'MIT OR Apache-2.0');
  assert.match(manifest.engines.vscode, /^\^\d+\.\d+\.\d+$/);
  assert.ok(fs.existsSync(path.join(ROOT, manifest.main)), manifest.main);
  assert.deepEqual(Object.keys(manifest.dependencies), ['vscode-languageclient']);
  for (const dev of ['@vscode/vsce', 'vscode-oniguruma', 'vscode-textmate']) {
    assert.ok(manifest.devDependencies[dev], `devDependency ${dev}`);
  }
  for (const [name, version] of Object.entries({ ...manifest.dependencies, ...manifest.devDependencies })) {
    assert.match(version, /^\d+\.\d+\.\d+$/, `${name} is not pinned`);
  }
  const lock = JSON.parse(read('package-lock.json'));
  assert.equal(lock.packages[''].name, manifest.name);
  assert.deepEqual(lock.packages[''].dependencies, manifest.dependencies);
  assert.deepEqual(lock.packages[''].devDependencies, manifest.devDependencies);
});

test('.vscodeignore keeps the tests out of the package', () => {
  const ignored = read('.vscodeignore').split('\n').map((line) => line.trim());
  assert.ok(ignored.includes('test/**'));
  const gitignore = read('.gitignore').split('\n').map((line) => line.trim());
  assert.ok(gitignore.includes('node_modules/'));
  assert.ok(gitignore.includes('*.vsix'));
});
