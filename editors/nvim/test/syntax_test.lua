-- Headless test of syntax/idrql.vim: the highlight group of each token of a few queries.
-- It needs no language server. test/run.sh runs it before the LSP test, or:
--
--   nvim --headless -u NONE -i NONE --cmd 'set rtp+=/path/to/editors/nvim' \
--     -c 'luafile /path/to/editors/nvim/test/syntax_test.lua'
--
-- Prints `ok: syntax` and exits 0, or prints every wrong token to stderr and exits 1.

-- Each case is one line and the groups of its tokens, in order; '' is no group (a key, a
-- bare value or a show item, which syntax/idrql.vim leaves to the language server).
local CASES = {
  -- Resources at the start of a query, plural or singular, in any case; ids are numbers.
  { 'image 122770; Images 1884807, 1884808 show thumbnail', {
    { 'image', 'idrqlResource' }, { '122770', 'idrqlNumber' }, { ';', 'idrqlDelimiter' },
    { 'Images', 'idrqlResource' }, { '1884807', 'idrqlNumber' }, { ',', 'idrqlDelimiter' },
    { '1884808', 'idrqlNumber' }, { 'show', 'idrqlClause' }, { 'thumbnail', '' },
  } },
  { 'SCREEN 102 show files;plates 4554, 422 show rowLabels', {
    { 'SCREEN', 'idrqlResource' }, { '102', 'idrqlNumber' }, { 'show', 'idrqlClause' },
    { 'files', '' }, { ';', 'idrqlDelimiter' }, { 'plates', 'idrqlResource' },
    { '4554', 'idrqlNumber' }, { '422', 'idrqlNumber' }, { 'show', 'idrqlClause' },
    { 'rowLabels', '' },
  } },
  -- Studies: plural only. `study` at the start of a query is no resource (studies are
  -- named, not numbered); after `in` it is the scope kind.
  { 'studies where "Gene Symbol" = cdc20 show title, imageCount, publication, license, containers', {
    { 'studies', 'idrqlResource' }, { 'where', 'idrqlClause' }, { '"Gene Symbol"', 'idrqlString' },
    { '=', 'idrqlOperator' }, { 'cdc20', '' }, { 'show', 'idrqlClause' }, { 'title', '' },
    { ',', 'idrqlDelimiter' }, { 'imageCount', '' }, { ',', 'idrqlDelimiter' },
    { 'publication', '' }, { ',', 'idrqlDelimiter' }, { 'license', '' },
    { ',', 'idrqlDelimiter' }, { 'containers', '' },
  } },
  { 'study 5; STUDIES where x = y; images in study "idr0002"; keys in Studies', {
    { 'study', '' }, { '5', 'idrqlNumber' }, { ';', 'idrqlDelimiter' },
    { 'STUDIES', 'idrqlResource' }, { 'where', 'idrqlClause' }, { 'x', '' },
    { '=', 'idrqlOperator' }, { 'y', '' }, { ';', 'idrqlDelimiter' },
    { 'images', 'idrqlResource' }, { 'in', 'idrqlClause' }, { 'study', 'idrqlScope' },
    { '"idr0002"', 'idrqlString' }, { ';', 'idrqlDelimiter' }, { 'keys', 'idrqlCatalog' },
    { 'in', 'idrqlClause' }, { 'Studies', 'idrqlCatalogResource' },
  } },
  -- A singular word elsewhere is a scope kind (after `in`) or a key or value.
  { 'wells in plate 4554 where image = well', {
    { 'wells', 'idrqlResource' }, { 'in', 'idrqlClause' }, { 'plate', 'idrqlScope' },
    { '4554', 'idrqlNumber' }, { 'where', 'idrqlClause' }, { 'image', '' },
    { '=', 'idrqlOperator' }, { 'well', '' },
  } },
  -- Catalog queries: `keys`/`values` at the head, the resource after their `in`.
  { 'keys in screens limit 5; values "Gene Symbol" in Plate', {
    { 'keys', 'idrqlCatalog' }, { 'in', 'idrqlClause' }, { 'screens', 'idrqlCatalogResource' },
    { 'limit', 'idrqlClause' }, { '5', 'idrqlNumber' }, { ';', 'idrqlDelimiter' },
    { 'values', 'idrqlCatalog' }, { '"Gene Symbol"', 'idrqlString' }, { 'in', 'idrqlClause' },
    { 'Plate', 'idrqlCatalogResource' },
  } },
  { 'Values organism in screen', {
    { 'Values', 'idrqlCatalog' }, { 'organism', '' }, { 'in', 'idrqlClause' },
    { 'screen', 'idrqlCatalogResource' },
  } },
  { 'KEYS; values in wells limit 3; values keys in images', {
    { 'KEYS', 'idrqlCatalog' }, { ';', 'idrqlDelimiter' }, { 'values', 'idrqlCatalog' },
    { 'in', 'idrqlClause' }, { 'wells', 'idrqlCatalogResource' }, { 'limit', 'idrqlClause' },
    { '3', 'idrqlNumber' }, { ';', 'idrqlDelimiter' }, { 'values', 'idrqlCatalog' },
    { 'keys', '' }, { 'in', 'idrqlClause' }, { 'images', 'idrqlCatalogResource' },
  } },
  -- `keys` and `values` anywhere but the head are ordinary words.
  { 'images where keys = values show keys, values', {
    { 'images', 'idrqlResource' }, { 'where', 'idrqlClause' }, { 'keys', '' },
    { '=', 'idrqlOperator' }, { 'values', '' }, { 'show', 'idrqlClause' }, { 'keys', '' },
    { ',', 'idrqlDelimiter' }, { 'values', '' },
  } },
  { '  keys in screens', {
    { 'keys', '' }, { 'in', 'idrqlClause' }, { 'screens', '' },
  } },
  -- After a resource, `in screen` is still a scope.
  { 'plates in screen 102', {
    { 'plates', 'idrqlResource' }, { 'in', 'idrqlClause' }, { 'screen', 'idrqlScope' },
    { '102', 'idrqlNumber' },
  } },
}

local function group(line, col)
  return vim.fn.synIDattr(vim.fn.synID(line, col, 1), 'name')
end

local function main()
  vim.cmd('filetype plugin on')
  vim.cmd('syntax on')
  local lines = {}
  for _, case in ipairs(CASES) do
    table.insert(lines, case[1])
  end
  local file = vim.fn.tempname() .. '.idrql'
  vim.fn.writefile(lines, file)
  vim.cmd('edit ' .. vim.fn.fnameescape(file))
  vim.fn.delete(file)
  assert(vim.b.current_syntax == 'idrql', 'syntax/idrql.vim was not loaded')

  local problems = {}
  for l, case in ipairs(CASES) do
    local text, from = case[1], 1
    for _, token in ipairs(case[2]) do
      local word, want = token[1], token[2]
      local s, e = text:find(word, from, true)
      if not s then
        table.insert(problems, string.format('%q: no %q after column %d', text, word, from))
        break
      end
      for col = s, e do
        local got = group(l, col)
        if got ~= want then
          table.insert(problems, string.format('%q: %q is %q, expected %q', text, word, got, want))
          break
        end
      end
      from = e + 1
    end
  end
  return problems
end

local ok, result = pcall(main)
if not ok then
  io.stderr:write('FAIL: error in the test: ' .. tostring(result) .. '\n')
  vim.cmd('cquit 1')
elseif #result > 0 then
  io.stderr:write('FAIL: syntax\n  ' .. table.concat(result, '\n  ') .. '\n')
  vim.cmd('cquit 1')
else
  io.stdout:write('ok: syntax\n')
  vim.cmd('qall!')
end
