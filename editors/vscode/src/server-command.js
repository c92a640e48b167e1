'use strict';

// How `idr lsp` is started, kept free of the `vscode` module so that `npm test` can check
// it with plain node.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

/**
 * The command and arguments that start the language server.
 *
 * @param {{ path?: string, upstream?: string }} settings `idrql.server.*`
 * @returns {{ command: string, args: string[] }}
 */
function serverCommand(settings) {
  const command = expandHome((settings.path || '').trim() || 'idr');
  const args = ['lsp'];
  const upstream = (settings.upstream || '').trim();
  if (upstream !== '') {
    args.push('--upstream', upstream);
  }
  return { command, args };
}

/** `~` and `~/…` name the home directory. */
function expandHome(file) {
  if (file === '~') {
    return os.homedir();
  }
  if (file.startsWith('~/') || (process.platform === 'win32' && file.startsWith('~\\'))) {
    return path.join(os.homedir(), file.slice(2));
  }
  return file;
}

/**
 * Where `command` would be found: the file itself when it names a path, otherwise the
 * first match on `PATH` (with `PATHEXT` on Windows). `undefined` when there is none.
 *
 * @param {string} command
 * @param {NodeJS.ProcessEnv} [env]
 * @param {string} [platform]
 * @returns {string | undefined}
 */
function findExecutable(command, env = process.env, platform = process.platform) {
  const windows = platform === 'win32';
  const extensions = windows
    ? ['', ...(env.PATHEXT || '.COM;.EXE;.BAT;.CMD').split(';').filter(Boolean)]
    : [''];
  const candidates = (base) => extensions.map((ext) => base + ext);
  const hasSeparator = command.includes('/') || (windows && command.includes('\\'));
  if (hasSeparator || path.isAbsolute(command)) {
    return candidates(command).find((file) => isExecutable(file, windows));
  }
  const dirs = (env.PATH || env.Path || '').split(windows ? ';' : ':').filter(Boolean);
  for (const dir of dirs) {
    const found = candidates(path.join(dir, command)).find((file) => isExecutable(file, windows));
    if (found !== undefined) {
      return found;
    }
  }
  return undefined;
}

function isExecutable(file, windows) {
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) {
      return false;
    }
    if (!windows) {
      fs.accessSync(file, fs.constants.X_OK);
    }
    return true;
  } catch {
    return false;
  }
}

module.exports = { serverCommand, expandHome, findExecutable };
