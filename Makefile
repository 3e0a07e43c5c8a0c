# shmbus - see README.md. Every target works on a fresh clone with Go installed.
GO      ?= go
PKGS    := ./...
FUZZTIME ?= 30s

.PHONY: all build test test-short bench bench-docs run lint fuzz clean

all: lint test

build:
	CGO_ENABLED=0 $(GO) build -o bin/ ./cmd/...

# The CI test command: gofmt and vet, the race-detector suite (fuzz seed corpora run as
# ordinary unit tests), then the suite again without -race, as shipped.
test: lint
	$(GO) test -race -count=1 -timeout 15m $(PKGS)
	$(GO) test -count=1 -timeout 15m $(PKGS)

test-short:
	$(GO) test -short -count=1 $(PKGS)

# In-process micro-benchmarks (ratios against the channel reference in the
# same run), then the cross-process harness.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./ring/
	$(GO) run ./cmd/shmbus bench

# The full suite written into the docs: the tables between the bench markers of
# docs/benchmarks.md (the prose around them is kept), the plot docs/benchmarks.svg and
# the raw results docs/benchmarks.json. Several minutes; run it on an otherwise idle host.
bench-docs:
	$(GO) run ./cmd/shmbus bench -json -plot docs/benchmarks.svg -markdown docs/benchmarks.md > docs/benchmarks.json

# The main job: a router and two client processes over the bus, with the
# one-way and round-trip latency percentiles (about 10 s; see README.md).
run:
	$(GO) run ./cmd/shmbus demo

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzSPSCRead -fuzztime $(FUZZTIME) ./ring/
	$(GO) test -run '^$$' -fuzz FuzzMPMCRead -fuzztime $(FUZZTIME) ./ring/
	$(GO) test -run '^$$' -fuzz FuzzValidateHeader -fuzztime $(FUZZTIME) ./ipc/
	$(GO) test -run '^$$' -fuzz '^FuzzValidateTopic$$' -fuzztime $(FUZZTIME) ./router/
	$(GO) test -run '^$$' -fuzz '^FuzzSublist$$' -fuzztime $(FUZZTIME) ./router/
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime $(FUZZTIME) ./internal/wire/

clean:
	rm -rf bin/
