#!/bin/sh
# The project's test command, run from anywhere as root on Debian 12 with the packages
# .ci/run installs: builds the busybox fixtures and den, then runs every test.
# The e2e tests make their own network namespaces and never touch the root namespace.
set -eu

cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
mkdir -p "$target"

# The tests would build the fixtures too; doing it first, under the same lock the tests
# take, makes a build failure show up as itself rather than as failing tests.
flock "$target/fixtures.lock" rootfs-fixtures/build.sh "$target/fixtures"
cargo build -p den-cli
cargo test --workspace "$@"
