# Two commands work on a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint typecheck vectors clean bench fuzz

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

## demo: encrypt the bundled sample secrets with a throwaway key and decrypt them again
demo: $(VENV)/.installed
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	export PATH="$(CURDIR)/$(BIN):$$PATH" SOPS_AGE_KEY_FILE="$$tmp/keys.txt"; \
	unset SOPS_AGE_KEY SOPS_AGE_KEY_CMD ENCFILE_AGE_KEY ENCFILE_AGE_KEY_FILE ENCFILE_AGE_KEY_CMD; \
	echo "== encfile keygen -o keys.txt   (a throwaway identity in $$tmp)"; \
	encfile keygen -o "$$tmp/keys.txt"; \
	pub=$$(sed -n 's/^# public key: //p' "$$tmp/keys.txt"); \
	echo; echo "== encfile -e --age $$pub testdata/demo/secrets.yaml > secrets.enc.yaml"; \
	encfile -e --age "$$pub" testdata/demo/secrets.yaml > "$$tmp/secrets.enc.yaml"; \
	cut -c1-110 "$$tmp/secrets.enc.yaml" | head -n 24; echo "   ..."; \
	echo; echo "== encfile -d secrets.enc.yaml | diff - testdata/demo/secrets.yaml"; \
	encfile -d "$$tmp/secrets.enc.yaml" | diff - testdata/demo/secrets.yaml; \
	echo "identical, byte for byte (comments, quoting and layout included)"; \
	echo; echo "== encfile -d --extract '[\"database\"][\"password\"]' secrets.enc.yaml"; \
	encfile -d --extract '["database"]["password"]' "$$tmp/secrets.enc.yaml"; echo; \
	echo; echo "== a Kubernetes Secret: encfile -e ... | encfile -d - | (kubectl apply -f -)"; \
	encfile -e --age "$$pub" --encrypted-regex '^(data|stringData)$$' testdata/demo/secret.k8s.yaml \
	  > "$$tmp/secret.enc.yaml"; \
	grep -E 'kind|name:|DATABASE_URL' "$$tmp/secret.enc.yaml" | cut -c1-100; \
	encfile -d --input-type yaml - < "$$tmp/secret.enc.yaml" | grep DATABASE_URL; \
	echo; echo "== dotenv too: encfile -e --age ... -i app.env; encfile -d app.env | diff - testdata/demo/app.env"; \
	cp testdata/demo/app.env "$$tmp/app.env"; encfile -e --age "$$pub" -i "$$tmp/app.env"; \
	grep -v '^sops_' "$$tmp/app.env" | cut -c1-100; \
	encfile -d "$$tmp/app.env" | diff - testdata/demo/app.env && echo "identical, byte for byte"; \
	echo; echo "== encfile exec -f app.env -- sh -c 'echo \$$API_TOKEN'   (values as programs read them)"; \
	encfile exec -f "$$tmp/app.env" -- sh -c 'echo "$$API_TOKEN"'; \
	echo; echo "== python: encfile.load('secrets.enc.yaml')"; \
	$(BIN)/python -c "import encfile, sys; d = encfile.load(sys.argv[1]); print('database.port =', d['database']['port'], '| user =', d['database']['user'])" "$$tmp/secrets.enc.yaml"; \
	echo; echo "demo done: nothing was written outside $(VENV) and $$tmp (now removed)"

## test: the whole test suite, with the real sops and age binaries as oracles
test: $(VENV)/.installed-test
	@command -v age >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && (apt-get install -y -qq age >/dev/null 2>&1 || (apt-get update -qq >/dev/null && apt-get install -y -qq age >/dev/null)); } || echo "note: the age CLI is missing; its tests will be skipped"
	@command -v gnome-keyring-daemon >/dev/null 2>&1 && command -v dbus-run-session >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnome-keyring dbus >/dev/null 2>&1 || (apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnome-keyring dbus >/dev/null)); } || echo "note: gnome-keyring is missing; the OS keyring tests will be skipped"
	@command -v gpg >/dev/null 2>&1 && command -v gpg-agent >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnupg >/dev/null 2>&1 || (apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnupg >/dev/null)); } || echo "note: GnuPG is missing; the PGP tests will be skipped"
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -q

lint: $(VENV)/.installed-test
	$(BIN)/ruff check encfile tests
	$(BIN)/mypy

## vectors: regenerate testdata/sops/ with the real sops binary
vectors: $(VENV)/.installed-test
	PATH="$(CURDIR)/$(BIN):$$PATH" testdata/make-sops-vectors.sh

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis

## bench: encfile against sops side by side (medians, ratios, peak memory); --record writes RESULTS.md
bench:
	$(PYTHON) benchmarks/bench.py $(BENCH_ARGS)

## fuzz: the parser fuzz harness (atheris if it installs, else hypothesis), two minutes a target
fuzz: $(VENV)/.installed-test
	$(BIN)/pip install --quiet atheris || echo "note: atheris is not available; using hypothesis"
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python fuzz/fuzz_parsers.py all --seconds 120 --keep-going
