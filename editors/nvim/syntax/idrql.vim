" Vim syntax file
" Language:  IDR-QL, the query language of idr-graph (docs/idr-ql.md)
" Filenames: *.idrql

if exists('b:current_syntax')
  finish
endif

let s:cpo_save = &cpo
set cpo&vim

" Keywords, resources, scopes and fields are case-insensitive.
syntax case ignore

" A bare word is letters, digits, `_ - . / :` and non-ASCII characters, so that
" `idr0002-heriche-condensation/screenA` is one word and holds no keyword.
syntax iskeyword @,45-58,_,192-255

" The first word of a query: at the start of a line, or after `;`.
syntax match idrqlResource /\%(^\|;\s*\)\@<=\%(images\|screens\|plates\|wells\|projects\|datasets\)\>/
" `in KIND`: the scope clause (a bare `screen` elsewhere is a field or a value).
syntax match idrqlScope /\%(\<in\s\+\)\@<=\%(study\|screen\|plate\|project\|dataset\|well\)\>/

syntax keyword idrqlClause where show limit in
syntax keyword idrqlLogical and or not
syntax match idrqlOperator /!=\|!\~\|=\|\~/
syntax match idrqlDelimiter /[(),;]/
syntax match idrqlNumber /\<\d\+\>/

" Strings stay on one line: a line break ends an unterminated string.
syntax region idrqlString start=/"/ skip=/\\\\\|\\"/ end=/"/ end=/$/ contains=idrqlBadEscape,idrqlEscape
syntax match idrqlBadEscape /\\./ contained
syntax match idrqlEscape /\\\%(["\\nrt]\|u{\x\{1,6}}\)/ contained

syntax case match
syntax keyword idrqlTodo TODO FIXME XXX NOTE contained
syntax match idrqlComment /#.*$/ contains=idrqlTodo,@Spell

highlight default link idrqlResource Type
highlight default link idrqlScope StorageClass
highlight default link idrqlClause Keyword
highlight default link idrqlLogical Operator
highlight default link idrqlOperator Operator
highlight default link idrqlDelimiter Delimiter
highlight default link idrqlNumber Number
highlight default link idrqlString String
highlight default link idrqlEscape SpecialChar
highlight default link idrqlBadEscape Error
highlight default link idrqlComment Comment
highlight default link idrqlTodo Todo

let b:current_syntax = 'idrql'

let &cpo = s:cpo_save
unlet s:cpo_save
