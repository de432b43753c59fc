"""Real clients of the sops CLI, each run with the real sops 3.11 and with encfile as its sops.

* **helm-secrets** (jkroepke/helm-secrets, the pinned copy in ../shared/clients/helm-secrets/):
  its ``scripts/run.sh`` as helm runs it (``helm secrets encrypt|decrypt|edit``, the
  ``secrets://`` downloader, and the values-file decryption ``helm secrets template`` does
  before it runs helm), with a stand-in helm binary, since none can be installed here.
* **Ansible**'s ``community.sops`` collection: a playbook using its lookup and vars plugins, its
  decrypt filter, ``load_vars`` and ``sops_encrypt``, with ``sops_binary`` pointing at a
  ``sops`` symlink to encfile.
* **Flux** kustomize-controller: it re-serializes a YAML resource as JSON before it decrypts it
  with the sops library; both sops and encfile must decrypt that JSON.

Every case runs the client twice, once per backend, and compares what it produced: exit codes,
and the decrypted bytes (encfile gives back the original bytes of a file it encrypted, and sops's
own rendering of a file sops encrypted) or the parsed data where sops reformats. A failure shows
each argv the client ran, the backend's exit code for each, and both stderrs.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from clients_support import (
    Backend,
    HelmSecrets,
    Run,
    ansible_env,
    ansible_playbook,
    both,
    client_env,
    helm_secrets_dir,
    make_backends,
    make_helm_stub,
)
from conftest import KEY_FILE, TEST_PUBLIC, canon, load_docs

pytestmark = pytest.mark.sops

# -- the files the clients work on ------------------------------------------------------------

VALUES_YAML = """\
# database credentials for the chart
db:
  user: admin
  password: hunter2   # rotated yearly
  port: 5432
replicas: 3
enabled: true
hosts:
  - a.example.com
  - b.example.com
tls:
  key: |
    -----BEGIN KEY-----
    c2VjcmV0
    -----END KEY-----
"""
VALUES_JSON = """\
{
  "db": {"user": "admin", "password": "hunter2", "port": 5432},
  "hosts": ["a.example.com", "b.example.com"],
  "enabled": true
}
"""
VALUES_CRLF = "db:\r\n  user: admin\r\n  password: hunter2\r\nport: 5432\r\n"
# helm-secrets hands decrypted content through shell variables, which cannot hold NUL bytes
BLOB = b"line one\nkey=value\n\xfe\xff not UTF-8\n\n\n"

FIXTURES: dict[str, tuple[str, bytes]] = {  # name -> (sops type, plaintext)
    "values.yaml": ("yaml", VALUES_YAML.encode()),
    "values.json": ("json", VALUES_JSON.encode()),
    "crlf.yaml": ("yaml", VALUES_CRLF.encode()),
    "secret.bin": ("binary", BLOB),
}
PRODUCERS = ("encfile", "sops")


def data_of(raw: bytes, kind: str) -> Any:
    """What a decrypted file means, for comparing outputs that sops reformats."""
    if kind == "binary":
        return raw
    if kind == "json":
        return canon(json.loads(raw))
    return canon(load_docs(raw.decode()))


# -- fixtures ---------------------------------------------------------------------------------

@pytest.fixture
def backends(tmp_path: Path) -> dict[str, Backend]:
    return make_backends(tmp_path / "backends")


@pytest.fixture
def client_home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


@pytest.fixture
def helm(tmp_path: Path, client_home: Path) -> HelmSecrets:
    return HelmSecrets(helm_secrets_dir(), make_helm_stub(tmp_path / "helm"), client_home)


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """The chart folder: a .sops.yaml for the test key, as helm-secrets users have."""
    w = tmp_path / "chart"
    w.mkdir()
    (w / ".sops.yaml").write_text(f"creation_rules:\n  - age: {TEST_PUBLIC}\n")
    return w


def encrypt_with(backend: Backend, src: Path, dest: Path, kind: str, home: Path) -> None:
    """Encrypt ``src`` the way a user does before helm-secrets ever sees it: the backend's own
    CLI, with the file's type and the test key."""
    proc = subprocess.run(
        [str(backend.sops), "--encrypt", "--age", TEST_PUBLIC, "--input-type", kind,
         "--output-type", kind, str(src)],
        capture_output=True, timeout=120, env=client_env(home, SOPS_AGE_KEY_FILE=str(KEY_FILE)))
    assert proc.returncode == 0, f"{backend.name} could not encrypt {src.name}: {proc.stderr!r}"
    dest.write_bytes(proc.stdout)


def per_backend(backends: dict[str, Backend], folder: Path,
                files: dict[str, bytes]) -> Iterator[tuple[Backend, Path]]:
    """A copy of ``files`` for each backend, in its own folder (clients write next to files)."""
    for backend in backends.values():
        d = folder / backend.name
        d.mkdir(parents=True)
        for name, data in files.items():
            (d / name).write_bytes(data)
        yield backend, d


def expect_decrypted(runs: dict[str, Run], got: dict[str, bytes], plain: bytes, kind: str,
                     producer: str) -> None:
    """The two backends' results for a file ``producer`` encrypted: the same exit code (0), the
    same data; encfile byte-exact where it promises it (its own files: the original bytes;
    sops's files: sops's rendering)."""
    report = both(runs)
    assert runs["sops"].rc == 0, "the oracle run failed:\n" + report
    assert runs["encfile"].rc == runs["sops"].rc, report
    assert data_of(got["sops"], kind) == data_of(plain, kind), report
    expected = plain if producer == "encfile" or kind == "binary" else got["sops"]
    assert got["encfile"] == expected, (
        f"encfile's bytes differ from {'the original' if expected is plain else 'sops'}'s:\n"
        f"  expected {expected!r}\n  got      {got['encfile']!r}\n{report}")


def argvs(run: Run) -> list[tuple[str, ...]]:
    return [c.argv for c in run.calls]


# -- helm-secrets -----------------------------------------------------------------------------

HELM_ENCRYPTABLE = ["values.yaml", "values.json", "crlf.yaml"]


@pytest.mark.parametrize("name", HELM_ENCRYPTABLE)
def test_helm_secrets_encrypt(name: str, helm: HelmSecrets, backends: dict[str, Backend],
                              work: Path, client_home: Path) -> None:
    """``helm secrets encrypt F``: ``--encrypt --input-type yaml --output-type yaml F`` (always
    yaml, whatever the file), printed; real sops decrypts both backends' outputs to the data of
    F; encfile decrypts its own output back to F's bytes."""
    plain = FIXTURES[name][1]
    runs, out = {}, {}
    for backend, d in per_backend(backends, work, {name: plain, ".sops.yaml":
                                                   (work / ".sops.yaml").read_bytes()}):
        runs[backend.name] = run = helm.run(backend, "encrypt", str(d / name), cwd=work,
                                            key_file=KEY_FILE)
        out[backend.name] = d / f"{name}.enc"
        out[backend.name].write_bytes(run.proc.stdout)
    report = both(runs)
    assert runs["sops"].rc == 0 and runs["encfile"].rc == 0, report
    for run in runs.values():
        assert argvs(run) == [("--encrypt", "--input-type", "yaml", "--output-type", "yaml",
                               name)], report
    # the client's own test of "is this encrypted" (grep 'mac.*,type:str]') must see it
    assert re.search(rb"mac.*,type:str]", runs["encfile"].proc.stdout), report
    sops_bin = backends["sops"].sops
    env = client_env(client_home, SOPS_AGE_KEY_FILE=str(KEY_FILE))
    for who, path in out.items():
        dec = subprocess.run([str(sops_bin), "-d", "--input-type", "yaml", "--output-type",
                              "yaml", str(path)], capture_output=True, env=env, timeout=120)
        assert dec.returncode == 0, f"sops cannot decrypt what {who} wrote: {dec.stderr!r}"
        assert data_of(dec.stdout, "yaml") == data_of(plain, "yaml"), who
    own = subprocess.run([str(backends["encfile"].sops), "-d", "--input-type", "yaml",
                          "--output-type", "yaml", str(out["encfile"])],
                         capture_output=True, env=env, timeout=120)
    assert own.returncode == 0, own.stderr
    assert own.stdout == plain


@pytest.mark.parametrize("name", HELM_ENCRYPTABLE)
def test_helm_secrets_encrypt_in_place_then_decrypt(
        name: str, helm: HelmSecrets, backends: dict[str, Backend], work: Path) -> None:
    """``helm secrets encrypt -i F`` (``--encrypt … --in-place F``), then ``helm secrets
    decrypt F`` with the same backend, whose type detection (a ``sops:`` line means yaml) picks
    the types; then ``encrypt -i`` again is refused by the client ("Already encrypted")."""
    plain = FIXTURES[name][1]
    runs, dec, again = {}, {}, {}
    for backend, d in per_backend(backends, work, {name: plain}):
        f = d / name
        runs[backend.name] = enc = helm.run(backend, "encrypt", "-i", str(f), cwd=work,
                                            key_file=KEY_FILE)
        assert enc.rc == 0, str(enc)
        assert argvs(enc) == [("--encrypt", "--input-type", "yaml", "--output-type", "yaml",
                               "--in-place", name)], str(enc)
        assert f.read_bytes() != plain
        dec[backend.name] = helm.run(backend, "decrypt", str(f), cwd=work, key_file=KEY_FILE)
        again[backend.name] = helm.run(backend, "encrypt", "-i", str(f), cwd=work,
                                       key_file=KEY_FILE)
    assert again["encfile"].rc == again["sops"].rc == 1, both(again)
    assert b"Already encrypted" in again["encfile"].proc.stderr, both(again)
    # what each backend wrote, each decrypted by the same backend through the client
    assert dec["sops"].rc == 0, both(dec)
    assert dec["encfile"].rc == 0, both(dec)
    # (parsed as YAML: what the client decrypts as yaml or as json, both are YAML)
    assert data_of(dec["sops"].proc.stdout, "yaml") == data_of(plain, "yaml"), both(dec)
    assert data_of(dec["encfile"].proc.stdout, "yaml") == data_of(plain, "yaml"), both(dec)
    # encfile keeps a JSON file's text when asked for yaml (JSON is YAML), so the file has no
    # `sops:` line and the client decrypts it as json: then sops's semantics and rendering
    # apply; where the client asks for yaml again, encfile gives back the original bytes
    if argvs(dec["encfile"])[0][2] == "yaml":
        assert dec["encfile"].proc.stdout == plain, both(dec)


@pytest.mark.parametrize("producer", PRODUCERS)
@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_helm_secrets_decrypt(name: str, producer: str, helm: HelmSecrets,
                              backends: dict[str, Backend], work: Path,
                              client_home: Path) -> None:
    """``helm secrets decrypt F`` of a file ``producer`` encrypted (yaml, json or binary, which
    the client tells apart with its greps), with each backend."""
    kind, plain = FIXTURES[name]
    src = work / name
    src.write_bytes(plain)
    encrypted = work / f"enc-{name}"
    encrypt_with(backends[producer], src, encrypted, kind, client_home)
    runs = {b.name: helm.run(b, "decrypt", str(encrypted), cwd=work, key_file=KEY_FILE)
            for b in backends.values()}
    for run in runs.values():
        assert argvs(run) == [("--decrypt", "--input-type", kind, "--output-type", kind,
                               str(encrypted))], both(runs)
    expect_decrypted(runs, {k: r.proc.stdout for k, r in runs.items()}, plain, kind, producer)


@pytest.mark.parametrize("producer", PRODUCERS)
@pytest.mark.parametrize("name", ["values.yaml", "values.json"])
def test_helm_secrets_decrypt_in_place(name: str, producer: str, helm: HelmSecrets,
                                       backends: dict[str, Backend], work: Path,
                                       client_home: Path) -> None:
    """``helm secrets decrypt -i F``: ``--decrypt … --in-place F``."""
    kind, plain = FIXTURES[name]
    src = work / name
    src.write_bytes(plain)
    encrypted = work / f"enc-{name}"
    encrypt_with(backends[producer], src, encrypted, kind, client_home)
    runs, got = {}, {}
    for backend, d in per_backend(backends, work, {name: encrypted.read_bytes()}):
        runs[backend.name] = helm.run(backend, "decrypt", "-i", str(d / name), cwd=work,
                                      key_file=KEY_FILE)
        got[backend.name] = (d / name).read_bytes()
        assert argvs(runs[backend.name]) == [
            ("--decrypt", "--input-type", kind, "--output-type", kind, "--in-place",
             str(d / name))], str(runs[backend.name])
    expect_decrypted(runs, got, plain, kind, producer)


def shown_values(stdout: bytes) -> dict[str, bytes]:
    """The values files the helm stand-in was given, by the name helm got."""
    out: dict[str, bytes] = {}
    for m in re.finditer(rb"^== ([^\n]+)\n(.*?)^== end\n", stdout, re.S | re.M):
        out[Path(m.group(1).decode()).name] = m.group(2)
    return out


@pytest.mark.parametrize("producer", PRODUCERS)
def test_helm_secrets_template_decrypts_values_files(producer: str, helm: HelmSecrets,
                                                     backends: dict[str, Backend], work: Path,
                                                     client_home: Path) -> None:
    """``helm secrets template CHART -f enc.yaml -f plain.yaml``: the client decrypts each
    encrypted values file with ``--decrypt … --output F.dec F``, hands the ``.dec`` files to
    helm, and removes them afterwards; a plain values file goes to helm as it is."""
    plain = FIXTURES["values.yaml"][1]
    (work / "values.yaml").write_bytes(plain)
    encrypt_with(backends[producer], work / "values.yaml", work / "secrets.yaml", "yaml",
                 client_home)
    (work / "plain.yaml").write_text("replicas: 1\n")
    runs = {b.name: helm.run(b, "template", "mychart", "-f", "secrets.yaml", "-f", "plain.yaml",
                             cwd=work, key_file=KEY_FILE) for b in backends.values()}
    report = both(runs)
    for run in runs.values():
        assert argvs(run) == [("--decrypt", "--input-type", "yaml", "--output-type", "yaml",
                               "--output", "secrets.yaml.dec", "secrets.yaml")], report
        assert b"helm template mychart -f secrets.yaml.dec -f plain.yaml" in run.proc.stdout, \
            report
    assert not list(work.glob("*.dec")), "helm-secrets left a decrypted file behind"
    shown = {k: shown_values(r.proc.stdout) for k, r in runs.items()}
    for k in shown:
        assert shown[k].get("plain.yaml") == b"replicas: 1\n", report
    expect_decrypted(runs, {k: s.get("secrets.yaml.dec", b"") for k, s in shown.items()}, plain,
                     "yaml", producer)


@pytest.mark.parametrize("producer", PRODUCERS)
@pytest.mark.parametrize("url", ["secrets://{f}", "secrets+age-import://{key}?{f}"])
def test_helm_secrets_downloader(url: str, producer: str, helm: HelmSecrets,
                                 backends: dict[str, Backend], work: Path,
                                 client_home: Path) -> None:
    """A ``secrets://`` values URL, as helm hands it to the plugin's downloader
    (``scripts/run.sh downloader CERT KEY CA URL``); with ``secrets+age-import://KEY?F`` the
    identity comes only from the URL (helm-secrets sets SOPS_AGE_KEY_FILE from it)."""
    plain = FIXTURES["values.yaml"][1]
    (work / "values.yaml").write_bytes(plain)
    encrypt_with(backends[producer], work / "values.yaml", work / "secrets.yaml", "yaml",
                 client_home)
    full = url.format(f="secrets.yaml", key=KEY_FILE)
    key = KEY_FILE if url.startswith("secrets://") else None
    runs = {b.name: helm.run(b, "downloader", "", "", "", full, cwd=work, key_file=key)
            for b in backends.values()}
    for run in runs.values():
        assert argvs(run) == [("--decrypt", "--input-type", "yaml", "--output-type", "yaml",
                               "secrets.yaml")], both(runs)
    expect_decrypted(runs, {k: r.proc.stdout for k, r in runs.items()}, plain, "yaml", producer)


@pytest.mark.parametrize("producer", PRODUCERS)
def test_helm_secrets_literal_from_stdin(producer: str, helm: HelmSecrets,
                                         backends: dict[str, Backend], work: Path,
                                         client_home: Path) -> None:
    """A ``secrets+literal://`` URL holding a sops-encrypted JSON document: the client pipes it
    to ``--decrypt --input-type json --output-type json /dev/stdin``. A literal is URL text, so
    it has no final newline (sops's output has one all the same)."""
    plain = FIXTURES["values.json"][1]
    (work / "values.json").write_bytes(plain)
    encrypt_with(backends[producer], work / "values.json", work / "secrets.json", "json",
                 client_home)
    literal = "secrets+literal://" + (work / "secrets.json").read_text().rstrip("\n")
    runs = {b.name: helm.run(b, "downloader", "", "", "", literal, cwd=work, key_file=KEY_FILE)
            for b in backends.values()}
    for run in runs.values():
        assert argvs(run) == [("--decrypt", "--input-type", "json", "--output-type", "json",
                               "/dev/stdin")], both(runs)
    expect_decrypted(runs, {k: r.proc.stdout for k, r in runs.items()}, plain, "json", producer)


def test_helm_secrets_decrypt_without_a_key_fails_alike(
        helm: HelmSecrets, backends: dict[str, Backend], work: Path, client_home: Path) -> None:
    """No identity: the backend fails with sops's exit code (128), the client says "Error
    while decrypting file" and exits 1, and nothing decrypted is printed."""
    plain = FIXTURES["values.yaml"][1]
    (work / "values.yaml").write_bytes(plain)
    encrypt_with(backends["encfile"], work / "values.yaml", work / "secrets.yaml", "yaml",
                 client_home)
    runs = {b.name: helm.run(b, "decrypt", "secrets.yaml", cwd=work)
            for b in backends.values()}
    report = both(runs)
    for run in runs.values():
        assert run.rc == 1, report
        assert b"Error while decrypting file" in run.proc.stderr, report
        assert b"hunter2" not in run.proc.stdout + run.proc.stderr, report
    assert [c.rc for c in runs["encfile"].calls] == [c.rc for c in runs["sops"].calls] == [128], \
        report


EDITOR = """\
#!{python}
# A scripted $EDITOR: records what it was shown, then changes one value and adds a key.
import sys, pathlib
p = pathlib.Path(sys.argv[1])
text = p.read_bytes()
pathlib.Path({seen!r}).write_bytes(text)
p.write_bytes(text.replace(b"hunter2", b"hunter3") + b"added: new\\n")
"""
NOOP_EDITOR = "#!/bin/sh\nexit 0\n"
NEW_FILE_EDITOR = "#!/bin/sh\nprintf 'token: t0ps3cret\\ncount: 2\\n' > \"$1\"\n"


def script(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o755)
    return path


def decrypt_with_sops(backends: dict[str, Backend], path: Path, home: Path) -> bytes:
    proc = subprocess.run([str(backends["sops"].sops), "-d", str(path)], capture_output=True,
                          timeout=120, env=client_env(home, SOPS_AGE_KEY_FILE=str(KEY_FILE)))
    assert proc.returncode == 0, f"sops cannot decrypt {path}: {proc.stderr!r}"
    return proc.stdout


@pytest.mark.parametrize("producer", PRODUCERS)
def test_helm_secrets_edit(producer: str, helm: HelmSecrets, backends: dict[str, Backend],
                           work: Path, client_home: Path, tmp_path: Path) -> None:
    """``helm secrets edit F``: ``--input-type yaml --output-type yaml F`` (sops's edit, by
    having no action), with $EDITOR changing one value and adding a key."""
    plain = FIXTURES["values.yaml"][1]
    (work / "values.yaml").write_bytes(plain)
    encrypt_with(backends[producer], work / "values.yaml", work / "secrets.yaml", "yaml",
                 client_home)
    runs, seen = {}, {}
    for backend, d in per_backend(backends, work, {"secrets.yaml":
                                                   (work / "secrets.yaml").read_bytes()}):
        seen_file = tmp_path / f"seen-{backend.name}"
        editor = script(tmp_path / f"editor-{backend.name}",
                        EDITOR.format(python=sys.executable, seen=str(seen_file)))
        runs[backend.name] = helm.run(backend, "edit", str(d / "secrets.yaml"), cwd=work,
                                      key_file=KEY_FILE, editor=editor)
        seen[backend.name] = seen_file.read_bytes() if seen_file.exists() else b""
    report = both(runs)
    for run in runs.values():
        assert argvs(run) == [("--input-type", "yaml", "--output-type", "yaml",
                               "secrets.yaml")], report
    assert runs["sops"].rc == 0, report
    assert runs["encfile"].rc == runs["sops"].rc, report
    # the editor was shown the plaintext: the original bytes (encfile's own file), else what
    # sops shows
    assert seen["encfile"] == (plain if producer == "encfile" else seen["sops"]), report
    edited = plain.replace(b"hunter2", b"hunter3") + b"added: new\n"
    for name in backends:
        result = decrypt_with_sops(backends, work / name / "secrets.yaml", client_home)
        assert data_of(result, "yaml") == data_of(edited, "yaml"), report
    assert b"hunter3" not in (work / "encfile" / "secrets.yaml").read_bytes()


def test_helm_secrets_edit_unchanged(helm: HelmSecrets, backends: dict[str, Backend],
                                     work: Path, client_home: Path, tmp_path: Path) -> None:
    """An edit that changes nothing leaves the file as it was, and ends as sops's does: exit
    200 ("File has not changed"), which ``helm secrets edit`` passes on."""
    plain = FIXTURES["values.yaml"][1]
    (work / "values.yaml").write_bytes(plain)
    encrypt_with(backends["encfile"], work / "values.yaml", work / "secrets.yaml", "yaml",
                 client_home)
    before = (work / "secrets.yaml").read_bytes()
    noop = script(tmp_path / "noop-editor", NOOP_EDITOR)
    runs = {}
    for backend, d in per_backend(backends, work, {"secrets.yaml": before}):
        runs[backend.name] = helm.run(backend, "edit", str(d / "secrets.yaml"), cwd=work,
                                      key_file=KEY_FILE, editor=noop)
        assert (d / "secrets.yaml").read_bytes() == before, str(runs[backend.name])
    report = both(runs)
    assert runs["sops"].rc == 200, report
    assert runs["encfile"].rc == runs["sops"].rc, report


def test_helm_secrets_edit_new_file(helm: HelmSecrets, backends: dict[str, Backend],
                                    work: Path, client_home: Path, tmp_path: Path) -> None:
    """``helm secrets edit new.yaml`` of a file that does not exist yet: the editor writes it,
    the chart's .sops.yaml (found from the working folder the client cd's to) gives the key."""
    writer = script(tmp_path / "writer", NEW_FILE_EDITOR)
    runs = {}
    for backend, d in per_backend(backends, work, {".sops.yaml":
                                                   (work / ".sops.yaml").read_bytes()}):
        runs[backend.name] = helm.run(backend, "edit", str(d / "new.yaml"), cwd=work,
                                      key_file=KEY_FILE, editor=writer)
    report = both(runs)
    assert runs["sops"].rc == 0, report
    assert runs["encfile"].rc == 0, report
    for name in backends:
        text = (work / name / "new.yaml").read_bytes()
        assert b"t0ps3cret" not in text, report
        assert data_of(decrypt_with_sops(backends, work / name / "new.yaml", client_home),
                       "yaml") == data_of(b"token: t0ps3cret\ncount: 2\n", "yaml"), report


# -- Ansible: community.sops ------------------------------------------------------------------

PLAYBOOK = """\
- hosts: localhost
  gather_facts: false
  vars:
    producers: [sops, encfile]
    out: "{{ playbook_dir }}/out"
  tasks:
    - name: the lookup plugin, in each of its forms
      ansible.builtin.set_fact:
        lookups: "{{ lookups | default({}) | combine({item: {
          'parsed': lookup('community.sops.sops', 'db.' ~ item ~ '.sops.yaml') | from_yaml,
          'raw': lookup('community.sops.sops', 'db.' ~ item ~ '.sops.yaml', rstrip=false),
          'stripped': lookup('community.sops.sops', 'db.' ~ item ~ '.sops.yaml'),
          'extract': lookup('community.sops.sops', 'db.' ~ item ~ '.sops.yaml',
                            extract='[\\"db\\"][\\"password\\"]'),
          'as_json': lookup('community.sops.sops', 'db.' ~ item ~ '.sops.yaml',
                            output_type='json') | from_json,
          'blob': lookup('community.sops.sops', 'blob.' ~ item ~ '.sops.json', base64=true,
                         rstrip=false, input_type='json', output_type='binary'),
          'filter': lookup('ansible.builtin.file', 'files/db.' ~ item ~ '.sops.yaml')
                    | community.sops.decrypt(sops_binary=sops_bin) | from_yaml,
          }}) }}"
      loop: "{{ producers }}"

    - name: load_vars
      community.sops.load_vars:
        file: "{{ playbook_dir }}/files/db.{{ item }}.sops.yaml"
        name: "loaded_{{ item }}"
        sops_binary: "{{ sops_bin }}"
      loop: "{{ producers }}"

    - name: sops_encrypt, first run
      community.sops.sops_encrypt: &encrypt
        path: "{{ out }}/{{ item.path }}"
        content_yaml: "{{ item.yaml | default(omit) }}"
        content_json: "{{ item.json | default(omit) }}"
        content_text: "{{ item.text | default(omit) }}"
        age: "{{ item.age | default(omit) }}"
        sops_binary: "{{ sops_bin }}"
      loop: &written
        - {path: new.sops.yaml, yaml: {a: 1, b: two, nested: {c: [1, 2]}}, age: ["%(pub)s"]}
        - {path: new.sops.json, json: {a: 1, b: two}, age: ["%(pub)s"]}
        - {path: text.sops.yaml, text: "a text\\nof two lines\\n", age: ["%(pub)s"]}
        - {path: rules/rules.sops.yaml, yaml: {secret_a: hidden, plain_b: visible}}
      register: first

    - name: sops_encrypt, second run (the same content, so nothing to change)
      community.sops.sops_encrypt: *encrypt
      loop: *written
      register: second

    - name: what was written, read back
      ansible.builtin.set_fact:
        written: "{{ written | default({}) | combine({item: lookup('community.sops.sops',
                     out ~ '/' ~ item, rstrip=false)}) }}"
      loop: [new.sops.yaml, new.sops.json, text.sops.yaml, rules/rules.sops.yaml]

    - name: the results
      ansible.builtin.copy:
        dest: "{{ out }}/results.json"
        content: "{{ {
          'lookups': lookups,
          'loaded': {'sops': loaded_sops, 'encfile': loaded_encfile},
          'vars_plugin': {'group': group_secret, 'group_port': group_port,
                          'host': host_secret, 'host_list': host_list,
                          'unencrypted_skipped': not_secret is not defined},
          'changed': {'first': first.results | map(attribute='changed') | list,
                      'second': second.results | map(attribute='changed') | list},
          'written': written,
          } | to_nice_json }}"
"""

DB_YAML = "# the database\ndb:\n  user: admin\n  password: hunter2 # inline\nports: [5432, 5433]\n"


def ansible_project(root: Path, backends: dict[str, Backend], backend: Backend,
                    home: Path) -> Path:
    """A playbook folder: inventory, ansible.cfg (the sops vars plugin alone, so that a vars file
    it skips stays unread; the backend as sops), vars files and lookup files made by both sops
    and encfile."""
    p = root / backend.name
    for sub in ("files", "group_vars/all", "host_vars/localhost", "out/rules"):
        (p / sub).mkdir(parents=True)
    (p / "inventory.ini").write_text("localhost ansible_connection=local\n")
    (p / "ansible.cfg").write_text(textwrap.dedent(f"""\
        [defaults]
        inventory = inventory.ini
        vars_plugins_enabled = community.sops.sops
        gathering = explicit
        retry_files_enabled = false
        [community.sops]
        binary = {backend.sops}
        handle_unencrypted_files = skip
        """))
    (p / "site.yml").write_text(PLAYBOOK % {"pub": TEST_PUBLIC})
    # sops_encrypt without `age`: the rule in the destination's .sops.yaml (sops_encrypt runs
    # sops in that folder, on /dev/stdin, with --filename-override). In a folder of its own:
    # sops refuses --age for a file no rule of the config it finds matches (encfile uses the
    # --age recipients, a documented difference, docs/config.md)
    (p / "out" / "rules" / ".sops.yaml").write_text(
        f"creation_rules:\n  - path_regex: rules\\.sops\\.yaml$\n    age: {TEST_PUBLIC}\n"
        "    encrypted_regex: ^secret_\n")
    plain = root / "plain"
    plain.mkdir(exist_ok=True)
    sources = {
        "db.yaml": ("yaml", DB_YAML.encode()),
        "blob.bin": ("binary", BLOB.replace(b"\n\n", b"\x00\n")),
        "group.yaml": ("yaml", b"group_secret: s3cret\ngroup_port: 8080\n"),
        "host.json": ("json", b'{"host_secret": "h0st", "host_list": [1, "two"]}\n'),
    }
    for name, (_, data) in sources.items():
        (plain / name).write_bytes(data)
    for producer in ("sops", "encfile"):
        encrypt_with(backends[producer], plain / "db.yaml",
                     p / "files" / f"db.{producer}.sops.yaml", "yaml", home)
        encrypt_with(backends[producer], plain / "blob.bin",
                     p / "files" / f"blob.{producer}.sops.json", "binary", home)
    # vars files: one made by each tool, and an unencrypted one that the plugin must skip
    encrypt_with(backends["sops"], plain / "group.yaml", p / "group_vars/all/app.sops.yaml",
                 "yaml", home)
    encrypt_with(backends["encfile"], plain / "host.json",
                 p / "host_vars/localhost/host.sops.json", "json", home)
    (p / "host_vars/localhost/plain.sops.yaml").write_text("not_secret: 1\n")
    return p


def run_playbook(project: Path, backend: Backend, home: Path) -> Run:
    backend.new_calls()
    proc = subprocess.run(
        [str(ansible_playbook()), "site.yml", "-e", f"sops_bin={backend.sops}"],
        cwd=project, capture_output=True, timeout=600,
        env=ansible_env(home, project, SOPS_AGE_KEY_FILE=str(KEY_FILE)))
    return Run(backend, proc, backend.new_calls())


def warnings_in(run: Run) -> list[str]:
    text = (run.proc.stdout + run.proc.stderr).decode("utf-8", "replace")
    return [line for line in text.splitlines() if "[WARNING]" in line]


def test_ansible_community_sops(backends: dict[str, Backend], tmp_path: Path,
                                client_home: Path) -> None:
    """One playbook, run with real sops and with encfile as ``sops_binary``: the same lookups,
    vars, filter and load_vars results, the same change reports (the second ``sops_encrypt``
    changes nothing), files that real sops decrypts to the same data, and no warning (in
    particular not "Cannot extract SOPS version")."""
    ansible_playbook()
    runs: dict[str, Run] = {}
    results: dict[str, Any] = {}
    projects: dict[str, Path] = {}
    for backend in backends.values():
        projects[backend.name] = p = ansible_project(tmp_path / "ansible", backends, backend,
                                                     client_home)
        runs[backend.name] = run_playbook(p, backend, client_home)
        if (p / "out" / "results.json").exists():
            results[backend.name] = json.loads((p / "out" / "results.json").read_text())
    report = both(runs)
    assert runs["sops"].rc == 0, "the oracle run failed:\n" + report
    assert runs["encfile"].rc == 0, report
    assert "cannot extract sops version" not in (
        runs["encfile"].proc.stdout + runs["encfile"].proc.stderr).decode().lower(), report
    assert warnings_in(runs["encfile"]) == warnings_in(runs["sops"]), report
    # the collection took encfile for sops >= 3.9: subcommands, filestatus
    def commands(run: Run) -> list[str]:
        return sorted({c.argv[0] for c in run.calls})
    assert commands(runs["encfile"]) == commands(runs["sops"]), report
    assert "filestatus" in commands(runs["sops"]), report

    s, e = results["sops"], results["encfile"]
    assert e["vars_plugin"] == s["vars_plugin"] == {
        "group": "s3cret", "group_port": 8080, "host": "h0st", "host_list": [1, "two"],
        "unencrypted_skipped": True}, report
    assert e["changed"] == s["changed"] == {"first": [True] * 4, "second": [False] * 4}, report
    db = data_of(DB_YAML.encode(), "yaml")[0]
    for producer in PRODUCERS:
        le, ls = e["lookups"][producer], s["lookups"][producer]
        for form in ("parsed", "as_json", "filter"):
            assert canon(le[form]) == canon(ls[form]) == db, (producer, form, report)
        assert le["extract"] == ls["extract"] == "hunter2"
        assert le["blob"] == ls["blob"] == base64.b64encode(
            BLOB.replace(b"\n\n", b"\x00\n")).decode(), (producer, report)
        assert canon(e["loaded"][producer]) == canon(s["loaded"][producer]) == db
        # the decrypted text: encfile's own file comes back as written, sops's as sops renders
        expected_raw = DB_YAML if producer == "encfile" else ls["raw"]
        assert le["raw"] == expected_raw, (producer, report)
        assert le["stripped"] == expected_raw.rstrip(), (producer, report)
    for name in ("new.sops.yaml", "new.sops.json", "text.sops.yaml", "rules/rules.sops.yaml"):
        kind = "json" if name.endswith(".json") else "yaml"
        assert data_of(e["written"][name].encode(), kind) == data_of(
            s["written"][name].encode(), kind), (name, report)
        # what encfile wrote, decrypted by real sops, means what sops's own file means
        assert data_of(decrypt_with_sops(backends, projects["encfile"] / "out" / name,
                                         client_home), kind) == \
            data_of(decrypt_with_sops(backends, projects["sops"] / "out" / name, client_home),
                    kind), name
    for name in backends:  # the rule's encrypted_regex left plain_b in the clear in both
        text = (projects[name] / "out" / "rules" / "rules.sops.yaml").read_text()
        assert "plain_b: visible" in text and "hidden" not in text, (name, text)
    # text in, YAML out (`encrypt --input-type binary --output-type yaml`): no YAML text
    # existed, so the decrypted YAML is rendered as sops renders it
    text_yaml = "text.sops.yaml"
    assert data_of(s["written"][text_yaml].encode(), "yaml") == [
        {"data": "a text\nof two lines\n"}]
    assert e["written"][text_yaml] == s["written"][text_yaml], report


# -- Flux: YAML resources re-serialized as JSON -------------------------------------------------

SECRET_YAML = """\
# the app's credentials; rotate with the team's runbook
apiVersion: v1
kind: Secret
metadata:
  name: app-credentials   # referenced by the deployment
  namespace: prod
type: Opaque
stringData:
  username: admin
  password: hunter2
  port: "5432"
data:
  token: dDBwc2VjcmV0
"""
FLUX_JSON_FORMS = {
    # kustomize marshals a resource with Go's encoding/json: compact, no final newline
    "compact": lambda data: json.dumps(data, separators=(",", ":")),
    "indented": lambda data: json.dumps(data, indent=2) + "\n",
}


@pytest.fixture
def flux_json(tmp_path: Path, client_home: Path, backends: dict[str, Backend],
              request: pytest.FixtureRequest) -> tuple[Path, dict[str, str]]:
    """A Kubernetes Secret encrypted by encfile as Flux users do (``--encrypted-regex
    '^(data|stringData)$'``), then loaded as YAML and dumped as JSON, as kustomize-controller
    does before it decrypts a resource."""
    form = request.param
    src = tmp_path / "secret.yaml"
    src.write_text(SECRET_YAML)
    env = client_env(client_home, SOPS_AGE_KEY_FILE=str(KEY_FILE))
    proc = subprocess.run([str(backends["encfile"].sops), "--encrypt", "--age", TEST_PUBLIC,
                           "--encrypted-regex", "^(data|stringData)$", str(src)],
                          capture_output=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert b"hunter2" not in proc.stdout and b"app-credentials" in proc.stdout
    (data,) = load_docs(proc.stdout.decode())
    path = tmp_path / "secret.json"
    path.write_text(FLUX_JSON_FORMS[form](data))
    return path, env


FLUX_FORMS = pytest.mark.parametrize("flux_json", sorted(FLUX_JSON_FORMS), indirect=True)


@FLUX_FORMS
def test_flux_json_of_encfile_yaml_decrypts_with_sops(flux_json: tuple[Path, dict[str, str]],
                                                      backends: dict[str, Backend]) -> None:
    """What kustomize-controller's embedded sops does: decrypt the JSON form (MAC checked)."""
    path, env = flux_json
    proc = subprocess.run([str(backends["sops"].sops), "-d", "--input-type", "json",
                           "--output-type", "json", str(path)],
                          capture_output=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert canon(json.loads(proc.stdout)) == data_of(SECRET_YAML.encode(), "yaml")[0]


@FLUX_FORMS
@pytest.mark.parametrize("types", [("--input-type", "json", "--output-type", "json"), ()],
                         ids=["types-given", "by-extension"])
def test_flux_json_of_encfile_yaml_decrypts_with_encfile(
        flux_json: tuple[Path, dict[str, str]], types: tuple[str, ...],
        backends: dict[str, Backend]) -> None:
    """``encfile -d`` of the JSON form: the layout recorded for YAML no longer applies (the
    file was converted, not tampered with), so encfile decrypts it with sops's semantics
    (values and MAC checked), prints one note saying so, and exits 0 with sops's data."""
    path, env = flux_json
    enc = subprocess.run([str(backends["encfile"].sops), "-d", *types, str(path)],
                         capture_output=True, env=env, timeout=120)
    ref = subprocess.run([str(backends["sops"].sops), "-d", *types, str(path)],
                         capture_output=True, env=env, timeout=120)
    stderr = enc.stderr.decode("utf-8", "replace")
    assert ref.returncode == 0, ref.stderr
    assert enc.returncode == 0, f"encfile exited {enc.returncode}: {stderr}"
    assert canon(json.loads(enc.stdout)) == canon(json.loads(ref.stdout))
    lines = stderr.splitlines()
    assert len(lines) == 1 and re.match(r"encfile: (note|warning): ", lines[0]), stderr
    assert "hunter2" not in stderr and "admin" not in stderr


@FLUX_FORMS
def test_flux_json_changed_value_fails_like_sops(flux_json: tuple[Path, dict[str, str]],
                                                 backends: dict[str, Backend]) -> None:
    """sops's semantics keep the MAC: a changed clear value (the Secret's name) in the JSON form
    fails with sops's exit code, and nothing decrypted is printed."""
    path, env = flux_json
    path.write_text(path.read_text().replace("app-credentials", "other-credentials"))
    enc = subprocess.run([str(backends["encfile"].sops), "-d", str(path)],
                         capture_output=True, env=env, timeout=120)
    ref = subprocess.run([str(backends["sops"].sops), "-d", str(path)],
                         capture_output=True, env=env, timeout=120)
    assert ref.returncode == 51, ref.stderr
    assert enc.returncode == ref.returncode, enc.stderr
    assert enc.stdout == b""
    assert b"hunter2" not in enc.stderr
