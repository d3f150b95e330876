# Ecosystem: `make run` to start the app, `make test` to run every test layer.
# Both install what is missing first (Debian/Ubuntu).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
export PATH := $(HOME)/.cargo/bin:$(PATH)
export NO_AT_BRIDGE := 1

CARGO_TARGET_DIR ?= $(CURDIR)/target
export CARGO_TARGET_DIR
APP_BIN := $(CARGO_TARGET_DIR)/debug/ecosystem-desktop
CLI_BIN := $(CARGO_TARGET_DIR)/debug/ecosystem
XVFB := xvfb-run -a -s "-screen 0 1280x800x24"
ISOLATED := scripts/isolated.sh

.PHONY: run test deps ui build lint fmt check unit ui-test e2e fuzz bindings bundle clean

## run: install what is missing, build, and open the app on the embedded database
run: deps ui
	cargo build --workspace
	$(APP_BIN)

## test: install what is missing and run every test layer
test: deps ui build lint unit ui-test e2e fuzz
	@echo "make test: every layer passed"

deps:
	scripts/install-deps.sh
	scripts/install-mlflow.sh >/dev/null

ui:
	npm run build

build: ui
	cargo build --workspace --all-targets --locked

lint: build
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	npm run check
	npm run lint

# The Rust tests run with a real Secret Service of their own (credentials live in the OS
# keyring) and start real servers (MLflow, partner-sim) on loopback.
unit: build
	scripts/with-keyring.sh cargo test --workspace --locked

ui-test:
	npm run test:ui

e2e: build
	APP_BIN=$(APP_BIN) CLI_BIN=$(CLI_BIN) $(ISOLATED) scripts/with-keyring.sh $(XVFB) node --test --test-concurrency=1 --test-force-exit tests/e2e/

## fuzz: build every fuzz target (fuzz/, cargo-fuzz) and run each for FUZZ_SECONDS; a crash
## fails with the reproducer's path (docs/FUZZING.md)
FUZZ_SECONDS ?= 20
fuzz:
	scripts/fuzz.sh $(FUZZ_SECONDS)

## bindings: regenerate ui/src/lib/bindings.ts from the Rust commands
bindings: ui
	UPDATE_BINDINGS=1 cargo test --test bindings

## bundle: release .deb and .rpm of the app, with the `ecosystem` CLI in /usr/bin (not part of
## `make test`; packages land in $(CARGO_TARGET_DIR)/release/bundle/)
CLI_RELEASE := $(CARGO_TARGET_DIR)/release/ecosystem
BUNDLE_FILES := {"/usr/bin/ecosystem":"$(CLI_RELEASE)"}
bundle: deps
	cargo build --release --locked -p ecosystem-cli
	npx tauri build --bundles deb,rpm \
	  --config '{"bundle":{"linux":{"deb":{"files":$(BUNDLE_FILES)},"rpm":{"files":$(BUNDLE_FILES)}}}}' \
	  -- --locked
	@ls -l $(CARGO_TARGET_DIR)/release/bundle/deb/*.deb $(CARGO_TARGET_DIR)/release/bundle/rpm/*.rpm

fmt:
	cargo fmt --all

clean:
	cargo clean
	rm -rf dist node_modules
