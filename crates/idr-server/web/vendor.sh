#!/usr/bin/env bash
# Refreshes the vendored GraphiQL and its peers in web/vendor/ from the npm registry, at
# the pinned versions below, and records their versions, licences and integrity hashes
# in web/vendor/VENDORED.md. `npm pack` checks each tarball against the registry's
# integrity hash. Run from anywhere: `just vendor-web`, or
# `bash crates/idr-server/web/vendor.sh`. Review the diff; commit only what it changed.
#
# Why these versions: graphiql 4 is the last major with a UMD build, loadable by plain
# <script> tags with nothing fetched from elsewhere (graphiql 5 is ES modules with Monaco
# and its workers, meant for a bundler), and React 18 is the last with UMD builds.
set -euo pipefail

GRAPHIQL=4.1.2
REACT=18.3.1

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$work"
# package@version  file-in-package  vendored-name
files=(
  "react@$REACT package/umd/react.production.min.js react.production.min.js"
  "react-dom@$REACT package/umd/react-dom.production.min.js react-dom.production.min.js"
  "graphiql@$GRAPHIQL package/graphiql.min.js graphiql.min.js"
  "graphiql@$GRAPHIQL package/graphiql.min.css graphiql.min.css"
)

rm -rf "$out"
mkdir -p "$out/licenses"
{
  echo "# Vendored front-end files"
  echo
  echo "Written by \`web/vendor.sh\`; do not edit by hand. Each file is a production build"
  echo "taken unchanged from the npm registry's tarball (only a trailing"
  echo "\`sourceMappingURL\` comment is removed, since the maps are not served)."
  echo
  echo "| file | package | licence | tarball integrity (npm) | sha256 of the file |"
  echo "| --- | --- | --- | --- | --- |"
} >"$out/VENDORED.md"

declare -A packed
for line in "${files[@]}"; do
  read -r spec inner name <<<"$line"
  if [[ -z "${packed[$spec]:-}" ]]; then
    npm pack --silent --json "$spec" >"$spec.json"
    tarball="$(node -e 'console.log(require(process.argv[1])[0].filename)' "$work/$spec.json")"
    mkdir -p "x/$spec"
    tar xzf "$tarball" -C "x/$spec"
    packed[$spec]=1
    cp "x/$spec/package/LICENSE" "$out/licenses/${spec%@*}.LICENSE"
  fi
  sed '/^\/[\/*][#@] sourceMappingURL=/d' "x/$spec/$inner" >"$out/$name"
  licence="$(node -e 'console.log(require(process.argv[1]).license)' "$work/x/$spec/package/package.json")"
  integrity="$(node -e 'console.log(require(process.argv[1])[0].integrity)' "$work/$spec.json")"
  sha="$(sha256sum "$out/$name" | cut -d' ' -f1)"
  echo "| \`$name\` | \`$spec\` | $licence | \`$integrity\` | \`$sha\` |" >>"$out/VENDORED.md"
done

{
  echo
  echo "\`graphiql.min.js\` bundles graphiql's own dependencies. Their licences, as the"
  echo "registry gives them for the versions graphiql@$GRAPHIQL names:"
  echo
} >>"$out/VENDORED.md"
node -e '
  const deps = require(process.argv[1]).dependencies || {};
  for (const [name, range] of Object.entries(deps)) console.log(name + "@" + range);
' "$work/x/graphiql@$GRAPHIQL/package/package.json" | while read -r dep; do
  licence="$(npm view --silent "$dep" license | tail -n1 | sed "s/.* '//; s/'$//")"
  echo "- \`$dep\`: $licence" >>"$out/VENDORED.md"
done
echo "vendored into $out:"
ls -l "$out"
