#!/usr/bin/env bash
# Checks the chart and the plain manifests; CI can run it as is.
#
#  - helm lint --strict with every deploy/values/*.yaml but bad-*.yaml, and
#    helm template of each (the bare defaults name no image: they are
#    bad-no-image.yaml, and minimal.yaml with an image);
#  - every deploy/values/bad-*.yaml must fail helm template with the error
#    its "# expect:" line names; when that error is values.schema.json's,
#    helm lint --strict must fail with it too (lint only logs a template's
#    fail, so a rule the schema cannot state fails installs, not lint), and
#    a "# without-schema:" line names the templates' own error for the same
#    values (helm template --skip-schema-validation), for rules both state;
#  - when a shardinit binary is at hand ($SHARDINIT, else bin/shardinit), the
#    shardinit.yaml of every rendering must pass `shardinit check` (the same
#    strict parser the container runs);
#  - deploy/render.sh --check: deploy/k8s equals the default rendering, and
#    the chart's README.md is its values.yaml's (every value documented).
#
# Needs helm (v3) on PATH, or in $(go env GOPATH)/bin, or named by $HELM, and go.
set -euo pipefail
cd "$(dirname "$0")/.."

chart=deploy/helm/shardinit
. deploy/find-helm.sh # (the script runs from the repository root)
export HELM=$helm
shardinit=${SHARDINIT:-bin/shardinit}
[ -x "$shardinit" ] || shardinit=
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
fail() { echo "FAIL: $*" >&2; failed=1; }

# config NAME ARGS... renders shardinit.yaml and has shardinit check it.
config() {
	local name=$1
	shift
	[ -n "$shardinit" ] || return 0
	# The ConfigMap's one key is a block scalar indented by four spaces.
	"$helm" template shardinit "$chart" "$@" --show-only templates/configmap.yaml |
		sed -n '/^  shardinit.yaml: |$/,$p' | sed -e '1d' -e 's/^    //' >"$tmp/$name.yaml"
	if ! "$shardinit" check --config "$tmp/$name.yaml" -- "$shardinit" version >"$tmp/$name.out" 2>&1; then
		cat "$tmp/$name.out" >&2
		fail "$name: shardinit check rejects the rendered shardinit.yaml"
	fi
}

# bad_lint FILE WANT: a values file the schema rejects fails lint too.
bad_lint() {
	grep -qF "values don't meet the specifications of the schema" "$tmp/bad.err" || return 0
	if "$helm" lint --strict "$chart" -f "$1" >"$tmp/lint.err" 2>&1; then
		fail "$1: helm lint --strict accepted what the schema rejects"
	elif ! grep -qF -- "$2" "$tmp/lint.err"; then
		cat "$tmp/lint.err" >&2
		fail "$1: helm lint --strict's error does not say: $2"
	else
		return 0
	fi
	return 1
}

# bad_without_schema FILE: the templates refuse it too, with its
# "# without-schema:" error, when the schema is skipped.
bad_without_schema() {
	local want
	want=$(sed -n 's/^# without-schema: //p' "$1")
	[ -n "$want" ] || return 0
	if "$helm" template shardinit "$chart" -f "$1" --skip-schema-validation >/dev/null 2>"$tmp/noschema.err"; then
		fail "$1: without the schema, helm template accepted it"
	elif ! grep -qF -- "$want" "$tmp/noschema.err"; then
		cat "$tmp/noschema.err" >&2
		fail "$1: without the schema, the error does not say: $want"
	else
		return 0
	fi
	return 1
}

good=()
for f in deploy/values/*.yaml; do
	case "$(basename "$f")" in bad-*) ;; *) good+=("$f") ;; esac
done
for f in "${good[@]}"; do
	args=(-f "$f")
	name=$(basename "$f" .yaml)
	if ! "$helm" lint --strict "${args[@]}" "$chart" >"$tmp/lint.out" 2>&1; then
		cat "$tmp/lint.out" >&2
		fail "$name: helm lint --strict"
	elif ! "$helm" template shardinit "$chart" "${args[@]}" >/dev/null 2>"$tmp/template.err"; then
		cat "$tmp/template.err" >&2
		fail "$name: helm template"
	else
		config "$name" "${args[@]}"
		echo "ok   $name"
	fi
done

for f in deploy/values/bad-*.yaml; do
	want=$(sed -n 's/^# expect: //p' "$f")
	if [ -z "$want" ]; then
		fail "$f has no '# expect:' line"
	elif "$helm" template shardinit "$chart" -f "$f" >/dev/null 2>"$tmp/bad.err"; then
		fail "$f: helm template accepted it"
	elif ! grep -qF -- "$want" "$tmp/bad.err"; then
		cat "$tmp/bad.err" >&2
		fail "$f: the error does not say: $want"
	elif ! bad_lint "$f" "$want" || ! bad_without_schema "$f"; then
		:
	else
		echo "ok   $(basename "$f" .yaml) rejected: $want"
	fi
done

# The settings the schema refuses in shardinit.settings are the ones the
# configmap template writes from values of its own (its $own list).
own=$(sed -n 's/.*\$own := list \(.*\) }}$/\1/p' "$chart/templates/configmap.yaml" | grep -o '"[a-z-]*"' | sort)
refused=$(awk '/"propertyNames"/ { on = 1 } on { print } on && /\]/ { exit }' "$chart/values.schema.json" | grep -o '"[a-z-]*"' | grep -v '"enum"\|"not"' | sort)
if [ -z "$own" ] || [ "$own" != "$refused" ]; then
	fail "values.schema.json refuses in shardinit.settings [$(echo $refused)], templates/configmap.yaml writes [$(echo $own)]"
else
	echo "ok   the schema refuses in shardinit.settings the $(echo "$own" | wc -l) settings the chart writes"
fi

[ -n "$shardinit" ] || echo "note: no shardinit binary (bin/shardinit or \$SHARDINIT): rendered configs not checked"
deploy/render.sh --check || failed=1
exit $failed
