# shellcheck shell=bash
# Sourced by scripts/install-test.sh: the head's apt repositories that its
# Pis install and upgrade piworker from, made by scripts/make-repo.sh (what
# `make repo` runs) and served over HTTP from the head's test address, and
# what a Pi does with them (README: "Installing from the head's
# repository"). Uses install-test.sh's inside, say, fail, ROOT, WORK,
# SERVED, REPO_URL, HEAD_IP and REPO_PORT; its cleanup stops HTTP_PID and
# removes $SERVED and $WORK/other-gnupg.

# make_repository NAME PACKAGE.deb... [-- ENV=VALUE...]: the repository at
# $SERVED/NAME, signed with the project key (made on first use in
# target/repo-gnupg, as `make repo` does). Run again, it adds packages.
make_repository() {
    local name=$1
    shift
    REPO_DIR=$SERVED/$name REPO_URL=$REPO_URL/$name/ bash "$ROOT/scripts/make-repo.sh" "$@" \
        >"$WORK/make-repo.$name.log" 2>&1 \
        || { cat "$WORK/make-repo.$name.log" >&2; fail "make-repo.sh could not make the repository $name"; }
}

# serve_repositories PACKAGE.deb: three repositories of the package, served
# from $REPO_URL: good/ (signed with the project key, whose public key the
# Pis trust), unsigned/ (the same without InRelease and Release.gpg), and
# otherkey/ (signed by another lab's key, given to make-repo.sh the way the
# README tells a lab to use its own key).
serve_repositories() {
    local deb=$1 other fpr
    rm -rf "$SERVED"
    mkdir -p "$SERVED"
    make_repository good "$deb"

    mkdir -p "$SERVED/unsigned"
    cp -a "$SERVED/good/." "$SERVED/unsigned/"
    rm "$SERVED/unsigned/dists/stable/InRelease" "$SERVED/unsigned/dists/stable/Release.gpg"
    sed -i "s|$REPO_URL/good/|$REPO_URL/unsigned/|" "$SERVED/unsigned/piworker.sources"

    other=$WORK/other-gnupg
    rm -rf "$other"
    mkdir -m 700 "$other"
    GNUPGHOME=$other gpg --batch --quiet --passphrase '' --quick-gen-key "another lab <other-lab@localhost>" ed25519 sign never \
        || fail "gpg could not make another lab's key"
    fpr=$(GNUPGHOME=$other gpg --batch --with-colons --list-secret-keys 2>/dev/null | awk -F: '$1 == "fpr" { print $10; exit }')
    OTHER_KEY_ID=${fpr: -16}
    GNUPGHOME=$other PIWORKER_REPO_KEY=$fpr make_repository otherkey "$deb"
    GNUPGHOME=$other gpgconf --kill gpg-agent

    # Only on the head's test address, only for this test's Pis.
    python3 -m http.server "$REPO_PORT" --bind "$HEAD_IP" --directory "$SERVED" >"$WORK/http.log" 2>&1 &
    HTTP_PID=$!
    for _ in $(seq 50); do
        (exec 3<>"/dev/tcp/$HEAD_IP/$REPO_PORT") 2>/dev/null && break
        sleep 0.1
    done
    (exec 3<>"/dev/tcp/$HEAD_IP/$REPO_PORT") 2>/dev/null || { cat "$WORK/http.log" >&2; fail "the repositories are not served"; }
    say "repositories served at $REPO_URL: good/ (project key), unsigned/, otherkey/ (key $OTHER_KEY_ID)"
}

# add_repository PI NAME: the two lines a Pi needs once, as in the README:
# the project's keyring into /usr/share/keyrings/ and the sources entry
# (deb822, Signed-By that keyring) of repository NAME, both fetched from the
# head, here with apt's own downloader (a minimal Debian has no curl).
add_repository() {
    local pi=$1 name=$2
    inside "$pi" /usr/lib/apt/apt-helper download-file "$REPO_URL/good/piworker-archive-keyring.gpg" \
        /usr/share/keyrings/piworker-archive-keyring.gpg >/dev/null 2>&1 || fail "$pi could not fetch the keyring"
    inside "$pi" /usr/lib/apt/apt-helper download-file "$REPO_URL/$name/piworker.sources" \
        /etc/apt/sources.list.d/piworker.sources >/dev/null 2>&1 || fail "$pi could not fetch $name/piworker.sources"
}

# apt_update PI: `apt-get update` on the Pi; its output in $APT_OUT, its
# status returned.
apt_update() {
    local status=0
    APT_OUT=$(inside "$1" apt-get update 2>&1) || status=$?
    return "$status"
}

# expect_refused PI NAME TEXT...: with repository NAME as its source, the
# Pi's apt refuses it, saying each TEXT, and cannot install piworker.
expect_refused() {
    local pi=$1 name=$2 text out
    shift 2
    add_repository "$pi" "$name"
    if apt_update "$pi"; then fail "apt-get update accepted the $name repository: $APT_OUT"; fi
    for text in "$@"; do
        grep -qF -- "$text" <<<"$APT_OUT" || fail "apt refused the $name repository without saying '$text': $APT_OUT"
    done
    if out=$(inside "$pi" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q piworker 2>&1); then
        fail "piworker installed from the $name repository: $out"
    fi
    grep -q "Unable to locate package piworker" <<<"$out" || fail "installing from $name failed otherwise: $out"
    say "$pi: apt refuses the $name repository: $(grep -m1 -F -- "$1" <<<"$APT_OUT")"
}

# install_from_repository PI: the refused repositories first, then the good
# one, and `apt install piworker` from it.
install_from_repository() {
    local pi=$1 policy
    expect_refused "$pi" unsigned "The repository '$REPO_URL/unsigned stable Release' is not signed."
    expect_refused "$pi" otherkey "NO_PUBKEY $OTHER_KEY_ID" "The repository '$REPO_URL/otherkey stable InRelease' is not signed."
    add_repository "$pi" good
    apt_update "$pi" || fail "apt-get update from the good repository failed: $APT_OUT"
    if grep -q "^W:" <<<"$APT_OUT"; then fail "apt-get update from the good repository warned: $APT_OUT"; fi
    inside "$pi" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q piworker >"$WORK/$pi.apt.log" 2>&1 \
        || { cat "$WORK/$pi.apt.log" >&2; fail "$pi: apt-get install piworker from the repository failed"; }
    policy=$(inside "$pi" apt-cache policy piworker)
    grep -qF "$REPO_URL/good stable/main amd64 Packages" <<<"$policy" \
        || fail "$pi: piworker did not come from the head's repository: $policy"
    say "$pi: apt install piworker from $REPO_URL/good/ ($(inside "$pi" dpkg-query -W -f='${Version}' piworker))"
}

# sysctl_values PI: "key = value" for each key of the package's sysctl
# snippet that the Pi's network namespace has (the others belong to the
# host's kernel, which a container cannot set).
sysctl_values() {
    local keys
    keys=$(sed -n 's/^\([a-z0-9_.]*\) *=.*/\1/p' "$ROOT/packaging/60-piworker.conf")
    # shellcheck disable=SC2016,SC2086
    inside "$1" sh -c 'for k; do f=/proc/sys/$(echo "$k" | tr . /); [ -e "$f" ] && echo "$k = $(tr -s "[:space:]" " " <"$f")"; done; true' sh $keys
}
