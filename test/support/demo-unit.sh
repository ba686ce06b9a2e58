#!/bin/sh
# demo-unit.sh: a tiny service manager for the observable demo units of the SSH test hosts
# (test/support/ssh-hosts.ts). hermes-remote runs it through the host's remote.conf:
#
#   demo-unit.sh DIR restart UNIT   appends a line to DIR/UNIT.restarts (every attempt), then
#                                   - if DIR/UNIT.fail-restart exists: writes DIR/UNIT.state
#                                     = failed, logs "ERROR UNIT failed to start", prints
#                                     "ERROR UNIT failed to start" on stderr and exits 1;
#                                   - else: DIR/UNIT.state = running, logs "INFO UNIT restarted".
#   demo-unit.sh DIR reload UNIT    appends a line to DIR/UNIT.reloads, logs "INFO UNIT reloaded".
#   demo-unit.sh DIR status UNIT    prints the state (stopped if there is none); exits 3 unless
#                                   it is running.
#   demo-unit.sh DIR state UNIT     prints the state as `systemctl show` would: ActiveState=,
#                                   NRestarts= (restart attempts) and ExecMainStatus= (the last
#                                   restart's exit status, once there was one).
#
# Log lines go to DIR/UNIT.log as "<ISO time> LEVEL UNIT message". A UNIT that does not match
# ^[A-Za-z0-9][A-Za-z0-9_.:@-]*$ is refused with exit status 2 (so is a bad usage).

set -u

usage() {
  echo "usage: demo-unit.sh DIR restart|reload|status|state UNIT" >&2
  exit 2
}

[ $# -eq 3 ] || usage
DIR=$1
ACTION=$2
UNIT=$3

case $UNIT in
'' | [!A-Za-z0-9]* | *[!A-Za-z0-9_.:@-]*)
  echo "demo-unit: bad unit name" >&2
  exit 2
  ;;
esac
[ -d "$DIR" ] || {
  echo "demo-unit: no such directory: $DIR" >&2
  exit 2
}

now() { date -u +%Y-%m-%dT%H:%M:%SZ; }

log() { # LEVEL message
  printf '%s %s %s %s\n' "$(now)" "$1" "$UNIT" "$2" >>"$DIR/$UNIT.log"
}

set_state() {
  printf '%s\n' "$1" >"$DIR/$UNIT.state.tmp.$$" && mv -f "$DIR/$UNIT.state.tmp.$$" "$DIR/$UNIT.state"
}

case $ACTION in
restart)
  if [ -e "$DIR/$UNIT.fail-restart" ]; then
    printf '%s failed\n' "$(now)" >>"$DIR/$UNIT.restarts"
    set_state failed
    echo 1 >"$DIR/$UNIT.exit"
    log ERROR "failed to start"
    echo "ERROR $UNIT failed to start" >&2
    exit 1
  fi
  printf '%s ok\n' "$(now)" >>"$DIR/$UNIT.restarts"
  set_state running
  echo 0 >"$DIR/$UNIT.exit"
  log INFO restarted
  ;;
reload)
  printf '%s ok\n' "$(now)" >>"$DIR/$UNIT.reloads"
  log INFO reloaded
  ;;
state)
  STATE=stopped
  [ -f "$DIR/$UNIT.state" ] && IFS= read -r STATE <"$DIR/$UNIT.state"
  printf 'ActiveState=%s\n' "${STATE:-stopped}"
  RESTARTS=0
  [ -f "$DIR/$UNIT.restarts" ] && RESTARTS=$(wc -l <"$DIR/$UNIT.restarts")
  printf 'NRestarts=%s\n' $RESTARTS
  [ -f "$DIR/$UNIT.exit" ] && printf 'ExecMainStatus=%s\n' "$(cat "$DIR/$UNIT.exit")"
  ;;
status)
  STATE=stopped
  if [ -f "$DIR/$UNIT.state" ]; then
    IFS= read -r STATE <"$DIR/$UNIT.state" || [ -n "$STATE" ] || STATE=stopped
  fi
  [ -n "$STATE" ] || STATE=stopped
  printf '%s\n' "$STATE"
  [ "$STATE" = running ] || exit 3
  ;;
*) usage ;;
esac
exit 0
