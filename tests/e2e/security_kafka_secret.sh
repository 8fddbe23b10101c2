#!/usr/bin/env bash
# security_kafka_secret.sh - Kafka credentials given with -X never appear in logs, errors, metrics or the database (unreachable broker, debug logging, a bad property next to the secret, the Kafka sink).
. "$(dirname "$0")/lib.sh"
SECRET=SECRETVALUE-7f3a
SEC=(-X "sasl.password=$SECRET" -X security.protocol=sasl_plaintext -X sasl.mechanism=PLAIN -X sasl.username=u
     -X "ssl.key.password=$SECRET")
leaks() { grep -l -- "$SECRET" "$@" 2>/dev/null | wc -l; }

# 1. Source against an unreachable broker, as in the issue (SIGTERM by timeout after 20 s).
set +e
timeout -k 5 20 "$SP" ingest "kafka://127.0.0.1:1/t?group=g" "${SEC[@]}" --exit-at-end --db "$T/k.db" \
  --metrics-file "$T/M" >"$T/out1" 2>"$T/err1"
rc=$?
set -e
echo "exit $rc; stderr: $(wc -l <"$T/err1") lines"
check "the broker failure is reported" "$(grep -c 'Connection refused' "$T/err1" | sed 's/^[1-9][0-9]*$/yes/')" yes
check "secret not in stderr/stdout" "$(leaks "$T/err1" "$T/out1")" 0
check "secret not in the metrics file" "$(leaks "$T/M")" 0
check "secret not in the database" "$( { sqlite3 "$T/k.db" .dump 2>/dev/null || true; } | grep -c -- "$SECRET" || true)" 0

# 2. Verbose logging with librdkafka's own debug output (config and security contexts).
set +e
timeout -k 5 8 "$SP" ingest -v "kafka://127.0.0.1:1/t?group=g" "${SEC[@]}" -X debug=conf,security,broker,generic \
  --exit-at-end --db "$T/k2.db" >"$T/out2" 2>"$T/err2"
set -e
echo "debug run: $(wc -l <"$T/err2") lines of stderr"
check "debug output was produced" "$([ "$(wc -l <"$T/err2")" -gt 5 ] && echo yes)" yes
check "secret not in verbose/debug output" "$(leaks "$T/err2" "$T/out2")" 0

# 3. A property error next to the secret; a bad value for a secret key.
set +e
timeout -k 5 8 "$SP" ingest "kafka://127.0.0.1:1/t?group=g" "${SEC[@]}" -X no.such.property=1 --exit-at-end \
  --db "$T/k3.db" 2>"$T/err3"
rc3=$?
timeout -k 5 8 "$SP" ingest "kafka://127.0.0.1:1/t?group=g" -X security.protocol=ssl \
  -X "ssl.key.pem=-----BEGIN PRIVATE KEY-----$SECRET" -X "ssl.key.password=$SECRET" --exit-at-end --db "$T/k4.db" 2>"$T/err4"
rc4=$?
set -e
check "unknown property: usage error (64)" "$rc3" 64
check "unknown property: named in the error" "$(grep -c 'no.such.property' "$T/err3" | sed 's/^[1-9][0-9]*$/yes/')" yes
check "secret not in the property error" "$(leaks "$T/err3")" 0
set +e
timeout -k 5 8 "$SP" ingest "kafka://127.0.0.1:1/t?group=g" "${SEC[@]}" -X "sasl.oauthbearer.client.secret=$SECRET" --exit-at-end \
  --db "$T/k6.db" 2>"$T/err6"
set -e
check "a refused secret property is named, its value is not" \
  "$(grep -c 'sasl.oauthbearer.client.secret' "$T/err6" | sed 's/^[1-9][0-9]*$/yes/')/$(leaks "$T/err6")" yes/0
echo "malformed ssl.key.pem: exit $rc4: $(head -c 300 "$T/err4")"
check "malformed private key: refused, and its value is not echoed" \
  "$(grep -c 'ssl.key.pem' "$T/err4" | sed 's/^[1-9][0-9]*$/yes/')/$(leaks "$T/err4")" yes/0

# 4. Kafka sink (--kafka-out) with the same credentials, broker unreachable.
{ zcat "$DATA/basic/slog.jsonl.gz" || true; } | head -5 >"$T/s.jsonl"
set +e
timeout -k 5 20 "$SP" ingest --db "$T/k5.db" --node n1 --kafka-out 127.0.0.1:1 "${SEC[@]}" --metrics-file "$T/M5" \
  "$T/s.jsonl" >"$T/out5" 2>"$T/err5"
set -e
check "sink: secret not in stderr/stdout" "$(leaks "$T/err5" "$T/out5")" 0
check "sink: secret not in metrics or database" \
  "$(( $(leaks "$T/M5") + $( { sqlite3 "$T/k5.db" .dump 2>/dev/null || true; } | grep -c -- "$SECRET" || true) ))" 0
finish
