# lvs-rs build and install. Packagers: make install PREFIX=/usr DESTDIR=$(pkgdir)
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
UNITDIR    ?= /etc/systemd/system
SYSCONFDIR ?= /etc
DOCDIR     ?= $(PREFIX)/share/doc/lvs-rs
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
GO         ?= go
# The Debian package: make deb writes dist/lvs-rs_$(DEB_VERSION)_amd64.deb.
# Without a tag the version is 0.0~gitDATE.HASH (native, sorts by date).
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || date +%s)
DEB_VERSION ?= $(shell v=$$(git describe --tags --match 'v[0-9]*' 2>/dev/null) && echo $${v\#v} | tr - '~' || \
	echo 0.0~git$$(date -u -d @$(SOURCE_DATE_EPOCH) +%Y%m%d%H%M%S).$$(git rev-parse --short HEAD 2>/dev/null || echo 0))
DEB_MAINTAINER ?= lvs-rs maintainers <maintainers@lvs-rs.example>
STAGE      := build/deb
export SOURCE_DATE_EPOCH

.PHONY: build test install uninstall clean deb man completions

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o bin/lvs-rs ./cmd/lvs-rs

test:
	scripts/test.sh

install: build
	install -D -m 0755 bin/lvs-rs $(DESTDIR)$(SBINDIR)/lvs-rs
	for u in scripts/systemd/*.service; do \
		sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g' $$u > $$u.out && \
		install -D -m 0644 $$u.out $(DESTDIR)$(UNITDIR)/$$(basename $$u) && rm -f $$u.out; \
	done
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/lvs-rs
	test -e $(DESTDIR)$(SYSCONFDIR)/lvs-rs/lvs-rs.yaml || \
		install -m 0644 pkg/config/testdata/example.yaml $(DESTDIR)$(SYSCONFDIR)/lvs-rs/lvs-rs.yaml
	install -D -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/lvs-rs $(DESTDIR)$(UNITDIR)/lvs-rs-director.service \
		$(DESTDIR)$(UNITDIR)/lvs-rs-realserver.service $(DESTDIR)$(UNITDIR)/lvs-rs-director-daemon.service \
		$(DESTDIR)$(UNITDIR)/lvs-rs-realserver-nat.service
	@echo "left $(SYSCONFDIR)/lvs-rs/ in place"

# Man pages: lvs-rs(8) and one per subcommand from the command tree, and
# the hand-written lvs-rs.yaml(5); gzip -9n as Debian wants them. The
# generator is lvs-rs built with -tags manpages (the shipped binary does
# not link it: its libraries' initialisation would slow every command).
man:
	CGO_ENABLED=0 $(GO) build -tags manpages -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o build/lvs-rs-man ./cmd/lvs-rs
	rm -rf $(STAGE)/man && mkdir -p $(STAGE)/man/man8 $(STAGE)/man/man5
	build/lvs-rs-man man $(STAGE)/man/man8
	sed 's|^\.TH LVS-RS.YAML 5 ""|.TH LVS-RS.YAML 5 "'"$$(date -u -d @$(SOURCE_DATE_EPOCH) '+%b %Y')"'"|' \
		packaging/man/lvs-rs.yaml.5 > $(STAGE)/man/man5/lvs-rs.yaml.5
	gzip -9nf $(STAGE)/man/man8/*.8 $(STAGE)/man/man5/*.5

completions: build
	mkdir -p $(STAGE)/completion
	for sh in bash zsh fish; do bin/lvs-rs completion $$sh > $(STAGE)/completion/lvs-rs.$$sh; done

deb: build man completions
	mkdir -p dist
	install -m 0755 bin/lvs-rs $(STAGE)/lvs-rs
	for u in scripts/systemd/*.service; do \
		sed -e 's|@SBINDIR@|/usr/sbin|g' -e 's|@DOCDIR@|/usr/share/doc/lvs-rs|g' $$u > $(STAGE)/$$(basename $$u); \
	done
	printf 'lvs-rs (%s) unstable; urgency=medium\n\n  * Build of %s.\n\n -- %s  %s\n' \
		'$(DEB_VERSION)' "$$(git rev-parse HEAD 2>/dev/null || echo unknown)" '$(DEB_MAINTAINER)' \
		"$$(date -u -R -d @$(SOURCE_DATE_EPOCH))" | gzip -9n > $(STAGE)/changelog.gz
	rm -f dist/lvs-rs_*.deb
	cd packaging && DEB_VERSION='$(DEB_VERSION)' \
		DEB_MAINTAINER='$(DEB_MAINTAINER)' $(GO) run ./mkdeb -config nfpm.yaml \
		-target $(CURDIR)/dist/lvs-rs_$(DEB_VERSION)_amd64.deb
	@echo dist/lvs-rs_$(DEB_VERSION)_amd64.deb

clean:
	rm -rf bin build dist
