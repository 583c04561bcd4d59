# lvs-rs build and install. Packagers: make install PREFIX=/usr DESTDIR=$(pkgdir)
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
UNITDIR    ?= /etc/systemd/system
SYSCONFDIR ?= /etc
DOCDIR     ?= $(PREFIX)/share/doc/lvs-rs
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
GO         ?= go

.PHONY: build test install uninstall clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o bin/lvs-rs ./cmd/lvs-rs

test:
	scripts/test.sh

install: build
	install -D -m 0755 bin/lvs-rs $(DESTDIR)$(SBINDIR)/lvs-rs
	for u in scripts/systemd/*.service; do \
		sed 's|@SBINDIR@|$(SBINDIR)|g' $$u > $$u.out && \
		install -D -m 0644 $$u.out $(DESTDIR)$(UNITDIR)/$$(basename $$u) && rm -f $$u.out; \
	done
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/lvs-rs
	test -e $(DESTDIR)$(SYSCONFDIR)/lvs-rs/lvs-rs.yaml || \
		install -m 0644 pkg/config/testdata/example.yaml $(DESTDIR)$(SYSCONFDIR)/lvs-rs/lvs-rs.yaml
	install -D -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/lvs-rs $(DESTDIR)$(UNITDIR)/lvs-rs-director.service \
		$(DESTDIR)$(UNITDIR)/lvs-rs-realserver.service
	@echo "left $(SYSCONFDIR)/lvs-rs/ in place"

clean:
	rm -rf bin
