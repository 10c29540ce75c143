#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests, on loopback, in a temporary folder.
#
#   scripts/postgres.sh install        # apt-get install Debian's postgresql if missing (needs root)
#   scripts/postgres.sh start DIR      # initdb + start in DIR; prints the URI on stdout
#   scripts/postgres.sh stop DIR       # stop the server started in DIR (and remove DIR)
#
# As root, the server runs as the 'postgres' system user (initdb refuses root).
set -euo pipefail

find_bin() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [[ -x "$d/initdb" && -x "$d/pg_ctl" ]]; then echo "$d"; return 0; fi
  done
  return 1
}

as_owner() {  # run a command as the owner of the cluster
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

cmd=${1:-}
case "$cmd" in
  install)
    if find_bin >/dev/null; then exit 0; fi
    as_root=()
    if [[ $(id -u) -ne 0 ]]; then
      if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        as_root=(sudo -n)
      else
        echo "postgres.sh: installing Debian's postgresql needs root; the SQL ingest tests will fail until it is installed" >&2
        # CI must have it; a developer without root still gets the rest of the suite.
        [[ -n "${CI:-}" ]] && exit 1
        exit 0
      fi
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${as_root[@]}" apt-get update -qq >&2
    "${as_root[@]}" apt-get install -y -qq postgresql >&2
    find_bin >/dev/null || { echo "postgres.sh: postgresql installed but initdb not found" >&2; exit 1; }
    ;;
  start)
    dir=${2:?usage: postgres.sh start DIR}
    bin=$(find_bin) || { echo "postgres.sh: PostgreSQL not installed (run: scripts/postgres.sh install)" >&2; exit 1; }
    mkdir -p "$dir"
    # The cluster lives in its own folder under /tmp: as root it must be reachable by 'postgres'.
    cluster=$(mktemp -d "${TMPDIR:-/tmp}/decision-stack-pg.XXXXXX")
    echo "$cluster" >"$dir/cluster"
    if [[ $(id -u) -eq 0 ]]; then chown postgres "$cluster"; fi
    chmod 700 "$cluster"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    as_owner "$bin/initdb" -D "$cluster/data" -U test --auth=trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    as_owner "$bin/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $cluster -c fsync=off -c full_page_writes=off" start >&2 \
      || { cat "$cluster/server.log" >&2; exit 1; }
    echo "$port" >"$dir/port"
    echo "postgresql://test@127.0.0.1:$port/postgres"
    ;;
  stop)
    dir=${2:?usage: postgres.sh stop DIR}
    cluster=$(cat "$dir/cluster" 2>/dev/null || true)
    bin=$(find_bin) || exit 0
    if [[ -n "$cluster" && -d "$cluster/data" ]]; then
      as_owner "$bin/pg_ctl" -D "$cluster/data" -m immediate -w stop >&2 || true
    fi
    if [[ -n "$cluster" ]]; then rm -rf "$cluster"; fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 install | start DIR | stop DIR" >&2
    exit 2
    ;;
esac
