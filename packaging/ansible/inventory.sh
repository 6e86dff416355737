#!/bin/sh
# Ansible dynamic inventory: the Pis pisubmit would use, expanded by
# pisubmit's own host-spec parser (`pisubmit hosts --ansible`), so the
# playbook and pisubmit never disagree about a range.
#
#   PISUBMIT_HOSTS='192.168.{4..67}.{1..3}' ansible-playbook -i inventory.sh site.yml
#   ansible-playbook -i inventory.sh site.yml     # reads pi_list.txt beside this script
#
# Hosts: $PISUBMIT_HOSTS (any --hosts SPEC: pi[01-04], 10.0.0.{11..14},
# @FILE), else the file pi_list.txt next to this script (one host per line,
# # comments, ranges too). Every host is in the group "piworkers", with its
# port (from host:port, default 31415) as piworker_port. pisubmit is
# $PISUBMIT if set, else the one on PATH.
set -eu

case "${1:-}" in
    --list) ;;
    # Unused: the --list answer carries every host's variables (_meta).
    --host) echo '{}'; exit 0 ;;
    *) echo "usage: $0 --list | --host NAME (an Ansible inventory script)" >&2; exit 2 ;;
esac

spec=${PISUBMIT_HOSTS:-}
if [ -z "$spec" ]; then
    list=$(dirname "$0")/pi_list.txt
    [ -f "$list" ] || {
        echo "inventory.sh: no hosts: set PISUBMIT_HOSTS (e.g. '192.168.{4..67}.{1..3}') or write $list" >&2
        exit 2
    }
    spec=@$list
fi
exec "${PISUBMIT:-pisubmit}" --hosts "$spec" hosts --ansible
