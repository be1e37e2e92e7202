# imageimportd: see README.md. Every target installs what it needs (scripts/install-deps.sh).
.PHONY: all deps build test unit lint demo bench soak install clean deb image

PREFIX ?= /usr/local
UNITDIR ?= /etc/systemd/system

all: build

deps:
	bash scripts/install-deps.sh

build:
	./build.sh

# Every test: unit, harness, integration against a private containerd 1.6, and the tests that need
# containerd again against 1.7 and 2.x. One "containerd V: N passed, N failed" line each, then "N passed, N failed".
test: build
	bash scripts/test.sh

# Only the tests that need no containerd (run once, with the system's containerd line).
unit:
	TEST_CONTAINERD=1.6 bash scripts/test.sh --filter "FullyQualifiedName~.Unit.|FullyQualifiedName~.Compression.|FullyQualifiedName~.Daemon."

lint:
	dotnet format imageimportd.sln --verify-no-changes --verbosity quiet

demo: build
	bash scripts/demo.sh

# BENCH_CONTAINERD=1.6|1.7|2 chooses the containerd version (default 1.6, the system's); see bench/run.sh.
bench: build
	bash bench/run.sh

soak: build
	bash scripts/soak.sh

install: build
	install -D -m 0755 out/imageimportd $(DESTDIR)$(PREFIX)/bin/imageimportd
	install -D -m 0644 dist/imageimportd.service $(DESTDIR)$(UNITDIR)/imageimportd.service

# out/imageimportd_<version>_<arch>.deb (dpkg-deb): binary, unit, /etc/default conffile, completion.
deb: build
	bash scripts/build-deb.sh

# out/imageimportd-image.tar: an OCI image archive of the binary and its C library, built without Docker.
image: build
	bash scripts/build-image.sh

clean:
	rm -rf out */bin */obj
