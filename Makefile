# Watchfloor. `make run` starts the demo; `make test` runs every test.
GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
export PATH := $(PATH):/usr/local/go/bin:$(HOME)/go/bin

.PHONY: run build test lint bench fuzz clean

## run: build and start the gateway in demo mode on 127.0.0.1:7039
run: build
	./bin/gateway --demo

## build: build the gateway and netprobe binaries into bin/
build:
	$(GO) build -o bin/ ./cmd/gateway ./cmd/netprobe

## test: lint, then every test with the race detector (browser tests included)
test: lint
	$(GO) test -race -count=1 -timeout 8m ./...

## lint: gofmt, go vet and staticcheck must be clean
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

## bench: the Go micro-benchmarks (load runs are documented in docs/benchmarks.md)
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## fuzz: run each fuzz target briefly (FUZZTIME per target)
FUZZTIME ?= 30s
fuzz:
	@set -e; for t in netprobe/protocol:FuzzBatchDecode netprobe/protocol:FuzzConfigDecode \
		netprobe/protocol:FuzzHelloDecode netprobe/protocol:FuzzValue samplers:FuzzPathRoundTrip \
		samplers:FuzzParseCellPath gateway/config:FuzzParse gateway/config:FuzzParseRule gateway/config:FuzzParseRuleTests \
		gateway:FuzzApply gateway:FuzzRulesBody gateway:FuzzHistoryQuery gateway:FuzzIncidentBodies gateway/access:FuzzHostname \
		gateway/history/chunk:FuzzRoundTrip gateway/history/chunk:FuzzDecode \
		gateway/auth:FuzzLoginBody gateway/auth:FuzzSessionCookie gateway/store:FuzzParseID \
		rules:FuzzParsePattern rules:FuzzCompile rules:FuzzJudge; do \
		echo "== $$t"; $(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./$${t%%:*}; \
	done

clean:
	rm -rf bin
