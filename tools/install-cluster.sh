#!/bin/sh
# Debian's packages for the cluster on one machine (`make cluster`): Patroni, etcd,
# HAProxy, pgBackRest and Redis Sentinel. Only what is missing is installed, and no
# package's own service is started: the cluster's members run under var/cluster/,
# started by deploy/cluster/cluster.sh, never by the system's init.
set -eu

need=""
command -v patroni >/dev/null || need="$need patroni"
command -v etcd >/dev/null || need="$need etcd-server etcd-client"
command -v haproxy >/dev/null || need="$need haproxy"
command -v pgbackrest >/dev/null || need="$need pgbackrest"
command -v redis-sentinel >/dev/null || need="$need redis-sentinel"
test -x /usr/lib/postgresql/15/bin/postgres || need="$need postgresql-15"
[ -z "$need" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "Missing:$need. Run as root: sudo sh $0" >&2
    exit 1
fi
# A policy that forbids starting services keeps the packages' own units down.
policy=/usr/sbin/policy-rc.d
made_policy=""
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    made_policy=1
fi
trap '[ -n "$made_policy" ] && rm -f "$policy"' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $need
