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

" The first word of a query: at the start of a line, or after `;`. A resource is plural
" (`images in plate 4554`) or singular (`image 122770`, a lookup by id); the ids after it
" are numbers (idrqlNumber). `studies` has no singular: studies are named, not numbered,
" and `study` is only the scope kind of `in study "name"`.
syntax match idrqlResource /\%(^\|;\s*\)\@<=\%(images\=\|screens\=\|plates\=\|wells\=\|projects\=\|datasets\=\|studies\)\>/
" `keys` and `values` head a catalog query (`keys in screens`, `values "Gene Symbol"`).
" They are keywords only as the first word of a query; anywhere else (`images where
" keys = values`) they are ordinary words.
syntax match idrqlCatalog /\%(^\|;\s*\)\@<=\%(keys\|values\)\>/
" `in KIND`: the scope clause (a bare `screen` elsewhere is a field or a value).
syntax match idrqlScope /\%(\<in\s\+\)\@<=\%(study\|screen\|plate\|project\|dataset\|well\)\>/
" `in RESOURCE` of a catalog query (`keys in screens`, `values Organism in plate`): a
" resource, plural or singular, not a scope kind (`studies`, like `datasets`, has no
" catalog; the language server says so). Defined after idrqlScope, so that it wins
" where both match (`keys in screen`). A match sees one line, so this needs `keys` or
" `values KEY`, `in` and the resource on one line; split over lines, the resource is not
" highlighted (and a singular one reads as a scope kind).
syntax match idrqlCatalogResource /\%(\%(^\|;\s*\)\%(keys\|values\%(\s\+\%("\%([^"\\]\|\\.\)*"\|[^ \t";]\+\)\)\=\)\s\+in\s\+\)\@<=\%(images\=\|screens\=\|plates\=\|wells\=\|projects\=\|datasets\=\|studies\)\>/

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
highlight default link idrqlCatalog Keyword
highlight default link idrqlScope StorageClass
highlight default link idrqlCatalogResource Type
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
