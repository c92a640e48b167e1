-- `*.idrql` files are IDR-QL (docs/idr-ql.md in idr-graph).
--
-- Neovim 0.7 sources ftdetect/*.lua from filetype.vim inside the `filetypedetect` augroup.
-- 0.8 and later detect file types with vim.filetype, which also runs these autocommands.
if vim.filetype and vim.filetype.add then
  vim.filetype.add({ extension = { idrql = 'idrql' } })
end
vim.api.nvim_create_autocmd({ 'BufRead', 'BufNewFile' }, {
  group = vim.api.nvim_create_augroup('filetypedetect', { clear = false }),
  pattern = '*.idrql',
  command = 'setfiletype idrql',
})
