#!/bin/sh
# The cluster on one machine, every member on 127.0.0.1 with its own ports and folders
# under var/cluster/: 3 etcd members, 3 Patroni PostgreSQL members (synchronous
# replication), Redis master + replica + 3 sentinels, 2 `stemma serve` instances, and
# HAProxy in front of PostgreSQL's primary and of the instances.
#
#   deploy/cluster/cluster.sh start    (make cluster)       bring it up, migrate, demo
#   deploy/cluster/cluster.sh stop     (make cluster-stop)  stop every member
#   deploy/cluster/cluster.sh status                        who leads, who is up
#
# The ports (PORT_BASE 5440 by default) are listed in docs/cluster.md. Every process runs
# niced in a process group of its own, its id in var/cluster/run/<name>.pid.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/deploy/cluster"
CLUSTER_DIR=${CLUSTER_DIR:-$ROOT/var/cluster}
RUN="$CLUSTER_DIR/run"
STEMMA="$ROOT/.venv/bin/stemma"

# Ports: PostgreSQL behind HAProxy, the members, Patroni's REST, etcd, Redis, the web.
HAPROXY_PG_PORT=${HAPROXY_PG_PORT:-5440}
PG_PORTS="5441 5442 5443"
REST_PORTS="8741 8742 8743"
ETCD_CLIENT_PORTS="2479 2481 2483"
ETCD_PEER_PORTS="2480 2482 2484"
REDIS_MASTER_PORT=6390
REDIS_REPLICA_PORT=6391
SENTINEL_PORTS="26390 26391 26392"
HAPROXY_WEB_PORT=${HAPROXY_WEB_PORT:-8440}
HAPROXY_STATS_PORT=8444
WEB_PORTS="8441 8442"

nth() { echo "$2" | cut -d' ' -f$(($1 + 1)); }
log() { printf '%s cluster: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# PostgreSQL does not run as root: as root, its members run as the postgres user.
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Start "$@" niced, in a process group of its own, logging to $CLUSTER_DIR/log/$name.log.
spawn() {
    name=$1
    shift
    setsid nice -n 19 "$@" >>"$CLUSTER_DIR/log/$name.log" 2>&1 </dev/null &
    echo $! >"$RUN/$name.pid"
}

wait_for() {
    what=$1
    seconds=$2
    shift 2
    i=0
    until "$@" >/dev/null 2>&1; do
        i=$((i + 1))
        if [ "$i" -gt $((seconds * 2)) ]; then
            log "gave up waiting for $what (logs: $CLUSTER_DIR/log/)"
            return 1
        fi
        sleep 0.5
    done
}

secrets() {
    mkdir -p "$CLUSTER_DIR"
    if [ ! -f "$CLUSTER_DIR/secrets.env" ]; then
        umask 077
        {
            echo "SUPERUSER_PASSWORD=$(openssl rand -hex 16)"
            echo "REPLICATION_PASSWORD=$(openssl rand -hex 16)"
            echo "OWNER_PASSWORD=$(openssl rand -hex 16)"
            echo "APP_PASSWORD=$(openssl rand -hex 16)"
            echo "SECRET_KEY=$(openssl rand -hex 32)"
        } >"$CLUSTER_DIR/secrets.env"
        umask 022
    fi
    # shellcheck disable=SC1091
    . "$CLUSTER_DIR/secrets.env"
    export SUPERUSER_PASSWORD REPLICATION_PASSWORD OWNER_PASSWORD APP_PASSWORD SECRET_KEY
}

etcd_hosts() {
    hosts=""
    for port in $ETCD_CLIENT_PORTS; do hosts="$hosts,127.0.0.1:$port"; done
    echo "${hosts#,}"
}

start_etcd() {
    initial=""
    for n in 0 1 2; do initial="$initial,etcd$n=http://127.0.0.1:$(nth $n "$ETCD_PEER_PORTS")"; done
    for n in 0 1 2; do
        client="http://127.0.0.1:$(nth $n "$ETCD_CLIENT_PORTS")"
        peer="http://127.0.0.1:$(nth $n "$ETCD_PEER_PORTS")"
        spawn "etcd$n" etcd --name "etcd$n" --data-dir "$CLUSTER_DIR/etcd$n" \
            --listen-client-urls "$client" --advertise-client-urls "$client" \
            --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
            --initial-cluster "${initial#,}" --initial-cluster-token stemma-cluster \
            --initial-cluster-state new --log-level warn
    done
    wait_for "etcd" 60 etcdctl --endpoints="$(etcd_hosts)" endpoint health
}

start_patroni() {
    export ETCD_HOSTS CLUSTER_DIR
    ETCD_HOSTS=$(etcd_hosts)
    for n in 0 1 2; do
        member="$CLUSTER_DIR/pg$n"
        mkdir -p "$member/log"
        N=$n REST_PORT=$(nth $n "$REST_PORTS") PG_PORT=$(nth $n "$PG_PORTS") MEMBER_DIR=$member \
            envsubst <"$HERE/patroni.yml.in" >"$member/patroni.yml"
        chmod 700 "$member"
        [ "$(id -u)" -eq 0 ] && chown -R postgres: "$member"
        if [ "$(id -u)" -eq 0 ]; then
            spawn "pg$n" runuser -u postgres -- patroni "$member/patroni.yml"
        else
            spawn "pg$n" patroni "$member/patroni.yml"
        fi
    done
    wait_for "a PostgreSQL primary" 120 leader_port
}

# The port of the member Patroni calls the primary.
leader_port() {
    for n in 0 1 2; do
        if curl -sf -o /dev/null "http://127.0.0.1:$(nth $n "$REST_PORTS")/primary"; then
            nth $n "$PG_PORTS"
            return 0
        fi
    done
    return 1
}

pgbackrest_conf() {
    mkdir -p "$CLUSTER_DIR/pgbackrest/repo" "$CLUSTER_DIR/pgbackrest/log" "$CLUSTER_DIR/pgbackrest/spool"
    {
        echo "[global]"
        echo "repo1-path=$CLUSTER_DIR/pgbackrest/repo"
        echo "repo1-retention-full=2"
        echo "log-path=$CLUSTER_DIR/pgbackrest/log"
        echo "spool-path=$CLUSTER_DIR/pgbackrest/spool"
        echo "lock-path=$CLUSTER_DIR/pgbackrest/spool"
        echo "start-fast=y"
        echo "archive-async=n"
        echo
        echo "[stemma]"
        i=1
        for n in 0 1 2; do
            echo "pg$i-path=$CLUSTER_DIR/pg$n/data"
            echo "pg$i-port=$(nth $n "$PG_PORTS")"
            echo "pg$i-socket-path=$CLUSTER_DIR/pg$n"
            i=$((i + 1))
        done
    } >"$CLUSTER_DIR/pgbackrest.conf"
    [ "$(id -u)" -eq 0 ] && chown -R postgres: "$CLUSTER_DIR/pgbackrest" "$CLUSTER_DIR/pgbackrest.conf"
    return 0
}

# The database, the role that owns its tables (migrations) and the ordinary role the
# app serves as, which the row policies bind (README, "The database role").
make_database() {
    port=$(leader_port)
    sql() { as_pg psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres "$@"; }
    export PGPASSWORD="$SUPERUSER_PASSWORD"
    sql -d postgres <<SQL
SELECT 'CREATE ROLE stemma_owner LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'stemma_owner') \gexec
SELECT 'CREATE ROLE stemma_app LOGIN NOSUPERUSER NOBYPASSRLS' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'stemma_app') \gexec
ALTER ROLE stemma_owner PASSWORD '$OWNER_PASSWORD';
ALTER ROLE stemma_app PASSWORD '$APP_PASSWORD';
SELECT 'CREATE DATABASE stemma OWNER stemma_owner' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'stemma') \gexec
SQL
    sql -d stemma <<SQL
GRANT USAGE, CREATE ON SCHEMA public TO stemma_owner;
GRANT USAGE ON SCHEMA public TO stemma_app;
ALTER DEFAULT PRIVILEGES FOR ROLE stemma_owner IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO stemma_app;
ALTER DEFAULT PRIVILEGES FOR ROLE stemma_owner IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO stemma_app;
SQL
    unset PGPASSWORD
}

owner_url() { echo "postgresql+asyncpg://stemma_owner:$OWNER_PASSWORD@127.0.0.1:$HAPROXY_PG_PORT/stemma"; }
app_url() { echo "postgresql+asyncpg://stemma_app:$APP_PASSWORD@127.0.0.1:$HAPROXY_PG_PORT/stemma"; }
sentinel_url() {
    hosts=""
    for port in $SENTINEL_PORTS; do hosts="$hosts,127.0.0.1:$port"; done
    echo "redis+sentinel://${hosts#,}/stemma/0"
}

start_redis() {
    for role in master replica; do
        dir="$CLUSTER_DIR/redis-$role"
        mkdir -p "$dir"
        if [ "$role" = master ]; then port=$REDIS_MASTER_PORT replica_of=""; else
            port=$REDIS_REPLICA_PORT replica_of="replicaof 127.0.0.1 $REDIS_MASTER_PORT"
        fi
        PORT=$port DIR=$dir REPLICA_OF=$replica_of envsubst <"$HERE/redis.conf.in" >"$dir/redis.conf"
        spawn "redis-$role" redis-server "$dir/redis.conf"
    done
    wait_for "Redis" 30 redis-cli -p "$REDIS_MASTER_PORT" ping
    for n in 0 1 2; do
        dir="$CLUSTER_DIR/sentinel$n"
        mkdir -p "$dir"
        PORT=$(nth $n "$SENTINEL_PORTS") DIR=$dir MASTER_PORT=$REDIS_MASTER_PORT \
            envsubst <"$HERE/sentinel.conf.in" >"$dir/sentinel.conf"
        spawn "sentinel$n" redis-sentinel "$dir/sentinel.conf"
    done
    wait_for "the sentinels" 30 redis-cli -p "$(nth 0 "$SENTINEL_PORTS")" sentinel get-master-addr-by-name stemma
}

stemma_env() {
    export STEMMA_DATA_DIR="$CLUSTER_DIR/stemma" STEMMA_SECRET_KEY="$SECRET_KEY"
    export STEMMA_REDIS_URL
    STEMMA_REDIS_URL=$(sentinel_url)
    export STEMMA_BASE_URL="http://127.0.0.1:$HAPROXY_WEB_PORT"
}

migrate_and_demo() {
    stemma_env
    mkdir -p "$STEMMA_DATA_DIR"
    STEMMA_DATABASE_URL=$(owner_url) nice -n 19 "$STEMMA" migrate >&2
    if [ ! -f "$CLUSTER_DIR/stemma/.demo" ]; then
        STEMMA_DATABASE_URL=$(owner_url) STEMMA_ALLOW_PRIVILEGED_DATABASE_ROLE=true \
            nice -n 19 "$STEMMA" demo --election-day today >&2
        touch "$CLUSTER_DIR/stemma/.demo"
    fi
}

# Each instance runs under a loop that starts it again when it dies, as systemd's
# Restart=always would (docs/cluster.md has the unit).
start_web() {
    stemma_env
    export STEMMA_DATABASE_URL
    STEMMA_DATABASE_URL=$(app_url)
    for n in 0 1; do
        port=$(nth $n "$WEB_PORTS")
        spawn "web$n" sh -c "while :; do '$STEMMA' serve --host 127.0.0.1 --port $port --proxy; sleep 1; done"
    done
}

start_haproxy() {
    mkdir -p "$CLUSTER_DIR/haproxy"
    pg_servers="" web_servers=""
    for n in 0 1 2; do
        pg_servers="$pg_servers    server pg$n 127.0.0.1:$(nth $n "$PG_PORTS") check port $(nth $n "$REST_PORTS")
"
    done
    for n in 0 1; do
        web_servers="$web_servers    server web$n 127.0.0.1:$(nth $n "$WEB_PORTS") check
"
    done
    PG_SERVERS=$pg_servers WEB_SERVERS=$web_servers HAPROXY_PG_PORT=$HAPROXY_PG_PORT \
        HAPROXY_WEB_PORT=$HAPROXY_WEB_PORT HAPROXY_STATS_PORT=$HAPROXY_STATS_PORT \
        CLUSTER_DIR=$CLUSTER_DIR envsubst <"$HERE/haproxy.cfg.in" >"$CLUSTER_DIR/haproxy/haproxy.cfg"
    haproxy -c -q -f "$CLUSTER_DIR/haproxy/haproxy.cfg"
    spawn haproxy haproxy -db -f "$CLUSTER_DIR/haproxy/haproxy.cfg"
}

start() {
    sh "$ROOT/tools/install-cluster.sh"
    if [ -n "$(ls "$RUN" 2>/dev/null)" ]; then
        log "already running (make cluster-stop first)"
        exit 1
    fi
    mkdir -p "$CLUSTER_DIR/log" "$RUN"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$CLUSTER_DIR/log"
    secrets
    pgbackrest_conf
    log "etcd"
    start_etcd
    log "Patroni and PostgreSQL"
    start_patroni
    log "Redis and the sentinels"
    start_redis
    log "HAProxy"
    start_haproxy
    wait_for "PostgreSQL through HAProxy" 60 pg_isready -q -h 127.0.0.1 -p "$HAPROXY_PG_PORT"
    wait_for "a synchronous standby" 120 has_sync_standby
    make_database
    # The backup repository's stanza, so that the members' archive_command can push WAL.
    # A member still being cloned makes it fail: tried again a few times, and never fatal.
    for _try in 1 2 3 4 5; do
        as_pg pgbackrest --config="$CLUSTER_DIR/pgbackrest.conf" --stanza=stemma stanza-create \
            >>"$CLUSTER_DIR/log/pgbackrest.log" 2>&1 && break
        [ "$_try" = 5 ] && log "pgBackRest's stanza was not made: $CLUSTER_DIR/log/pgbackrest.log"
        sleep 5
    done
    log "migrations and the demo"
    migrate_and_demo
    log "two Stemma instances"
    start_web
    wait_for "Stemma through HAProxy" 120 curl -sf -o /dev/null "http://127.0.0.1:$HAPROXY_WEB_PORT/readyz"
    log "up: http://127.0.0.1:$HAPROXY_WEB_PORT (PostgreSQL primary on 127.0.0.1:$HAPROXY_PG_PORT)"
}

has_sync_standby() {
    curl -sf "http://127.0.0.1:$(nth 0 "$REST_PORTS")/cluster" | grep -q '"sync_standby"'
}

stop() {
    [ -d "$RUN" ] || return 0
    # The balancer and the instances first, PostgreSQL (Patroni stops it) before etcd.
    for name in haproxy web0 web1 sentinel0 sentinel1 sentinel2 redis-replica redis-master pg0 pg1 pg2; do
        stop_one "$name"
    done
    stop_postmasters_left
    for name in etcd0 etcd1 etcd2; do stop_one "$name"; done
    rm -rf "$RUN"
}

# A postmaster Patroni started again after it was killed (the fault drill) runs outside
# Patroni's process group, so stopping Patroni leaves it running on its port: stopped
# here (SIGINT, PostgreSQL's fast shutdown), killed when it does not stop in 30 s.
stop_postmasters_left() {
    for n in 0 1 2; do
        file="$CLUSTER_DIR/pg$n/data/postmaster.pid"
        [ -f "$file" ] || continue
        pid=$(head -n 1 "$file")
        kill -0 "$pid" 2>/dev/null || continue
        kill -INT "$pid" 2>/dev/null || true
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 60 ]; do
            sleep 0.5
            i=$((i + 1))
        done
        kill -KILL "$pid" 2>/dev/null || true
    done
}

stop_one() {
    file="$RUN/$1.pid"
    [ -f "$file" ] || return 0
    pid=$(cat "$file")
    kill -TERM "-$pid" 2>/dev/null || true
    i=0
    while kill -0 "-$pid" 2>/dev/null && [ $i -lt 60 ]; do
        sleep 0.5
        i=$((i + 1))
    done
    kill -KILL "-$pid" 2>/dev/null || true
    rm -f "$file"
}

# Start again the Redis members that died (Sentinel makes a returning master a replica);
# Patroni brings back its own PostgreSQL, and each instance's loop its `stemma serve`.
revive() {
    for name in redis-master redis-replica sentinel0 sentinel1 sentinel2; do
        file="$RUN/$name.pid"
        if [ -f "$file" ] && ! kill -0 "$(cat "$file")" 2>/dev/null; then
            log "starting $name again"
            case $name in
            redis-*) spawn "$name" redis-server "$CLUSTER_DIR/$name/redis.conf" ;;
            sentinel*) spawn "$name" redis-sentinel "$CLUSTER_DIR/$name/sentinel.conf" ;;
            esac
        fi
    done
}

status() {
    for n in 0 1 2; do
        printf 'pg%s: ' "$n"
        curl -s "http://127.0.0.1:$(nth $n "$REST_PORTS")/patroni" | tr -d '\n' | cut -c1-120 || true
        echo
    done
    printf 'redis master: '
    redis-cli -p "$(nth 0 "$SENTINEL_PORTS")" sentinel get-master-addr-by-name stemma | tr '\n' ' '
    echo
    printf 'readyz: '
    curl -s "http://127.0.0.1:$HAPROXY_WEB_PORT/readyz" || true
    echo
}

case "${1:-}" in
start) start ;;
stop) stop ;;
restart) stop && start ;;
status) status ;;
# For the drill: the URLs and ports, as shell assignments.
env)
    secrets
    echo "OWNER_URL=$(owner_url)"
    echo "APP_URL=$(app_url)"
    echo "REDIS_URL=$(sentinel_url)"
    echo "WEB_URL=http://127.0.0.1:$HAPROXY_WEB_PORT"
    echo "REST_PORTS='$REST_PORTS'"
    echo "PG_PORTS='$PG_PORTS'"
    echo "SENTINEL_PORTS='$SENTINEL_PORTS'"
    echo "WEB_PORTS='$WEB_PORTS'"
    echo "RUN=$RUN"
    echo "CLUSTER_DIR=$CLUSTER_DIR"
    echo "REDIS_MASTER_PORT=$REDIS_MASTER_PORT"
    ;;
revive) revive ;;
# HAProxy again, with its configuration written anew from haproxy.cfg.in.
balancer)
    stop_one haproxy
    start_haproxy
    ;;
*)
    echo "usage: $0 start|stop|restart|status|revive|balancer|env" >&2
    exit 2
    ;;
esac
