-- IDR-QL for Neovim: starts the `idr lsp` language server for `idrql` buffers.
--
--   require('idrql').setup({ cmd = { 'idr', 'lsp' }, upstream = nil })
--
-- Works on Neovim 0.7 (vim.lsp.start_client + buf_attach_client) and uses vim.lsp.start
-- on 0.8 and later.

local M = {}

local defaults = {
  -- The command that starts the language server.
  cmd = { 'idr', 'lsp' },
  -- When set, `--upstream URL` is appended to `cmd`. Needs an `idr` that supports
  -- `idr lsp --upstream`.
  upstream = nil,
  -- Passed on to the LSP client.
  on_attach = nil,
  on_exit = nil,
  capabilities = nil,
}

M.config = vim.deepcopy(defaults)

-- Neovim 0.7 only: the client started for each root directory and command.
local clients = {}
-- Commands already reported as not executable, so that the error shows once.
local reported = {}

--- The command line of the server: `cmd`, then `--upstream URL` when `upstream` is set.
function M.server_cmd(config)
  config = config or M.config
  local cmd = vim.deepcopy(config.cmd)
  if type(config.upstream) == 'string' and config.upstream ~= '' then
    table.insert(cmd, '--upstream')
    table.insert(cmd, config.upstream)
  end
  return cmd
end

--- The nearest directory at or above `path`'s directory that has a `.git` (a directory,
--- or a file in a worktree), or else `path`'s own directory. An empty `path` means the
--- current directory.
function M.root_dir(path)
  local dir
  if path == nil or path == '' then
    dir = vim.loop.cwd()
  else
    dir = vim.fn.fnamemodify(path, ':p:h')
  end
  local current = dir
  while true do
    if vim.loop.fs_stat(current .. '/.git') then
      return current
    end
    local parent = vim.fn.fnamemodify(current, ':h')
    if parent == current then
      return dir
    end
    current = parent
  end
end

local function on_attach(client, bufnr)
  -- 0.8 and later set omnifunc themselves; 0.7 does not.
  if vim.bo[bufnr].omnifunc == '' then
    vim.bo[bufnr].omnifunc = 'v:lua.vim.lsp.omnifunc'
  end
  if M.config.on_attach then
    M.config.on_attach(client, bufnr)
  end
end

--- Starts the server for `bufnr` (default: the current buffer), or attaches the buffer to
--- the one already running for its root directory. Returns the client id, or nil when the
--- server cannot be started.
function M.start(bufnr)
  if bufnr == nil or bufnr == 0 then
    bufnr = vim.api.nvim_get_current_buf()
  end
  local cmd = M.server_cmd()
  if vim.fn.executable(cmd[1]) ~= 1 then
    if not reported[cmd[1]] then
      reported[cmd[1]] = true
      vim.notify(
        string.format(
          'idrql: cannot start the language server: `%s` is not an executable. '
            .. "Build idr and put it on PATH, or set cmd in require('idrql').setup().",
          cmd[1]
        ),
        vim.log.levels.ERROR
      )
    end
    return nil
  end

  local root = M.root_dir(vim.api.nvim_buf_get_name(bufnr))
  local key = root .. '\0' .. table.concat(cmd, '\0')
  local config = {
    name = 'idrql',
    cmd = cmd,
    root_dir = root,
    capabilities = M.config.capabilities,
    on_attach = on_attach,
    on_exit = function(code, signal, client_id)
      if clients[key] == client_id then
        clients[key] = nil
      end
      if M.config.on_exit then
        M.config.on_exit(code, signal, client_id)
      end
    end,
  }

  if vim.lsp.start then
    -- Neovim 0.8+: reuses a client with the same name, root and command.
    return vim.lsp.start(config, {
      bufnr = bufnr,
      reuse_client = function(client, conf)
        return client.name == conf.name
          and client.config.root_dir == conf.root_dir
          and vim.deep_equal(client.config.cmd, conf.cmd)
      end,
    })
  end

  -- Neovim 0.7: start_client, then attach the buffer.
  local id = clients[key]
  local client = id and vim.lsp.get_client_by_id(id)
  if not client or client.is_stopped() then
    id = vim.lsp.start_client(config)
    if not id then
      return nil
    end
    clients[key] = id
  end
  vim.lsp.buf_attach_client(bufnr, id)
  return id
end

local function on_filetype(bufnr)
  vim.bo[bufnr].commentstring = '# %s'
  -- Only buffers that hold a file (or will): not help, terminal or scratch buffers.
  local buftype = vim.bo[bufnr].buftype
  if buftype == '' or buftype == 'acwrite' then
    M.start(bufnr)
  end
end

--- Formats the current buffer through the server (the layout of `idr fmt`).
function M.format(opts)
  opts = opts or {}
  local timeout_ms = opts.timeout_ms or 2000
  if vim.lsp.buf.format then
    vim.lsp.buf.format({ timeout_ms = timeout_ms, name = 'idrql' })
  else
    vim.lsp.buf.formatting_sync(nil, timeout_ms)
  end
end

--- Sets the options and starts the server for every `idrql` buffer, now and later.
function M.setup(opts)
  opts = opts or {}
  vim.validate({
    cmd = { opts.cmd, 'table', true },
    upstream = { opts.upstream, 'string', true },
    on_attach = { opts.on_attach, 'function', true },
    on_exit = { opts.on_exit, 'function', true },
    capabilities = { opts.capabilities, 'table', true },
  })
  if opts.cmd ~= nil and (type(opts.cmd[1]) ~= 'string' or opts.cmd[1] == '') then
    error("idrql: cmd must be a list such as { 'idr', 'lsp' }")
  end
  M.config = vim.tbl_extend('force', vim.deepcopy(defaults), opts)
  reported = {}

  local group = vim.api.nvim_create_augroup('idrql', { clear = true })
  vim.api.nvim_create_autocmd('FileType', {
    group = group,
    pattern = 'idrql',
    callback = function(args)
      on_filetype(args.buf)
    end,
  })
  -- Buffers opened before setup (for example when a plugin manager loads this on `ft`).
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) and vim.bo[bufnr].filetype == 'idrql' then
      on_filetype(bufnr)
    end
  end
end

return M
