'use strict';

// The IDR-QL extension: a language client for `idr lsp` (diagnostics, completion, hover,
// formatting). Syntax highlighting comes from syntaxes/idrql.tmLanguage.json alone and
// works without the server.

const vscode = require('vscode');
const { LanguageClient, RevealOutputChannelOn } = require('vscode-languageclient/node');
const { serverCommand, findExecutable } = require('./server-command');

const CLIENT_ID = 'idrql'; // also the prefix of the `idrql.trace.server` setting
const CLIENT_NAME = 'IDR-QL Language Server';

/** @type {LanguageClient | undefined} */
let client;
/** @type {vscode.OutputChannel | undefined} */
let outputChannel;

/** @param {vscode.ExtensionContext} context */
async function activate(context) {
  outputChannel = vscode.window.createOutputChannel(CLIENT_NAME);
  context.subscriptions.push(outputChannel);

  context.subscriptions.push(
    vscode.commands.registerCommand('idrql.restartServer', () => restart()),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('idrql.server')) {
        restart();
      }
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => restart()),
  );

  await start();
}

async function deactivate() {
  await stop();
}

function settings() {
  const config = vscode.workspace.getConfiguration('idrql.server');
  let path = config.get('path', 'idr');
  if (!vscode.workspace.isTrusted) {
    // `idrql.server.path` is a restricted setting: in an untrusted workspace, only the
    // user's own value (or the default) may name the binary to run.
    const inspected = config.inspect('path');
    path = (inspected && (inspected.globalValue || inspected.defaultValue)) || 'idr';
  }
  let upstream = config.get('upstream', '');
  if (!vscode.workspace.isTrusted) {
    // Restricted too: an untrusted workspace must not send what the user types (the keys
    // completed) to a host of its choosing.
    const inspected = config.inspect('upstream');
    upstream = (inspected && (inspected.globalValue || inspected.defaultValue)) || '';
  }
  return { path, upstream };
}

async function start() {
  const current = settings();
  const { command, args } = serverCommand(current);

  if (findExecutable(command) === undefined) {
    showStartError(
      `IDR-QL: cannot find the language server binary "${command}". ` +
        'Install idr (for example `cargo install --path crates/idr-server` in idr-graph) ' +
        'or set "idrql.server.path" to the idr binary.',
    );
    return;
  }

  // No `transport` on purpose: with `TransportKind.stdio` the client would append
  // `--stdio` to the arguments, which `idr lsp` does not accept. Without one it still
  // speaks over the process's stdin and stdout.
  const serverOptions = { command, args };
  const clientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'idrql' },
      { scheme: 'untitled', language: 'idrql' },
    ],
    outputChannel,
    revealOutputChannelOn: RevealOutputChannelOn.Never,
  };

  const created = new LanguageClient(CLIENT_ID, CLIENT_NAME, serverOptions, clientOptions);
  client = created;
  try {
    await created.start();
  } catch (error) {
    if (client === created) {
      client = undefined;
    }
    const upstreamHint = current.upstream.trim()
      ? ' "idrql.server.upstream" is set: it needs idr 0.2.0 or newer (`idr lsp --upstream`); clear it to use the bundled catalog.'
      : '';
    showStartError(
      `IDR-QL: the language server \`${[command, ...args].join(' ')}\` could not be started: ` +
        `${describe(error)}.${upstreamHint}`,
    );
    try {
      await created.dispose();
    } catch {
      // Already stopped.
    }
  }
}

async function stop() {
  const running = client;
  client = undefined;
  if (running !== undefined) {
    try {
      await running.stop();
    } catch {
      // The server may have exited already.
    }
  }
}

let restarting = Promise.resolve();

function restart() {
  restarting = restarting.then(async () => {
    await stop();
    await start();
  });
  return restarting;
}

function describe(error) {
  if (error instanceof Error) {
    return error.message;
  }
  return String(error).replace(/\.$/, '');
}

function showStartError(message) {
  if (outputChannel !== undefined) {
    outputChannel.appendLine(message);
  }
  vscode.window.showErrorMessage(message, 'Open Settings', 'Show Output').then((choice) => {
    if (choice === 'Open Settings') {
      vscode.commands.executeCommand('workbench.action.openSettings', 'idrql.server');
    } else if (choice === 'Show Output' && outputChannel !== undefined) {
      outputChannel.show(true);
    }
  });
}

module.exports = { activate, deactivate };
