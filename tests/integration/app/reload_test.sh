#!/usr/bin/env bash
# SIGHUP: `pipgate run` re-reads its file, applies the keys that change live (here [dns] ttl,
# seen in pipgate-dns's answers, and [proxy] header_timeout), names the ones that need a restart
# (here [dns] listen), keeps serving without a restart, and keeps its config on a broken file.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../lib.sh"
pipgate="$1"
pipgate_dns="$2"
cd "$WORK"

dns_port="$(free_port)"
https_port="$(free_port)"
web_port="$(free_port)"
write_config() {  # write_config TTL DNS_PORT HEADER_TIMEOUT
  pipgate_config cfg.toml "$WORK/data" "127.0.0.1:$2" "127.0.0.1:$https_port" \
    "127.0.0.1:$web_port" "" "ttl = \"$1\"" "header_timeout = \"$3\""
}
write_config 60s "$dns_port" 10s
"$pipgate" run --config cfg.toml --dns-executable "$pipgate_dns" >run.log 2>&1 &
PID=$!
PIDS+=("$PID")
ttl_is() {
  [ "$(dig +noall +answer +time=1 +tries=1 @127.0.0.1 -p "$dns_port" pypi.org A 2>/dev/null \
    | awk '{print $2}')" = "$1" ]
}
expect "pipgate runs" wait_until 20 grep -q "pipgate is running" run.log
expect "pipgate-dns answers with TTL 60" wait_until 20 ttl_is 60
dns_child="$(pgrep -P "$PID" -f pipgate-dns | head -1)"

write_config 5s "$(free_port)" 3s
kill -HUP "$PID"
expect "the reload names what it applied" \
  wait_until 10 grep -q "SIGHUP: reloaded .*applied: .*\[dns\] ttl.*\[proxy\] header_timeout" run.log
expect "the reload names what needs a restart" \
  grep -q "need a restart of pipgate to apply: \[dns\] listen" run.log
expect "pipgate-dns applies the new TTL without a restart" wait_until 10 ttl_is 5
expect "pipgate-dns is the same process" test "$(pgrep -P "$PID" -f pipgate-dns | head -1)" = "$dns_child"
expect "pipgate is the same process" kill -0 "$PID"
code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 --cacert data/ca/ca.pem \
  --resolve "pypi.org:$https_port:127.0.0.1" "https://pypi.org:$https_port/simple/")"
expect "the proxy still answers ($code)" bash -c "[ '$code' = 502 ] || [ '$code' = 504 ]"

echo '[proxy' >cfg.toml
kill -HUP "$PID"
expect "a broken file is reported with its line" \
  wait_until 10 grep -q "SIGHUP: .*cfg.toml:1.*the running config stays" run.log
expect "and changes nothing" ttl_is 5

kill -TERM "$PID"
wait_until 10 bash -c "! kill -0 $PID 2>/dev/null"
wait "$PID"
expect "SIGTERM stops pipgate with status 0" test $? -eq 0
finish run.log
