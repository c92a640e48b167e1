# Shortcuts for working on idr-graph. `just` is a convenience only: the README and
# .ci/run call cargo directly, so nothing here is needed to build or test.

set positional-arguments

alias t := test
alias l := lint
alias f := fmt
alias s := serve
alias r := ready

_default:
    @just --list

# Run every test (offline; nothing touches the network).
test:
    cargo test --workspace --locked

# Clippy on every crate and target, warnings as errors.
lint:
    cargo clippy --workspace --all-targets -- -D warnings

# Format every crate.
fmt:
    cargo fmt --all

# Regenerate the checked-in SDL from the schema.
schema:
    cargo run -q -- schema > schema/idr.graphql

# Review pending insta snapshots (needs cargo-insta).
snap:
    cargo insta review

# Record live IDR responses for a GraphQL query: just record '{ image(id: 122770) { name } }'
record *args:
    cargo run -- record "$@"

# Benchmark IDR-QL parsing, checking and compiling (queries per second).
bench:
    cargo bench -p idr-ql

# Serve GraphQL on the bundled recordings at http://127.0.0.1:8080/graphql.
serve:
    cargo run --release -- serve --offline

# Before pushing: generated files fresh, formatted, lint-clean, tests green, tree clean.
ready: schema
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets --locked -- -D warnings
    cargo test --workspace --locked
    git diff --exit-code

# Refresh the vendored GraphiQL and React (pinned in the script) from the npm registry.
vendor-web:
    bash crates/idr-server/web/vendor.sh

# Retake the screenshots in docs/ (the plate viewer on a generated IDR, in headless Chromium).
screenshots:
    IDR_SCREENSHOT_DIR="$PWD/docs" cargo test -p idr-server --test e2e the_plate_viewer
