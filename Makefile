# Tally's commands. Each target calls the real tools (mvn, the scripts in deploy/local);
# README.md lists them all.
SHELL := /bin/bash
MVN ?= mvn
STACK := deploy/local/stack.sh

.DEFAULT_GOAL := help
.PHONY: help deps build test fmt up up-multi down status smoke demo demo-multi bench bench-quick bench-ladder faults faults-quick faults-brokers observe jmh clean clean-stack

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## /  make \1\t/' | expand -t 22

deps: ## install valkey-server (bookworm-backports), PostgreSQL, curl, openssl, Prometheus and its exporters when missing
	@bash deploy/local/install-deps.sh

build: ## compile and package every module, tests skipped (jobs/target/tally-jobs.jar)
	$(MVN) -DskipTests package

test: deps ## deps + full build + unit tests (surefire) + integration tests (failsafe)
	$(MVN) verify

fmt: ## reformat Java sources (the build fails on unformatted code)
	$(MVN) spotless:apply

up: deps build ## build, then start the local stack: Kafka, Valkey, PostgreSQL (migrated, with the job's roles), Flink JobManager + TaskManager
	@bash $(STACK) up

# The multi-node profile: three Kafka brokers (replication 3), a three-master Valkey cluster, two
# TaskManagers (docs/local-stack.md). A stack keeps its profile until it is reset (make clean-stack).
MULTI := TALLY_KAFKA_BROKERS=3 TALLY_VALKEY_NODES=3 TALLY_FLINK_TASKMANAGERS=2 TALLY_FLINK_SLOTS=2

up-multi: deps build ## the local stack's multi-node profile: 3 Kafka brokers, a 3-master Valkey cluster, 2 TaskManagers
	@$(MULTI) bash $(STACK) up

down: ## stop exactly what `make up` started
	@bash $(STACK) down

status: ## show what the local stack runs, with pids and addresses
	@bash $(STACK) status || true

smoke: deps build ## stack up, submit a job over Flink's REST API, wait for it, stack down
	@bash deploy/local/smoke.sh

demo: deps build ## reset and start the stack, produce 500k events, run the projection job over REST, print the views, check them with tally verify
	@bash deploy/local/demo.sh

demo-multi: deps build ## the demo on the multi-node profile (make up-multi's), checked by tally verify
	@$(MULTI) bash deploy/local/demo.sh

bench: deps build ## benchmark on a reset local stack (5M events, ~12 min): bench/results/, BENCHMARKS.md
	@bash deploy/local/bench.sh full

bench-quick: deps build ## the same benchmark with 300k events and 15 s per rate (~3 min)
	@bash deploy/local/bench.sh quick

bench-ladder: deps build ## the job cut after each stage (floor, shuffle, dedup, fold, full) on 2M events: BENCHMARKS.md
	@bash deploy/local/bench.sh ladder

faults: deps build ## faults on the real stack (TaskManager kill x3, Valkey restarts, PostgreSQL down 30 s, broker restart), each checked by tally verify
	@bash deploy/local/faults.sh full

faults-quick: deps build ## one TaskManager kill -9 during a catch-up, checked by tally verify (CI runs it)
	@bash deploy/local/faults.sh quick

faults-brokers: deps build ## a 3-broker Kafka cluster, one broker kill -9 during a catch-up while events stream in, checked by tally verify
	@bash deploy/local/faults.sh brokers

observe: deps build ## the dashboard's queries and the alert rules run against the stack's Prometheus while the projection job runs: each must return series (CI runs it)
	@bash deploy/local/observe.sh

jmh: build ## JMH microbenchmarks of the hot paths (decode, dedup on RocksDB, Valkey write path)
	@bash deploy/local/jmh.sh

clean: ## remove build output
	$(MVN) -q clean

clean-stack: down ## stop the stack and delete its state (.local/)
	rm -rf .local
