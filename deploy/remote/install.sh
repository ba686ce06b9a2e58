#!/bin/sh
# install.sh: installs hermes-remote on this host, as root. Running it again changes nothing
# that is already in place; it prints what it did with each part.
#
#   sh install.sh --read-key FILE --write-key FILE [--user NAME] [--config FILE]
#                 [--root DIR] [--authorized-keys FILE]
#
#   --read-key, --write-key  Hermes' two public keys (.pub files; triage's and the executor's)
#   --user                   the login user Hermes connects as (default hermes; created if missing)
#   --config                 the config to install as /etc/hermes/remote.conf. Without it an
#                            existing config is kept and a new host gets remote.conf.example
#   --root                   install the helper and config under DIR instead of / (images, tests)
#   --authorized-keys        the key file sshd reads for the user (default ~USER/.ssh/authorized_keys)
#
# Installs, root-owned: the helper (DIR/usr/local/lib/hermes/hermes-remote), the config
# (DIR/etc/hermes/remote.conf), the request log file the config names (owned by the user), and
# both keys in authorized_keys, each locked into the helper with restrict,command="…". Other
# lines of authorized_keys are left alone; an older line for either key is replaced.
# Checks the config with the helper itself and the keys with ssh-keygen before changing anything.

set -eu
umask 022
PROG=install.sh
HERE=$(cd "$(dirname "$0")" && pwd -P)

fail() {
  printf '%s: %s\n' "$PROG" "$*" >&2
  exit 1
}
say() { printf '%s: %s\n' "$PROG" "$*"; }

READ_KEY= WRITE_KEY= USER_NAME=hermes CONFIG_SRC= ROOT= AUTH_KEYS=
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || fail "$1 needs a value (see the top of install.sh)"
  case $1 in
  --read-key) READ_KEY=$2 ;;
  --write-key) WRITE_KEY=$2 ;;
  --user) USER_NAME=$2 ;;
  --config) CONFIG_SRC=$2 ;;
  --root) ROOT=${2%/} ;;
  --authorized-keys) AUTH_KEYS=$2 ;;
  *) fail "unknown option $1 (see the top of install.sh)" ;;
  esac
  shift 2
done
[ -n "$READ_KEY" ] && [ -n "$WRITE_KEY" ] || fail "--read-key and --write-key are required"
[ "$(id -u)" = 0 ] || fail "run it as root (it installs root-owned files)"
case $USER_NAME in
'' | -* | *[!A-Za-z0-9_.-]*) fail "bad user name $USER_NAME" ;;
esac
case $ROOT in
'' | /*) ;;
*) fail "--root must be an absolute path" ;;
esac

HELPER_SRC=$HERE/hermes-remote
[ -f "$HELPER_SRC" ] || fail "hermes-remote is missing next to install.sh ($HELPER_SRC)"
HELPER=$ROOT/usr/local/lib/hermes/hermes-remote
CONFIG=$ROOT/etc/hermes/remote.conf
case $HELPER in
*[!A-Za-z0-9_./-]*) fail "--root must be a plain path (letters, digits, _ . / -): it goes into the forced command" ;;
esac

# --- checks, before anything changes -------------------------------------------------------

# key_line FILE: the key of a one-key .pub file as "type base64 comment", checked by ssh-keygen.
key_line() {
  [ -f "$1" ] || fail "no such public key file $1"
  ssh-keygen -l -f "$1" >/dev/null 2>&1 || fail "$1 is not a public key (ssh-keygen -l refuses it)"
  [ "$(grep -c . "$1")" = 1 ] || fail "$1 must hold exactly one key"
  set -f
  # shellcheck disable=SC2046 # split the key line into its words on purpose
  set -- $(cat "$1")
  set +f
  case $1 in
  ssh-* | ecdsa-* | sk-*) ;;
  *) fail "$1 does not start with a key type (options are written by install.sh)" ;;
  esac
  printf '%s %s %s\n' "$1" "$2" "${3:-hermes}"
}
READ_LINE=$(key_line "$READ_KEY")
WRITE_LINE=$(key_line "$WRITE_KEY")
read_blob=$(echo "$READ_LINE" | cut -d' ' -f2)
write_blob=$(echo "$WRITE_LINE" | cut -d' ' -f2)
[ "$read_blob" != "$write_blob" ] ||
  fail "the read and write keys are the same key: triage would be able to restart and delete"

NEW_CONFIG=${CONFIG_SRC:-$HERE/remote.conf.example}
[ -f "$NEW_CONFIG" ] || fail "no such config $NEW_CONFIG"
sh "$HELPER_SRC" --config "$NEW_CONFIG" check >/dev/null || fail "config $NEW_CONFIG is refused (above)"

# --- the user --------------------------------------------------------------------------------

if ! id "$USER_NAME" >/dev/null 2>&1; then
  [ -z "$ROOT" ] || fail "user $USER_NAME does not exist (with --root, create it first)"
  if command -v useradd >/dev/null 2>&1; then
    useradd --system --create-home --shell /bin/sh "$USER_NAME"
  else
    adduser -S -D -s /bin/sh "$USER_NAME" # busybox (Alpine)
  fi
  for group in systemd-journal adm; do
    if grep -q "^$group:" /etc/group; then
      if command -v usermod >/dev/null 2>&1; then usermod -aG "$group" "$USER_NAME"; else addgroup "$USER_NAME" "$group"; fi
      break
    fi
  done
  say "user $USER_NAME: created (login shell /bin/sh, so sshd can run the forced command)"
else
  say "user $USER_NAME: exists"
fi
USER_HOME=$(getent passwd "$USER_NAME" | cut -d: -f6)
[ -n "$AUTH_KEYS" ] || AUTH_KEYS=$USER_HOME/.ssh/authorized_keys
GROUP=$(id -gn "$USER_NAME")

# --- files -----------------------------------------------------------------------------------

# place SRC DEST MODE WHAT: installs SRC as DEST (root-owned) unless it is already the same.
place() {
  if [ -f "$2" ] && cmp -s "$1" "$2"; then
    _state=unchanged
  else
    [ -e "$2" ] && _state=updated || _state=installed
    install -d -o root -g 0 -m 0755 "$(dirname "$2")"
    install -o root -g 0 -m "$3" "$1" "$2"
  fi
  # Ownership and mode are part of what "in place" means.
  chown root:0 "$2"
  chmod "$3" "$2"
  say "$4 $2: $_state"
}

place "$HELPER_SRC" "$HELPER" 0755 helper
if [ -z "$CONFIG_SRC" ] && [ -f "$CONFIG" ]; then
  sh "$HELPER" --config "$CONFIG" check >/dev/null || fail "the config in place, $CONFIG, is refused (above)"
  say "config $CONFIG: kept (--config FILE replaces it)"
else
  place "$NEW_CONFIG" "$CONFIG" 0644 config
fi

# The request log file the config names: the helper runs as the user and appends to it.
LOG=$(sed -n 's/^[[:space:]]*request_log[[:space:]]*=[[:space:]]*\(.*[^[:space:]]\)[[:space:]]*$/\1/p' "$CONFIG" | tail -n 1)
case $LOG in
'' | syslog) say "request log: syslog (logger -t hermes-remote)" ;;
*)
  if [ -f "$LOG" ]; then
    say "request log $LOG: exists"
  else
    install -d -o root -g 0 -m 0755 "$(dirname "$LOG")"
    : >"$LOG"
    say "request log $LOG: created"
  fi
  chown "$USER_NAME:$GROUP" "$LOG"
  chmod 0640 "$LOG"
  ;;
esac

# --- authorized_keys -------------------------------------------------------------------------

forced() { # mode key-line
  printf 'restrict,command="%s --config %s %s" %s\n' "$HELPER" "$CONFIG" "$1" "$2"
}
WANT_READ=$(forced read "$READ_LINE")
WANT_WRITE=$(forced write "$WRITE_LINE")

install -d -o root -g 0 -m 0755 "$(dirname "$AUTH_KEYS")"
[ -f "$AUTH_KEYS" ] || : >"$AUTH_KEYS"
NEW_KEYS=$(mktemp)
trap 'rm -f "$NEW_KEYS"' EXIT
# Every other line stays as it is; a line for either key is replaced by the wanted one.
awk -v r=" $read_blob" -v w=" $write_blob" 'index($0 " ", r " ") == 0 && index($0 " ", w " ") == 0' \
  "$AUTH_KEYS" >"$NEW_KEYS"
printf '%s\n%s\n' "$WANT_READ" "$WANT_WRITE" >>"$NEW_KEYS"
if cmp -s "$NEW_KEYS" "$AUTH_KEYS"; then
  _state=unchanged
elif grep -q -F " $read_blob" "$AUTH_KEYS" || grep -q -F " $write_blob" "$AUTH_KEYS"; then
  _state=updated
else
  _state=installed
fi
ssh-keygen -l -f "$NEW_KEYS" >/dev/null 2>&1 || fail "the new $AUTH_KEYS would not parse; nothing changed"
[ "$_state" = unchanged ] || cat "$NEW_KEYS" >"$AUTH_KEYS"
chown root:0 "$AUTH_KEYS"
chmod 0644 "$AUTH_KEYS"
say "read and write keys in $AUTH_KEYS: $_state (restrict, forced into $HELPER)"

sh "$HELPER" --config "$CONFIG" check >/dev/null
say "done: try  ssh -i <read key> $USER_NAME@<this host> resources"
