#!/bin/sh
# A credential_process for the tests (unit and integration): prints the JSON
# the AWS SDKs expect, or misbehaves on request. No secrets of any real
# account: the keys come from the arguments.
#
#   process.sh static AKID SECRET             long-term keys (no Expiration)
#   process.sh temp AKID SECRET TOKEN EXP     temporary keys expiring at EXP
#   process.sh count FILE AKID SECRET TOKEN EXP   the same, and appends a line to
#                                             FILE (to count the runs)
#   process.sh chatty AKID SECRET TOKEN EXP   temp, and echoes the secret and the
#                                             token on stderr (must be masked)
#   process.sh fail STATUS MESSAGE            MESSAGE on stderr, exit STATUS
#   process.sh garbage                        not JSON
#   process.sh version V AKID SECRET          {"Version": V, ...}
#   process.sh nokey                          Version 1 without AccessKeyId
#   process.sh sleep SECONDS                  sleeps (a hung helper), then static keys
#   process.sh flood                          endless output
#   process.sh args ARG...                    the arguments as AccessKeyId, joined by '|'
set -eu
mode=${1:-}
[ $# -gt 0 ] && shift
json_temp() {
    printf '{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s", "SessionToken": "%s", "Expiration": "%s"}\n' "$1" "$2" "$3" "$4"
}
case "$mode" in
static)  printf '{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s"}\n' "$1" "$2" ;;
temp)    json_temp "$@" ;;
count)   file=$1; shift; echo run >>"$file"; json_temp "$@" ;;
chatty)  echo "issued secret $2 token $3" >&2; json_temp "$@" ;;
fail)    echo "$2" >&2; exit "$1" ;;
garbage) echo "this is not JSON" ;;
version) printf '{"Version": %s, "AccessKeyId": "%s", "SecretAccessKey": "%s"}\n' "$1" "$2" "$3" ;;
nokey)   echo '{"Version": 1, "SecretAccessKey": "x"}' ;;
sleep)   sleep "$1"; printf '{"Version": 1, "AccessKeyId": "AKIDSLEPT", "SecretAccessKey": "s"}\n' ;;
flood)   while :; do echo 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'; done ;;
args)    out=""; for a in "$@"; do out="$out|$a"; done
         printf '{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "s"}\n' "${out#|}" ;;
*)       echo "process.sh: unknown mode $mode" >&2; exit 2 ;;
esac
