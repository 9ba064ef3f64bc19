# wino: build, run, test. `make run` and `make test` do all set-up on a fresh machine.
# CPU-specific flags live here, never in Package.swift (the library must stay usable
# as a dependency). They are chosen from what this machine's CPU supports.

SWIFT        ?= swift
FUZZ_SECONDS ?= 60
CPU_FLAGS    := $(shell if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then \
                    echo "-Xswiftc -target-cpu -Xswiftc skylake-avx512 -Xcc -march=skylake-avx512"; \
                  elif grep -qw avx2 /proc/cpuinfo 2>/dev/null; then \
                    echo "-Xswiftc -target-cpu -Xswiftc haswell -Xcc -march=haswell"; fi)
RELEASE      := -c release $(CPU_FLAGS)
IMAGE        ?= Models/fmnist/samples/ankle-boot.pgm
MODEL        ?= Models/fmnist/fmnist.swz

.PHONY: all deps build run test test-debug test-release fuzz model pruning-study bench kernel-ab clean

all: build

# System packages: zlib headers (build) and Fashion-MNIST (training tests, accuracy check
# of the shipped model); installed only when missing.
deps:
	@missing=""; for p in zlib1g-dev dataset-fashion-mnist; do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing$$missing"; \
	  (apt-get update -qq && apt-get install -y -qq $$missing) >/dev/null; fi

build: deps
	$(SWIFT) build $(RELEASE) --product wino-infer

# Classify a shipped image with the shipped model.
run: build
	$$($(SWIFT) build $(RELEASE) --show-bin-path)/wino-infer $(IMAGE) $(MODEL)

# All tests: debug and release builds (optimizer-only bugs in pointer code are real),
# then bounded fuzz runs (Tests/Fuzz/run.sh: the .swz reader, the engine on decoded models,
# the image decoder, the ONNX importer; FUZZ_SECONDS each).
test: deps test-debug test-release fuzz

test-debug:
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

test-release:
	$(SWIFT) build $(RELEASE) -Xswiftc -enable-testing --build-tests
	$(SWIFT) test $(RELEASE) -Xswiftc -enable-testing --skip-build

fuzz: deps
	bash Tests/Fuzz/run.sh $(FUZZ_SECONDS)

# Benchmarks: writes Docs/BENCHMARKS.md and Docs/bench.svg (onnxruntime, DeepSparse and oneDNN from pip as baselines).
PEERS_PYTHON = .cache/venv-peers/bin/python
bench: deps
	$(SWIFT) build $(RELEASE) --product wino-bench
	$(SWIFT) build $(RELEASE) --product wino-convert
	python3 -m pip install -q numpy onnx onnxruntime
	# The peers, DeepSparse (sparse) and oneDNN (dense), in a virtual environment of their own
	# (DeepSparse pins older onnx and numpy). Where one cannot be installed, the report says so.
	test -x $(PEERS_PYTHON) || python3 -m venv .cache/venv-peers || true
	$(PEERS_PYTHON) -m pip install -q deepsparse==1.8.0 onnxruntime || echo "DeepSparse unavailable: the report leaves it out"
	$(PEERS_PYTHON) -m pip install -q onednn-cpu-gomp==2023.2.0 || echo "oneDNN unavailable: the report leaves it out"
	$(SWIFT) build -c release --scratch-path .build-plain --product wino-bench
	python3 scripts/bench_report.py $$($(SWIFT) build $(RELEASE) --show-bin-path) --plain .build-plain/release \
	  --deepsparse $(PEERS_PYTHON) --onednn $(PEERS_PYTHON)

# Paired A/B timing of Winograd layer configurations in one process (scripts/kernel_ab.c).
# clang, as SwiftPM uses for the C target (gcc 12 builds these kernels 2.5-4x slower here).
kernel-ab:
	mkdir -p .build
	$$(command -v clang || echo cc) -O3 -std=gnu11 -I Sources/CWinoKernels/include -o .build/kernel_ab scripts/kernel_ab.c \
	  Sources/CWinoKernels/winograd.c Sources/CWinoKernels/winograd_emu512.c Sources/CWinoKernels/sync.c -lm -lpthread

# Regenerate the shipped Fashion-MNIST model (trains with numpy; see Models/README.md).
# The shipped model: dense training, then native pruning to 90% Winograd-domain sparsity (wino-train).
model: deps
	$(SWIFT) build $(RELEASE) --product wino-train
	python3 scripts/pruning_study.py $$($(SWIFT) build $(RELEASE) --show-bin-path) --densities 0.1 --no-docs
	cp .cache/pruning/native-10.swz $(MODEL)

# Docs/PRUNING.md: dense vs (a) spatial pruning, (b) one-shot Winograd pruning, (c) native pruning.
pruning-study: deps
	$(SWIFT) build $(RELEASE) --product wino-train
	python3 scripts/pruning_study.py $$($(SWIFT) build $(RELEASE) --show-bin-path)

clean:
	rm -rf .build Tests/Fuzz/.build
