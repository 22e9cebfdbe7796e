#!/usr/bin/env bash
# `pipgate run` started as root binds its ports, gives its data dir to [appliance] user, and runs
# as that user keeping only CAP_NET_BIND_SERVICE: pipgate-dns, restarted by the supervisor after
# a kill, binds its privileged port again without root; the CA key stays readable only by it.
# usage: privileges_test.sh PIPGATE PIPGATE_DNS
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../lib.sh"
pipgate="$1"
pipgate_dns="$2"
if [ "$(id -u)" != 0 ]; then echo "skipped: needs root"; exit 77; fi
cd "$WORK"
chmod 755 "$WORK"  # the service user must reach the data dir below it

# A privileged DNS port nobody else uses here: binding it needs root or the capability.
dns_port=153
https_port="$(free_port)"
web_port="$(free_port)"
pipgate_config cfg.toml "$WORK/data" "127.0.0.1:$dns_port" "127.0.0.1:$https_port" \
  "127.0.0.1:$web_port" 'user = "nobody"' 
"$pipgate" run --config cfg.toml --dns-executable "$pipgate_dns" >run.log 2>&1 &
PID=$!
PIDS+=("$PID")
dns_answers() {
  [ "$(dig +short +time=1 +tries=1 @127.0.0.1 -p "$dns_port" pypi.org A 2>/dev/null)" = "192.0.2.10" ]
}
field() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$2/status"; }
nobody_uid="$(id -u nobody)"

expect "pipgate runs" wait_until 20 grep -q "pipgate is running" run.log
expect "it says it runs as nobody" grep -q "running as user nobody" run.log
expect "pipgate's uid is nobody's" test "$(field Uid "$PID")" = "$nobody_uid"
expect "pipgate keeps only CAP_NET_BIND_SERVICE" test "$(field CapEff "$PID")" = 0000000000000400
expect "pipgate-dns answers on its privileged port" wait_until 20 dns_answers
child="$(pgrep -P "$PID" -f pipgate-dns | head -1)"
expect "pipgate-dns runs as nobody" test "$(field Uid "${child:-0}" 2>/dev/null)" = "$nobody_uid"
expect "the CA key belongs to nobody, mode 600" \
  test "$(stat -c '%U %a' data/ca/ca.key)" = "nobody 600"
expect "the cache belongs to nobody" test "$(stat -c %U data/cache)" = nobody
code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 --cacert data/ca/ca.pem \
  --resolve "pypi.org:$https_port:127.0.0.1" "https://pypi.org:$https_port/simple/")"
expect "the proxy still answers after the drop ($code)" bash -c "[ '$code' = 502 ] || [ '$code' = 504 ]"
if [ -n "$child" ]; then
  kill -KILL "$child"
  expect "the supervisor restarts pipgate-dns" \
    wait_until 10 grep -q "pipgate-dns: killed by signal 9" run.log
  expect "the restarted pipgate-dns binds port $dns_port again without root" wait_until 10 dns_answers
fi
kill -TERM "$PID"
wait_until 10 bash -c "! kill -0 $PID 2>/dev/null"
wait "$PID"
expect "SIGTERM stops pipgate with status 0" test $? -eq 0
finish run.log
