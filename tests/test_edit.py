"""`encfile edit` with a scripted $EDITOR, and quiet re-encryption (`--reuse-from`).

The fake editor is a small Python program: it logs where the plaintext was (path, modes,
file system type) to a file outside the temp folder, then does what FAKE_EDIT says.
"""

from __future__ import annotations

import difflib
import json
import os
import sys
from pathlib import Path

import pytest
from conftest import PLAIN, TEST_PUBLIC, TEST_SECRET, run_encfile

import encfile
from encfile import fsutil

EDITOR = r'''
import json, os, signal, sys, time
path = sys.argv[1]
text = open(path, encoding="utf-8").read()
log = os.environ["FAKE_LOG"]
st, dst = os.stat(path), os.stat(os.path.dirname(path))
sys.path.insert(0, os.environ["FAKE_ROOT"])
from encfile import fsutil
with open(log, "a") as out:
    out.write(json.dumps({"path": path, "mode": st.st_mode & 0o777, "dir": dst.st_mode & 0o777,
                          "fs": fsutil.filesystem_type(path), "first": text.split("\n")[0]}) + "\n")
action = os.environ.get("FAKE_EDIT", "")
runs = sum(1 for _ in open(log))
if action == "replace":
    text = text.replace(os.environ["FAKE_OLD"], os.environ["FAKE_NEW"])
elif action == "write":
    text = os.environ["FAKE_NEW"]
elif action == "break-then-fix":
    text = "broken: [\n" if runs == 1 else "fixed: true\n"
elif action == "break-twice":
    text = "broken: [\n"
elif action == "fail":
    sys.exit(3)
elif action == "race":
    with open(os.environ["FAKE_OTHER"], "a") as other:
        other.write("# someone else saved meanwhile\n")
    text = text.replace("hunter2", "mine")
elif action == "sigterm":
    os.kill(os.getppid(), signal.SIGTERM)
    time.sleep(5)
open(path, "w", encoding="utf-8").write(text)
'''

SECRET = "user: admin\n# the password\npassword: hunter2\nport: 5432\n"
ROOT = str(Path(__file__).resolve().parent.parent)

pytestmark = pytest.mark.skipif(not fsutil.memory_folders(),
                                reason="no tmpfs on this machine (edit needs one)")


@pytest.fixture
def editor(tmp_path: Path, env: dict[str, str]) -> dict[str, str]:
    script = tmp_path / "fake_editor.py"
    script.write_text(EDITOR)
    return {**env, "EDITOR": f"{sys.executable} {script}", "FAKE_LOG": str(tmp_path / "log"),
            "FAKE_ROOT": ROOT}


def encrypted(tmp_path: Path, env: dict[str, str], text: str = SECRET,
              name: str = "s.enc.yaml") -> Path:
    src = tmp_path / ("plain-" + name.replace(".enc", ""))
    src.write_text(text)
    result = run_encfile("-e", "--age", TEST_PUBLIC, str(src), env=env)
    assert result.returncode == 0, result.stderr
    out = tmp_path / name
    out.write_bytes(result.stdout)
    return out


def log_entries(env: dict[str, str]) -> list[dict[str, object]]:
    path = Path(env["FAKE_LOG"])
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def changed_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(),
                                                  lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_edit_changes_one_value_quietly(tmp_path: Path, editor: dict[str, str],
                                        sops_bin: str) -> None:
    enc = encrypted(tmp_path, editor)
    before = enc.read_text()
    result = run_encfile("edit", str(enc), env={**editor, "FAKE_EDIT": "replace",
                                                "FAKE_OLD": "hunter2", "FAKE_NEW": "hunter3"})
    assert result.returncode == 0, result.stderr
    (entry,) = log_entries(editor)
    assert entry["fs"] in ("tmpfs", "ramfs") and entry["mode"] == 0o600 and entry["dir"] == 0o700
    assert not os.path.exists(str(entry["path"])), "the plaintext must be gone"
    assert not os.path.exists(os.path.dirname(str(entry["path"])))
    after = enc.read_text()
    changed = {line.split(":")[0].strip("+- ") for line in changed_lines(before, after)}
    assert changed <= {"password", "mac", "lastmodified", "encfile_layout"}
    assert "password" in changed
    assert encfile.decrypt(after, identities=[TEST_SECRET]) == SECRET.replace("hunter2",
                                                                               "hunter3")
    import subprocess

    sops = subprocess.run([sops_bin, "decrypt", str(enc)], env=editor, capture_output=True)
    assert sops.returncode == 0 and b"hunter3" in sops.stdout


def test_edit_without_changes_leaves_the_file_alone(tmp_path: Path,
                                                    editor: dict[str, str]) -> None:
    enc = encrypted(tmp_path, editor)
    before = enc.read_bytes()
    result = run_encfile("edit", str(enc), env=editor)
    assert result.returncode == 200, result.stderr  # sops's code, which helm-secrets passes on
    assert result.stderr.decode() == f"encfile: error: '{enc}' has not changed: nothing written\n"
    assert result.stdout == b""
    assert enc.read_bytes() == before


def test_editor_failure_changes_nothing(tmp_path: Path, editor: dict[str, str]) -> None:
    enc = encrypted(tmp_path, editor)
    before = enc.read_bytes()
    result = run_encfile("edit", str(enc), env={**editor, "FAKE_EDIT": "fail"})
    assert result.returncode == 1 and "status 3" in result.stderr.decode()
    assert enc.read_bytes() == before
    (entry,) = log_entries(editor)
    assert not os.path.exists(str(entry["path"]))


def test_parse_error_reopens_the_editor_with_the_error(tmp_path: Path,
                                                       editor: dict[str, str]) -> None:
    enc = encrypted(tmp_path, editor)
    result = run_encfile("edit", str(enc), env={**editor, "FAKE_EDIT": "break-then-fix"})
    assert result.returncode == 0, result.stderr
    first, second = log_entries(editor)
    assert not str(first["first"]).startswith("# encfile:")
    assert str(second["first"]).startswith("# encfile: error: ")
    assert encfile.decrypt(enc.read_text(), identities=[TEST_SECRET]) == "fixed: true\n"


def test_giving_up_on_a_broken_edit(tmp_path: Path, editor: dict[str, str]) -> None:
    enc = encrypted(tmp_path, editor)
    before = enc.read_bytes()
    result = run_encfile("edit", str(enc), env={**editor, "FAKE_EDIT": "break-twice"})
    assert result.returncode == 1 and result.stdout == b""
    assert "still does not parse" in result.stderr.decode()
    assert enc.read_bytes() == before
    assert all(not os.path.exists(str(e["path"])) for e in log_entries(editor))


def test_concurrent_change_is_not_overwritten(tmp_path: Path, editor: dict[str, str]) -> None:
    enc = encrypted(tmp_path, editor)
    result = run_encfile("edit", str(enc), env={**editor, "FAKE_EDIT": "race",
                                                "FAKE_OTHER": str(enc)})
    assert result.returncode == 1
    stderr = result.stderr.decode()
    assert "changed while it was being edited" in stderr
    assert enc.read_text().endswith("# someone else saved meanwhile\n")
    # the user's work is kept beside the file, encrypted (never in plaintext), and named
    (kept,) = tmp_path.glob("s.enc.yaml.conflict-*")
    assert f"'{kept}'" in stderr
    assert "mine" not in kept.read_text() and "ENC[AES256_GCM" in kept.read_text()
    assert kept.stat().st_mode & 0o777 == enc.stat().st_mode & 0o777
    shown = run_encfile("-d", "--input-type", "yaml", str(kept), env=editor)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.decode() == SECRET.replace("hunter2", "mine")


def test_edit_creates_a_new_file(tmp_path: Path, editor: dict[str, str]) -> None:
    target = tmp_path / "new.enc.env"
    result = run_encfile("edit", "--age", TEST_PUBLIC, str(target),
                         env={**editor, "FAKE_EDIT": "write", "FAKE_NEW": "TOKEN=abc\n"})
    assert result.returncode == 0, result.stderr
    assert "ENC[AES256_GCM" in target.read_text()
    assert encfile.decrypt(target.read_text(), format="dotenv",
                           identities=[TEST_SECRET]) == "TOKEN=abc\n"


def test_sigterm_removes_the_plaintext(tmp_path: Path, editor: dict[str, str]) -> None:
    enc = encrypted(tmp_path, editor)
    before = enc.read_bytes()
    result = run_encfile("edit", str(enc), env={**editor, "FAKE_EDIT": "sigterm"})
    assert result.returncode != 0
    assert enc.read_bytes() == before
    (entry,) = log_entries(editor)
    assert not os.path.exists(os.path.dirname(str(entry["path"])))


# -- quiet re-encryption ----------------------------------------------------------------------------

QUIET_CASES = [("yaml", "comments.yaml"), ("yaml", "anchors.yaml"), ("yaml", "multidoc.yaml"),
               ("json", "types.json"), ("dotenv", "app.env"), ("ini", "app.ini"),
               ("binary", "blob.bin")]


@pytest.mark.parametrize(("fmt", "name"), QUIET_CASES)
def test_reencrypting_unchanged_plaintext_keeps_every_token(fmt: str, name: str) -> None:
    text = (PLAIN / name).read_bytes().decode("utf-8", "surrogateescape")
    enc = encfile.encrypt(text, recipients=TEST_PUBLIC, format=fmt)
    opened = encfile.open_encrypted(enc, format=fmt, identities=[TEST_SECRET])
    again = opened.reencrypt(opened.text())
    assert not hasattr(opened, "key"), "the data key stays inside Opened"
    changed = changed_lines(enc, again)
    assert all(any(k in line for k in ("mac", "lastmodified", "encfile_layout"))
               for line in changed), changed
    assert encfile.decrypt(again, format=fmt, identities=[TEST_SECRET]) == text


def test_reuse_from_changes_only_the_edited_value(tmp_path: Path, env: dict[str, str]) -> None:
    enc = encrypted(tmp_path, env, text=(PLAIN / "app.env").read_text(), name="app.enc.env")
    edited = tmp_path / "app.env"
    edited.write_text((PLAIN / "app.env").read_text().replace("tok_123", "tok_456"))
    result = run_encfile("-e", "--reuse-from", str(enc), str(edited), env=env)
    assert result.returncode == 0, result.stderr
    changed = changed_lines(enc.read_text(), result.stdout.decode())
    keys = {line[1:].split("=")[0] for line in changed}
    assert keys == {"export API_TOKEN", "sops_mac", "sops_encfile_layout"} or \
        keys == {"export API_TOKEN", "sops_mac", "sops_encfile_layout", "sops_lastmodified"}
    assert "tok_456" in encfile.decrypt(result.stdout.decode(), format="dotenv",
                                        identities=[TEST_SECRET])


def test_reuse_from_refuses_new_keys(tmp_path: Path, env: dict[str, str]) -> None:
    enc = encrypted(tmp_path, env)
    plain = tmp_path / "p.yaml"
    plain.write_text(SECRET)
    result = run_encfile("-e", "--reuse-from", str(enc), "--age", TEST_PUBLIC, str(plain),
                         env=env)
    assert result.returncode == 8 and result.stdout == b""


def test_without_tmpfs_the_plaintext_needs_consent(monkeypatch: pytest.MonkeyPatch) -> None:
    """No memory file system: refused unless the user allows a temp file on disk."""
    monkeypatch.setattr(fsutil, "memory_folders", lambda: [])
    with pytest.raises(encfile.OutputError, match="no memory file system"), \
            fsutil.private_tempdir():
        pass
    with fsutil.private_tempdir(allow_disk=True) as folder:
        assert os.path.isdir(folder) and (os.stat(folder).st_mode & 0o777) == 0o700
    assert not os.path.exists(folder)


def test_a_comment_like_encfiles_error_lines_is_kept(tmp_path: Path,
                                                    editor: dict[str, str]) -> None:
    enc = encrypted(tmp_path, editor, text="# encfile: generated by the deploy tool\na: 1\n")
    before = enc.read_bytes()
    result = run_encfile("edit", str(enc), env=editor)
    assert result.returncode == 200, result.stderr  # sops's code, which helm-secrets passes on
    assert result.stderr.decode() == f"encfile: error: '{enc}' has not changed: nothing written\n"
    assert result.stdout == b""
    assert enc.read_bytes() == before


def test_a_file_alone_opens_the_editor_as_in_sops(tmp_path: Path,
                                                  editor: dict[str, str]) -> None:
    """`encfile FILE` is `encfile edit FILE`, sops's default mode; a new name creates it."""
    enc = encrypted(tmp_path, editor)
    result = run_encfile(str(enc), env={**editor, "FAKE_EDIT": "replace",
                                        "FAKE_OLD": "hunter2", "FAKE_NEW": "swordfish"})
    assert result.returncode == 0, result.stderr
    assert encfile.decrypt(enc.read_text(), identities=[TEST_SECRET]) == \
        SECRET.replace("hunter2", "swordfish")
    new = tmp_path / "fresh.enc.env"
    result = run_encfile(str(new), "--age", TEST_PUBLIC,
                         env={**editor, "FAKE_EDIT": "write", "FAKE_NEW": "TOKEN=abc\n"})
    assert result.returncode == 0, result.stderr
    assert encfile.decrypt(new.read_text(), format="dotenv",
                           identities=[TEST_SECRET]) == "TOKEN=abc\n"


def test_a_mistyped_command_is_not_taken_for_a_file(tmp_path: Path,
                                                    editor: dict[str, str]) -> None:
    result = run_encfile("stauts", env=editor, cwd=tmp_path)
    assert result.returncode == 1 and b"no such command" in result.stderr.lower()
    assert not (tmp_path / "stauts").exists() and not (tmp_path / "log").exists()
