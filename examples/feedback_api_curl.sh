#!/usr/bin/env bash
# The feedback HTTP API from the shell. Start it first, e.g.:
#   echo '{"alice-token-0123456789abcdef": "alice"}' > tokens.json
#   flywheel serve --path .flywheel --tokens tokens.json --admin-token admin-token-0123456789abcdef
# then: IID=<an interaction id of alice's> ./examples/feedback_api_curl.sh
set -euo pipefail

URL="${FLYWHEEL_URL:-http://127.0.0.1:8088}"
TOKEN="${TOKEN:-alice-token-0123456789abcdef}"
IID="${IID:?set IID to an interaction id recorded for the token user}"
AUTH=(-H "Authorization: Bearer ${TOKEN}" -H "Content-Type: application/json")

show() { local line="$*"; echo; echo "\$ ${line//${TOKEN}/\$TOKEN}"; "$@" -sS -w '\n[HTTP %{http_code}]\n'; }

show curl "${URL}/healthz"
show curl "${URL}/v1/whoami" "${AUTH[@]}"

# UI events: 201 with the new signal, 200 with the same signal id when repeated.
show curl -X POST "${URL}/v1/interactions/${IID}/feedback" "${AUTH[@]}" -d '{"kind": "thumbs_up"}'
show curl -X POST "${URL}/v1/interactions/${IID}/feedback" "${AUTH[@]}" -d '{"kind": "thumbs_up"}'
show curl -X POST "${URL}/v1/interactions/${IID}/feedback" "${AUTH[@]}" -d '{"kind": "rating", "value": 4}'
show curl -X POST "${URL}/v1/interactions/${IID}/feedback" "${AUTH[@]}" -d '{"kind": "copy", "value": "the copied text"}'
show curl -X POST "${URL}/v1/interactions/${IID}/feedback" "${AUTH[@]}" -d '{"kind": "stop"}'
show curl -X POST "${URL}/v1/interactions/${IID}/feedback" "${AUTH[@]}" -d '{"kind": "regenerate"}'
show curl -X POST "${URL}/v1/interactions/${IID}/feedback" "${AUTH[@]}" -d '{"kind": "escalate", "value": "billing question"}'

# A corrected answer (SFT target + DPO pair) and a pairwise preference.
show curl -X POST "${URL}/v1/interactions/${IID}/correction" "${AUTH[@]}" -d '{"edited_output": "Use the Forgot password link on the sign-in page."}'
show curl -X POST "${URL}/v1/interactions/${IID}/preference" "${AUTH[@]}" -d '{"chosen": "answer A", "rejected": "answer B"}'

# What the store holds for this interaction.
show curl "${URL}/v1/interactions/${IID}/signals" "${AUTH[@]}"

# Errors are JSON {error, message, status}:
show curl -X POST "${URL}/v1/interactions/${IID}/feedback" "${AUTH[@]}" -d '{"kind": "rating", "value": 9}'   # 422
show curl -X POST "${URL}/v1/interactions/${IID}/feedback" -H "Content-Type: application/json" -d '{"kind": "up"}'  # 401
show curl -X POST "${URL}/v1/interactions/no-such-id/feedback" "${AUTH[@]}" -d '{"kind": "up"}'                 # 404
