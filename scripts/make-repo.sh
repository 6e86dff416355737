#!/usr/bin/env bash
# `make repo`: a signed apt repository in target/repo/ that the head serves
# to its Pis, so that each Pi gets piworker with `apt install piworker` and
# newer builds with `apt upgrade` (README: "Installing from the head's
# repository"). Debian's own tools only: apt-ftparchive (apt-utils) writes
# the indexes, gpg signs them.
#
# Layout (what a Pi's sources entry names: URIs .../, Suites stable,
# Components main):
#   pool/main/piworker_VERSION_ARCH.deb     every package given, kept across runs
#   dists/stable/main/binary-ARCH/Packages{,.gz}
#   dists/stable/{Release,InRelease,Release.gpg}
#   piworker-archive-keyring.gpg            the public key, binary, for
#                                           /usr/share/keyrings/ (signed-by=)
#   piworker-archive-keyring.asc            the same key, armored
#   piworker.sources                        the Pi's sources.list.d entry
#
# The signing key: by default a project key made on first use in
# target/repo-gnupg/ (outside the served directory: it holds the secret
# key). A lab signs with its own key instead by naming it:
#   PIWORKER_REPO_KEY=FINGERPRINT [GNUPGHOME=DIR] make repo
# (without GNUPGHOME, gpg's usual ~/.gnupg is used).
#
# Environment: REPO_DIR (default target/repo), REPO_URL (what
# piworker.sources points at; default http://HOSTNAME:8000/, as served by
# `python3 -m http.server 8000 -d target/repo`).
# Usage: scripts/make-repo.sh [PACKAGE.deb...]
#   With no package, the amd64, arm64 and armhf packages of the version at
#   the top of packaging/debian/changelog, from target/debian/ (make debs).
# Running it again gives the same repository plus whatever new packages
# were given; the indexes and signatures are made anew each time.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
REPO_DIR=${REPO_DIR:-$ROOT/target/repo}
REPO_URL=${REPO_URL:-http://$(hostname):8000/}
SUITE=stable
COMPONENT=main
ARCHES=(amd64 arm64 armhf)
# The uid of the key made on first use; how the script finds it again.
PROJECT_UID="piworker apt repository (made by make repo) <piworker-repo@localhost>"

die() { echo "make-repo: $*" >&2; exit 1; }

command -v gpg >/dev/null || die "gpg is missing: apt-get install gnupg (or make build-deps)"
command -v apt-ftparchive >/dev/null \
    || die "apt-ftparchive is missing: apt-get install apt-utils (or make build-deps)"

if [ $# -gt 0 ]; then
    debs=("$@")
else
    version=$(dpkg-parsechangelog -l "$ROOT/packaging/debian/changelog" -S Version)
    debs=()
    for arch in "${ARCHES[@]}"; do
        debs+=("$ROOT/target/debian/piworker_${version}_$arch.deb")
    done
fi
for deb in "${debs[@]}"; do
    [ -f "$deb" ] || die "$deb: no such package: build the packages first (make debs)"
    dpkg-deb -f "$deb" Package >/dev/null 2>&1 || die "$deb: not a Debian package"
done

# --- the signing key ---
if [ -n "${PIWORKER_REPO_KEY:-}" ]; then
    key=$PIWORKER_REPO_KEY
    gpg --batch --list-secret-keys "$key" >/dev/null 2>&1 \
        || die "PIWORKER_REPO_KEY=$key: no secret key of that name in ${GNUPGHOME:-~/.gnupg} (set GNUPGHOME to the directory that holds it)"
else
    export GNUPGHOME=$ROOT/target/repo-gnupg
    mkdir -p "$GNUPGHOME"
    chmod 700 "$GNUPGHOME"
    if ! gpg --batch --list-secret-keys "=$PROJECT_UID" >/dev/null 2>&1; then
        echo "make-repo: making the project's signing key in $GNUPGHOME (once)"
        gpg --batch --quiet --passphrase '' --quick-gen-key "$PROJECT_UID" ed25519 sign never \
            || die "gpg could not make a key in $GNUPGHOME"
    fi
    key="=$PROJECT_UID"
fi
# The fingerprint, so that every later step names exactly one key.
fingerprint=$(gpg --batch --with-colons --list-secret-keys "$key" 2>/dev/null | awk -F: '$1 == "fpr" { print $10; exit }')
[ -n "$fingerprint" ] || die "could not read the fingerprint of $key"
# Our own agent (the project key's GNUPGHOME) goes when we are done.
trap '[ -n "${PIWORKER_REPO_KEY:-}" ] || gpgconf --kill gpg-agent 2>/dev/null || true' EXIT

# --- packages into the pool ---
pool=$REPO_DIR/pool/$COMPONENT
mkdir -p "$pool"
for deb in "${debs[@]}"; do
    name=$(dpkg-deb -f "$deb" Package)_$(dpkg-deb -f "$deb" Version)_$(dpkg-deb -f "$deb" Architecture).deb
    # Same name, other bytes: apt would refuse the file (its hash changed
    # under a version it already knows), so say so rather than replace it.
    if [ -f "$pool/$name" ] && ! cmp -s "$deb" "$pool/$name"; then
        echo "make-repo: replacing $name in the pool with different bytes of the same version:" \
             "Pis that already have it keep theirs (bump the version to reach them)" >&2
    fi
    cp "$deb" "$pool/$name"
done

# --- indexes and the signed Release ---
cd "$REPO_DIR"
rm -rf "dists/$SUITE"
for arch in "${ARCHES[@]}"; do
    dir=dists/$SUITE/$COMPONENT/binary-$arch
    mkdir -p "$dir"
    apt-ftparchive --arch "$arch" packages "pool/$COMPONENT" >"$dir/Packages"
    gzip -9n <"$dir/Packages" >"$dir/Packages.gz"
done
apt-ftparchive \
    -o APT::FTPArchive::Release::Origin=piworker \
    -o APT::FTPArchive::Release::Label=piworker \
    -o APT::FTPArchive::Release::Suite=$SUITE \
    -o APT::FTPArchive::Release::Codename=$SUITE \
    -o "APT::FTPArchive::Release::Architectures=${ARCHES[*]}" \
    -o APT::FTPArchive::Release::Components=$COMPONENT \
    -o "APT::FTPArchive::Release::Description=piworker packages built by make repo" \
    release "dists/$SUITE" >Release.tmp
mv Release.tmp "dists/$SUITE/Release"
# SHA-512: apt refuses signatures made with SHA-1.
gpg --batch --yes --quiet --local-user "$fingerprint" --digest-algo SHA512 \
    --clearsign -o "dists/$SUITE/InRelease" "dists/$SUITE/Release"
gpg --batch --yes --quiet --local-user "$fingerprint" --digest-algo SHA512 \
    --armor --detach-sign -o "dists/$SUITE/Release.gpg" "dists/$SUITE/Release"

# --- what a Pi needs once ---
gpg --batch --yes --export "$fingerprint" >piworker-archive-keyring.gpg
gpg --batch --yes --armor --export "$fingerprint" >piworker-archive-keyring.asc
cat >piworker.sources <<EOF
Types: deb
URIs: $REPO_URL
Suites: $SUITE
Components: $COMPONENT
Signed-By: /usr/share/keyrings/piworker-archive-keyring.gpg
EOF

echo "make-repo: $REPO_DIR signed by $fingerprint:"
for arch in "${ARCHES[@]}"; do
    echo "  $arch: $(awk '/^Version:/ { printf "%s%s", sep, $2; sep=" " }' "dists/$SUITE/$COMPONENT/binary-$arch/Packages")"
done
echo "Serve it with: python3 -m http.server 8000 --directory $REPO_DIR"
