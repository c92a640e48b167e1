-- Headless test of the IDR-QL Neovim plugin against `idr lsp`: diagnostics, completion
-- and formatting. Run it with test/run.sh, or:
--
--   IDR_BIN=/path/to/idr nvim --headless -u NONE -i NONE \
--     --cmd 'set rtp+=/path/to/editors/nvim' -c 'luafile /path/to/editors/nvim/test/lsp_test.lua'
--
-- Prints `ok: diagnostics, completion, formatting` and exits 0, or prints the failure to
-- stderr and exits 1. Every wait is bounded, so the whole test ends within BUDGET_MS.

local BUDGET_MS = 25000
local started = vim.loop.hrtime()

local function remaining(cap)
  local left = BUDGET_MS - (vim.loop.hrtime() - started) / 1e6
  return math.max(1, math.floor(math.min(cap, left)))
end

local tmp
local client_id

local function cleanup()
  if client_id then
    pcall(vim.lsp.stop_client, client_id, true)
  end
  if tmp then
    pcall(vim.fn.delete, tmp, 'rf')
  end
end

-- A failed check: raised as a table so that it is told apart from a bug in the test.
local function fail(message)
  error({ failure = message }, 0)
end

local function check(condition, message)
  if not condition then
    fail(message)
  end
end

local function buffer_text(bufnr)
  return table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), '\n')
end

local function main()
  local idr = os.getenv('IDR_BIN')
  check(idr and idr ~= '', 'IDR_BIN is not set (the idr binary to test)')

  -- `-u NONE` skips filetype detection and syntax; turn them on as a user's config would.
  vim.cmd('filetype plugin on')
  vim.cmd('syntax on')

  local exited
  local idrql = require('idrql')
  idrql.setup({
    cmd = { idr, 'lsp' },
    on_exit = function(code, signal)
      exited = { code = code, signal = signal }
    end,
  })

  -- A file in a git work tree: the client's root is the directory that has `.git`.
  tmp = vim.fn.tempname()
  local repo = tmp .. '/repo'
  vim.fn.mkdir(repo .. '/.git', 'p')
  vim.fn.mkdir(repo .. '/sub', 'p')
  local file = repo .. '/sub/x.idrql'
  vim.fn.writefile({ 'imagse where name = x' }, file)
  check(idrql.root_dir(tmp .. '/elsewhere/y.idrql') == tmp .. '/elsewhere',
    'root_dir without .git should be the file\'s directory')

  vim.cmd('edit ' .. vim.fn.fnameescape(file))
  local bufnr = vim.api.nvim_get_current_buf()
  check(vim.bo[bufnr].filetype == 'idrql',
    'filetype of x.idrql is "' .. vim.bo[bufnr].filetype .. '", expected "idrql"')
  check(vim.bo[bufnr].commentstring == '# %s',
    'commentstring is "' .. vim.bo[bufnr].commentstring .. '", expected "# %s"')
  check(vim.b[bufnr].current_syntax == 'idrql', 'syntax/idrql.vim was not loaded')

  -- The FileType autocommand started the client; start() again returns the same one.
  client_id = idrql.start(bufnr)
  check(client_id ~= nil, 'the language server did not start: `' .. idr .. ' lsp`')

  -- 1. Diagnostics (published on didOpen).
  local diagnostics = {}
  vim.wait(remaining(15000), function()
    diagnostics = vim.diagnostic.get(bufnr)
    return #diagnostics > 0 or exited ~= nil or vim.lsp.get_client_by_id(client_id) == nil
  end, 20)
  if #diagnostics == 0 then
    if exited then
      fail(string.format(
        'the language server `%s lsp` exited (code %s, signal %s) before publishing diagnostics',
        idr, tostring(exited.code), tostring(exited.signal)))
    elseif vim.lsp.get_client_by_id(client_id) == nil then
      fail('the language client stopped before publishing diagnostics')
    end
    fail('no diagnostics for "imagse where name = x" within the timeout')
  end
  local messages = {}
  local mentions = false
  for _, d in ipairs(diagnostics) do
    table.insert(messages, d.message)
    if d.message:find('images', 1, true) then
      mentions = true
    end
  end
  check(mentions, 'no diagnostic mentions `images`: ' .. table.concat(messages, ' | '))

  local client = vim.lsp.get_client_by_id(client_id)
  check(client and client.config.root_dir == repo,
    'client root_dir is ' .. tostring(client and client.config.root_dir) .. ', expected ' .. repo)

  -- 2. Completion inside `images where "Gene ` (didChange is flushed before the request).
  local line = 'images where "Gene '
  vim.api.nvim_buf_set_lines(bufnr, 0, -1, false, { line })
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    position = { line = 0, character = #line }, -- ASCII: bytes = UTF-16 units
  }
  local responses, err =
    vim.lsp.buf_request_sync(bufnr, 'textDocument/completion', params, remaining(10000))
  check(responses, 'completion request failed: ' .. tostring(err))
  local labels = {}
  local found = false
  for _, response in pairs(responses) do
    check(not response.err, 'completion error: ' .. vim.inspect(response.err))
    local result = response.result or {}
    for _, item in ipairs(result.items or result) do
      table.insert(labels, item.label)
      local texts = { item.label, item.insertText, item.textEdit and item.textEdit.newText }
      for _, text in pairs(texts) do
        if type(text) == 'string' and text:find('Gene Symbol', 1, true) then
          found = true
        end
      end
    end
  end
  check(found, 'completion after `' .. line .. '` has no `Gene Symbol`; got: '
    .. table.concat(vim.list_slice(labels, 1, 20), ', '))

  -- 3. Formatting: the layout of `idr fmt`.
  local messy = 'images   where  name=x'
  local formatted = 'images where name = x'
  vim.api.nvim_buf_set_lines(bufnr, 0, -1, false, { messy })
  if vim.lsp.buf.format then
    vim.lsp.buf.format({ bufnr = bufnr, timeout_ms = remaining(10000) })
  else
    vim.lsp.buf.formatting_sync(nil, remaining(10000)) -- Neovim 0.7
  end
  local text = buffer_text(bufnr)
  check(text == formatted, string.format('formatting gave %q, expected %q', text, formatted))
end

local ok, err = xpcall(main, function(e)
  if type(e) == 'table' and e.failure then
    return e.failure
  end
  return 'error in the test: ' .. debug.traceback(tostring(e), 2)
end)
cleanup()
if ok then
  io.stdout:write('ok: diagnostics, completion, formatting\n')
  vim.cmd('qall!')
else
  io.stderr:write('FAIL: ' .. tostring(err) .. '\n')
  vim.cmd('cquit 1')
end
