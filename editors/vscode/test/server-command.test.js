'use strict';

// How the extension starts `idr lsp` (src/server-command.js has no `vscode` import).

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { serverCommand, expandHome, findExecutable } = require('../src/server-command');

test('the default command is `idr lsp`', () => {
  assert.deepEqual(serverCommand({}), { command: 'idr', args: ['lsp'] });
  assert.deepEqual(serverCommand({ path: '  ', upstream: '  ' }), { command: 'idr', args: ['lsp'] });
  assert.deepEqual(serverCommand({ path: 'idr', upstream: '' }), { command: 'idr', args: ['lsp'] });
});

test('an upstream is passed after `lsp`', () => {
  assert.deepEqual(serverCommand({ path: '/opt/idr/bin/idr', upstream: ' https://idr.openmicroscopy.org ' }), {
    command: '/opt/idr/bin/idr',
    args: ['lsp', '--upstream', 'https://idr.openmicroscopy.org'],
  });
});

test('~ is the home directory', () => {
  assert.equal(expandHome('~'), os.homedir());
  assert.equal(expandHome('~/bin/idr'), path.join(os.homedir(), 'bin/idr'));
  assert.equal(expandHome('/usr/bin/idr'), '/usr/bin/idr');
  assert.equal(serverCommand({ path: '~/bin/idr' }).command, path.join(os.homedir(), 'bin/idr'));
});

test('findExecutable looks on PATH and at paths', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idrql-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const windows = process.platform === 'win32';
  const name = windows ? 'idr-test.cmd' : 'idr-test';
  const file = path.join(dir, name);
  fs.writeFileSync(file, windows ? '@echo off\r\n' : '#!/bin/sh\n');
  fs.chmodSync(file, 0o755);

  const env = { PATH: dir, PATHEXT: '.CMD;.EXE' };
  assert.equal(findExecutable(windows ? 'idr-test' : name, env), file);
  assert.equal(findExecutable(file, env), file);
  assert.equal(findExecutable('idr-test-missing', env), undefined);
  assert.equal(findExecutable(path.join(dir, 'missing'), env), undefined);
  assert.equal(findExecutable(dir, env), undefined, 'a directory is not a binary');
  assert.equal(findExecutable(process.execPath, {}), process.execPath);
  if (!windows) {
    const plain = path.join(dir, 'not-executable');
    fs.writeFileSync(plain, '');
    fs.chmodSync(plain, 0o644);
    assert.equal(findExecutable(plain, env), undefined, 'a file without the x bit');
  }
});
