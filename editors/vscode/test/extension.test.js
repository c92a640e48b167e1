'use strict';

// src/extension.js with stand-ins for the `vscode` module and the language client, so
// that the wiring (command, arguments, document selector, error messages) is checked
// without VS Code.

const test = require('node:test');
const assert = require('node:assert/strict');
const Module = require('node:module');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const EXTENSION = require.resolve('../src/extension');

/** Loads a fresh src/extension.js against fakes; returns the fakes' records. */
function loadExtension({ settings = {}, startError, trusted = true } = {}) {
  const record = { clients: [], errors: [], commands: [], lines: [] };
  const values = { path: 'idr', upstream: '', ...settings };
  const vscode = {
    window: {
      createOutputChannel: () => ({
        appendLine: (line) => record.lines.push(line),
        append: () => {},
        show: () => {},
        dispose: () => {},
      }),
      showErrorMessage: (message, ...actions) => {
        record.errors.push({ message, actions });
        return Promise.resolve(undefined);
      },
    },
    commands: {
      registerCommand: (name) => {
        record.commands.push(name);
        return { dispose() {} };
      },
      executeCommand: () => Promise.resolve(),
    },
    workspace: {
      isTrusted: trusted,
      getConfiguration: (section) => {
        assert.equal(section, 'idrql.server');
        return {
          get: (key, fallback) => (values[key] === undefined ? fallback : values[key]),
          inspect: (key) => ({
            defaultValue: key === 'path' ? 'idr' : '',
            globalValue: key === 'path' ? settings.globalPath : settings.globalUpstream,
          }),
        };
      },
      onDidChangeConfiguration: () => ({ dispose() {} }),
      onDidGrantWorkspaceTrust: () => ({ dispose() {} }),
    },
  };
  class LanguageClient {
    constructor(id, name, serverOptions, clientOptions) {
      Object.assign(this, { id, name, serverOptions, clientOptions, stopped: false });
      record.clients.push(this);
    }
    start() {
      return startError ? Promise.reject(startError) : Promise.resolve();
    }
    stop() {
      this.stopped = true;
      return Promise.resolve();
    }
    dispose() {
      return Promise.resolve();
    }
  }
  const client = { LanguageClient, RevealOutputChannelOn: { Never: 4 } };

  const originalLoad = Module._load;
  Module._load = function load(request, parent, isMain) {
    if (request === 'vscode') return vscode;
    if (request === 'vscode-languageclient/node') return client;
    return originalLoad.call(this, request, parent, isMain);
  };
  try {
    delete require.cache[EXTENSION];
    const extension = require(EXTENSION);
    return { extension, record };
  } finally {
    Module._load = originalLoad;
  }
}

function fakeBinary(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idrql-ext-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, process.platform === 'win32' ? 'idr.cmd' : 'idr');
  fs.writeFileSync(file, '');
  fs.chmodSync(file, 0o755);
  return file;
}

const context = () => ({ subscriptions: [] });

test('starts `idr lsp` over stdio for idrql documents', async (t) => {
  const binary = fakeBinary(t);
  const { extension, record } = loadExtension({ settings: { path: binary } });
  const ctx = context();
  await extension.activate(ctx);
  assert.equal(record.errors.length, 0, JSON.stringify(record.errors));
  assert.equal(record.clients.length, 1);
  const [client] = record.clients;
  assert.equal(client.id, 'idrql', 'the id makes `idrql.trace.server` the trace setting');
  // No `transport`: with TransportKind.stdio the client would append `--stdio`.
  assert.deepEqual(client.serverOptions, { command: binary, args: ['lsp'] });
  assert.deepEqual(
    client.clientOptions.documentSelector.map((selector) => selector.language),
    ['idrql', 'idrql'],
  );
  assert.deepEqual(record.commands, ['idrql.restartServer']);
  assert.ok(ctx.subscriptions.length >= 3);
  await extension.deactivate();
  assert.equal(client.stopped, true);
});

test('passes --upstream when the setting is set', async (t) => {
  const binary = fakeBinary(t);
  const { extension, record } = loadExtension({ settings: { path: binary, upstream: 'https://idr.example.org' } });
  await extension.activate(context());
  assert.deepEqual(record.clients[0].serverOptions.args, ['lsp', '--upstream', 'https://idr.example.org']);
  await extension.deactivate();
});

test('a missing binary gives a clear error and starts no client', async () => {
  const { extension, record } = loadExtension({ settings: { path: '/nonexistent/idr' } });
  await extension.activate(context());
  assert.equal(record.clients.length, 0);
  assert.equal(record.errors.length, 1);
  assert.match(record.errors[0].message, /cannot find the language server binary "\/nonexistent\/idr"/);
  assert.match(record.errors[0].message, /idrql\.server\.path/);
  assert.deepEqual(record.errors[0].actions, ['Open Settings', 'Show Output']);
});

test('a server that fails to start gives a clear error, naming --upstream when set', async (t) => {
  const binary = fakeBinary(t);
  const { extension, record } = loadExtension({
    settings: { path: binary, upstream: 'https://idr.example.org' },
    startError: new Error('Connection to server got closed'),
  });
  await extension.activate(context());
  assert.equal(record.errors.length, 1);
  const { message } = record.errors[0];
  assert.match(message, /could not be started: Connection to server got closed/);
  assert.match(message, /lsp --upstream https:\/\/idr\.example\.org/);
  assert.match(message, /needs idr 0\.2\.0 or newer \(`idr lsp --upstream`\)/);
  await extension.deactivate();
});

test('an untrusted workspace cannot choose the binary', async (t) => {
  const binary = fakeBinary(t);
  const { extension, record } = loadExtension({ settings: { path: binary }, trusted: false });
  await extension.activate(context());
  // The workspace's path is ignored; the default `idr` is looked up on PATH instead.
  for (const client of record.clients) assert.equal(client.serverOptions.command, 'idr');
  for (const error of record.errors) assert.match(error.message, /"idr"/);
  await extension.deactivate();
});

test('an untrusted workspace cannot choose the upstream', async (t) => {
  const binary = fakeBinary(t);
  const { extension, record } = loadExtension({
    settings: { path: binary, upstream: 'https://attacker.example', globalPath: binary },
    trusted: false,
  });
  await extension.activate(context());
  assert.ok(record.clients.length > 0, 'no client started');
  for (const client of record.clients) {
    assert.ok(!(client.serverOptions.args || []).includes('--upstream'), JSON.stringify(client.serverOptions));
  }
  await extension.deactivate();
});
