# ffleet — every target runs with the pinned Node 24 and tools from scripts/setup.sh.
include scripts/tools.env
FFLEET_CACHE ?= $(HOME)/.cache/ffleet
export FFLEET_CACHE
export PATH := $(FFLEET_CACHE)/node-$(NODE_VERSION)/bin:$(FFLEET_CACHE)/bin:$(PATH)
SETUP_STAMP := node_modules/.ffleet-setup

.PHONY: setup dev demo test test-unit test-e2e test-redis-cluster test-cluster test-images images cluster lint typecheck bench soak clean

$(SETUP_STAMP): scripts/setup.sh scripts/tools.env package.json pnpm-lock.yaml services/*/package.json
	scripts/setup.sh
	@touch $@

setup: ## install node 24, pnpm, ffmpeg, redis, the S3 server, jaeger, helm and dependencies
	scripts/setup.sh
	@touch $(SETUP_STAMP)

dev: $(SETUP_STAMP) ## run a local fleet (redis, S3, gateway, one worker) until Ctrl-C
	node scripts/dev.ts

demo: $(SETUP_STAMP) ## transcode a sample clip end to end on a local fleet, then stop
	node scripts/demo.ts

test: $(SETUP_STAMP) lint typecheck ## lint, typecheck, unit and end-to-end tests
	@mkdir -p .ffleet
	pnpm exec vitest run --reporter=default --reporter=json --outputFile.json=.ffleet/test-results.json; \
	  status=$$?; node scripts/test-summary.ts .ffleet/test-results.json; exit $$status

test-unit: $(SETUP_STAMP)
	pnpm exec vitest run --project unit

test-e2e: $(SETUP_STAMP)
	pnpm exec vitest run --project e2e

test-redis-cluster: $(SETUP_STAMP) ## the end-to-end suite on a local three-master Redis Cluster instead of one Redis server (docs/development.md)
	FFLEET_TEST_REDIS_CLUSTER=1 pnpm exec vitest run --project e2e

test-cluster: $(SETUP_STAMP) ## the chart on a local control plane with kwok nodes, and autoscaling with the real KEDA and Karpenter (first run builds them into the cache; docs/development.md)
	pnpm exec vitest run --config test/cluster/vitest.config.ts

test-images: $(SETUP_STAMP) ## build the gateway and CPU worker images with podman and run a job through them as the chart runs them (about 25 min on 2 cores, most of it compiling FFmpeg; docs/images.md)
	scripts/setup-images.sh
	pnpm exec vitest run --config test/images/vitest.config.ts

images: ## build and push every image for amd64 and arm64: make images REGISTRY=<registry> [TAG=...] (docs/images.md)
	scripts/images.sh

cluster: $(SETUP_STAMP) ## a local control plane with kwok nodes per pool to try the chart (Ctrl-C stops)
	node scripts/cluster/up.ts

lint: $(SETUP_STAMP)
	pnpm exec biome check .

typecheck: $(SETUP_STAMP)
	pnpm exec tsc -p tsconfig.json --noEmit

bench: $(SETUP_STAMP) ## end-to-end overhead, queue pickup latency, submit rate, tracing and quality cost
	node bench/run.ts

soak: $(SETUP_STAMP) ## 10 000 short jobs on four workers killed at random, Redis and S3 restarted: nothing lost, nothing twice, memory flat (about 1 h 40 min on a 2-core machine, 10 min with SOAK_JOBS=1000; docs/development.md)
	node scripts/soak.ts

clean:
	rm -rf .ffleet node_modules services/*/node_modules
