#!/usr/bin/env bash
# chart-test.sh CHART_DIR MANIFEST_DIR VALUES...
#
# Offline, then against a real kube-apiserver + etcd on 127.0.0.1 (cluster.sh):
#   1. helm template CHART_DIR with each VALUES file, and validate every rendering
#      with cmd/validate (strict decoding into the real Kubernetes types + the
#      apiserver's create validation); a VALUES file whose name starts with "bad-"
#      must be rejected instead. The chart's bare defaults are no case of their own:
#      shardinit's chart needs image.repository, so they are deploy/values/
#      bad-no-image.yaml (must fail) and, with an image, minimal.yaml;
#   2. kubectl kustomize MANIFEST_DIR, validated the same way, with no Helm labels
#      and its ConfigMap generated (a hash in its name, the Deployment naming it);
#   2b. every PrometheusRule of those renderings, and every Grafana dashboard in
#      DASHBOARDS, through promql/: each expression parsed by Prometheus's own
#      parser, each alert's templates by Go's, and each shardinit_* metric named
#      declared in pkg/health/metrics.go;
#   3. start the cluster (stopped again at exit, whatever happens), install
#      servicemonitor-crd.yaml and prometheusrule-crd.yaml, then `helm install`
#      the chart with each VALUES file,
#      each in a namespace of its own: installs with bad-* files must FAIL, all
#      others must succeed;
#   4. kubectl apply --server-side --dry-run=server -k MANIFEST_DIR.
# Prints a PASS/FAIL summary; exits 1 if any check failed (2 on usage errors).
#
# MANIFEST_DIR may be "-" to skip the plain manifests.
# Environment:
#   VALIDATE_FLAGS   extra flags for validate (e.g. -allow-unknown-kinds=ServiceMonitor)
#   DASHBOARDS       Grafana dashboard JSON files to check (space-separated)
#   METRICS_GO       the Go file declaring shardinit's metrics (default: this
#                    repository's pkg/health/metrics.go; "" to check no names)
#   K8S_BIN_DIR      where kube-apiserver is built/cached
#                    (default ${XDG_CACHE_HOME:-~/.cache}/shardinit-test-k8s/bin)
#   HELM             helm binary (default: deploy/find-helm.sh's: helm on PATH, else
#                    the one `go install` puts in GOBIN, installed there when missing)
#   KEEP_WORK=1      keep the temporary directory (renderings, logs)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() { echo "usage: $0 CHART_DIR MANIFEST_DIR|- VALUES.yaml..." >&2; exit 2; }
[ $# -ge 3 ] || usage
CHART=$1 MANIFESTS=$2
shift 2
VALUES=("$@")
[ -f "$CHART/Chart.yaml" ] || { echo "chart-test: $CHART/Chart.yaml not found" >&2; exit 2; }
CHART=$(cd "$CHART" && pwd)
if [ "$MANIFESTS" != - ]; then
    [ -d "$MANIFESTS" ] || { echo "chart-test: $MANIFESTS is not a directory" >&2; exit 2; }
    MANIFESTS=$(cd "$MANIFESTS" && pwd)
fi
for v in "${VALUES[@]}"; do [ -f "$v" ] || { echo "chart-test: values file $v not found" >&2; exit 2; }; done

log() { printf '[chart-test %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

T0=$(now)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/chart-test.XXXXXX")
CLUSTER_DIR=$WORK/cluster
export K8S_BIN_DIR=${K8S_BIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/shardinit-test-k8s/bin}
# Keep helm's and kubectl's config/caches away from the user's.
export HELM_CACHE_HOME=$WORK/helm/cache HELM_CONFIG_HOME=$WORK/helm/config HELM_DATA_HOME=$WORK/helm/data
export KUBECACHEDIR=$WORK/kube-cache

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -f "$CLUSTER_DIR/pids" ]; then
        "$HERE/cluster.sh" stop "$CLUSTER_DIR" || { log "WARNING: cluster.sh stop failed"; rc=1; }
    fi
    if [ "${KEEP_WORK:-0}" = 1 ] || [ $rc -ne 0 ]; then
        log "work directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- results ----
RESULTS=()
NPASS=0 NFAIL=0
pass() { RESULTS+=("PASS  $*"); NPASS=$((NPASS + 1)); log "PASS $*"; }
fail() { RESULTS+=("FAIL  $*"); NFAIL=$((NFAIL + 1)); log "FAIL $*"; }

summary() {
    echo
    echo "==================== chart-test summary ===================="
    echo "chart:     $CHART"
    echo "manifests: $MANIFESTS"
    printf '%s\n' "${RESULTS[@]}"
    echo "------------------------------------------------------------"
    if [ $NFAIL -eq 0 ]; then
        echo "RESULT: PASS ($NPASS checks, $(since "$T0")s)"
    else
        echo "RESULT: FAIL ($NFAIL of $((NPASS + NFAIL)) checks failed, $(since "$T0")s; logs in $WORK)"
    fi
    echo "chart-test: $NPASS passed, $NFAIL failed"
}

# ---- tools ----
. "$HERE/../../deploy/find-helm.sh"
HELM=$helm
log "helm: $HELM ($("$HELM" version --short 2>/dev/null))"
KUBECTL=${KUBECTL:-$(command -v kubectl || true)}
if [ -z "$KUBECTL" ]; then  # cluster.sh builds kubectl from test/k8s when none is on PATH
    "$HERE/cluster.sh" build "$CLUSTER_DIR"
    KUBECTL=$K8S_BIN_DIR/kubectl
fi
export KUBECTL

t=$(now)
(cd "$HERE" && go build -o "$WORK/validate" ./cmd/validate)
(cd "$HERE/promql" && go build -o "$WORK/promql" .)
log "TIMING build validate, promql: $(since "$t")s"
METRICS_GO=${METRICS_GO-$HERE/../../pkg/health/metrics.go}
PROMQL=("$WORK/promql")
[ -z "$METRICS_GO" ] || PROMQL+=(-metrics "$METRICS_GO")
read -r -a DASHBOARD_FILES <<<"${DASHBOARDS:-}"
for d in "${DASHBOARD_FILES[@]}"; do [ -f "$d" ] || { echo "chart-test: dashboard $d not found" >&2; exit 2; }; done
read -r -a VFLAGS <<<"${VALIDATE_FLAGS:-}"

CHART_NAME=$(sed -n 's/^name:[[:space:]]*["'\'']\{0,1\}\([^"'\''[:space:]]*\).*/\1/p' "$CHART/Chart.yaml" | head -n1)
CHART_NAME=${CHART_NAME:-chart}

# tag FILE: a DNS-label-safe short name for a values file ("default" for none;
# a file named values.yaml takes its directory's name).
tag() {
    local b
    b=$(basename "$1"); b=${b%.yaml}; b=${b%.yml}
    # examples/nginx/values.yaml: nginx-values
    [ "$b" = values ] && b=$(basename "$(dirname "$1")")-values
    b=$(printf '%s' "$b" | tr 'A-Z' 'a-z' | tr -c 'a-z0-9-' '-' | sed 's/^-*//; s/-*$//')
    printf '%.40s' "${b:-values}" | sed 's/-*$//'
}
is_bad() { case "$(basename "$1")" in bad-*) return 0 ;; *) return 1 ;; esac; }
# excerpt FILE: the error output of a command on one line, shortened.
excerpt() { grep -v '^[[:space:]]*$' "$1" | tr '\n' ' ' | sed 's/[[:space:]]\{1,\}/ /g' | cut -c1-300; }

# check_promql LABEL FILE: promql's verdict on FILE as one check.
NPROMQL=0
check_promql() {
    local report=$WORK/promql-$((NPROMQL += 1)).txt
    if "${PROMQL[@]}" "$2" >"$report" 2>&1; then
        pass "promql $1: $(sed 's/^ok [^:]*: //' "$report")"
    else
        fail "promql $1: $(grep -m1 '^FAIL' "$report" | cut -c1-300)"; sed 's/^/    /' "$report" >&2
    fi
}

# ---- 1. offline: helm template + validate ----
render_and_validate() { # LABEL OUT [helm args...]
    local label=$1 out=$2; shift 2
    if ! "$HELM" template "$CHART_NAME" "$CHART" --namespace default \
        --api-versions monitoring.coreos.com/v1/ServiceMonitor \
        --api-versions monitoring.coreos.com/v1/PrometheusRule "$@" >"$out" 2>"$out.err"; then
        return 10
    fi
    "$WORK/validate" "${VFLAGS[@]}" "$out" >"$out.validate" 2>&1 || return 11
}

CASES=("${VALUES[@]}")

log "==== offline: helm template + validate ===="
for v in "${CASES[@]}"; do
    label="template+validate $v"; id=$(tag "$v"); args=(-f "$v")
    out=$WORK/render-$id.yaml
    t=$(now)
    rc=0; render_and_validate "$label" "$out" "${args[@]}" || rc=$?
    if is_bad "$v"; then
        case $rc in
            10) pass "$label: rejected by helm template, as expected: $(excerpt "$out.err")" ;;
            11) pass "$label: rejected by validate, as expected: $(grep -m1 '^FAIL' "$out.validate" | cut -c1-300)" ;;
            *) fail "$label: bad-* values were accepted (rendered and validated)" ;;
        esac
        continue
    fi
    case $rc in
        0) pass "$label: $(tail -n1 "$out.validate" | sed 's/^validate: //') ($(since "$t")s)"
           grep -v '^validate:' "$out.validate" | sed 's/^/    /' >&2
           if grep -q '^kind: PrometheusRule$' "$out"; then check_promql "PrometheusRule of $v" "$out"; fi ;;
        10) fail "$label: helm template failed: $(excerpt "$out.err")"; sed 's/^/    /' "$out.err" >&2 ;;
        *) fail "$label: validation failed: $(grep -m1 '^FAIL' "$out.validate" | cut -c1-300)"; sed 's/^/    /' "$out.validate" >&2 ;;
    esac
done

if [ "$MANIFESTS" != - ]; then
    out=$WORK/kustomize.yaml
    if "$KUBECTL" kustomize "$MANIFESTS" >"$out" 2>"$out.err"; then
        if "$WORK/validate" "${VFLAGS[@]}" "$out" >"$out.validate" 2>&1; then
            pass "kustomize+validate $MANIFESTS: $(tail -n1 "$out.validate" | sed 's/^validate: //')"
            grep -v '^validate:' "$out.validate" | sed 's/^/    /' >&2
        else
            fail "kustomize+validate $MANIFESTS: validation failed: $(grep -m1 '^FAIL' "$out.validate" | cut -c1-300)"; sed 's/^/    /' "$out.validate" >&2
        fi
        # Plain manifests: Helm's labels mean nothing there, and the ConfigMap is
        # generated, so that its name (a hash of its data) changes with it and
        # the Deployment, which names it, rolls the pods.
        helmish=$(grep -nE 'helm\.sh/|managed-by: Helm|checksum/config' "$out" | head -n3 | tr '\n' ' ' || true)
        cm=$(awk '/^kind: ConfigMap$/ { on = 1 } on && /^  name: / { print $2; exit }' "$out")
        if [ -n "$helmish" ]; then
            fail "kustomize $MANIFESTS: Helm's labels or annotations in the plain manifests: $helmish"
        elif ! [[ $cm =~ -[a-z0-9]{10}$ ]]; then
            fail "kustomize $MANIFESTS: the ConfigMap ('$cm') is not generated (no hash suffix)"
        elif ! grep -qE "^ +name: $cm\$" <(sed -n '/^kind: Deployment$/,/^---$/p' "$out"); then
            fail "kustomize $MANIFESTS: the Deployment does not mount ConfigMap $cm"
        else
            pass "kustomize $MANIFESTS: no Helm labels; ConfigMap $cm generated, mounted by the Deployment"
        fi
    else
        fail "kustomize $MANIFESTS: kubectl kustomize failed: $(excerpt "$out.err")"; sed 's/^/    /' "$out.err" >&2
    fi
fi

for d in "${DASHBOARD_FILES[@]}"; do
    check_promql "dashboard $d" "$d"
done

# ---- 2. against a real kube-apiserver ----
log "==== cluster: start ===="
t=$(now)
if ! "$HERE/cluster.sh" start "$CLUSTER_DIR"; then
    fail "cluster start (see $CLUSTER_DIR/*.log)"
    summary
    exit 1
fi
pass "cluster start: etcd + kube-apiserver ready ($(since "$t")s)"
export KUBECONFIG=$CLUSTER_DIR/kubeconfig
K=("$KUBECTL" --kubeconfig "$KUBECONFIG" --request-timeout=30s)

for crd in servicemonitor prometheusrule; do
    if "${K[@]}" apply --server-side -f "$HERE/$crd-crd.yaml" >"$WORK/crd.log" 2>&1 &&
        "${K[@]}" wait --for condition=established --timeout=60s "crd/${crd}s.monitoring.coreos.com" >>"$WORK/crd.log" 2>&1; then
        pass "$(sed -n 's/^    kind: //p' "$HERE/$crd-crd.yaml") CRD installed and established"
    else
        fail "$crd CRD install"; sed 's/^/    /' "$WORK/crd.log" >&2
    fi
done

log "==== cluster: helm install ===="
i=0
for v in "${CASES[@]}"; do
    i=$((i + 1))
    id=$(tag "$v"); args=(-f "$v"); label="helm install $v"
    ns=ct-$i-$id; ns=${ns:0:63}; ns=${ns%-}
    rel=$ns  # distinct release names: cluster-scoped objects must not collide between installs
    t=$(now)
    rc=0
    "$HELM" install "$rel" "$CHART" --namespace "$ns" --create-namespace "${args[@]}" \
        >"$WORK/install-$i.log" 2>&1 || rc=$?
    if is_bad "$v"; then
        if [ $rc -ne 0 ]; then
            pass "$label: failed as expected: $(excerpt "$WORK/install-$i.log")"
        else
            fail "$label: bad-* values were INSTALLED (release $rel in $ns)"
        fi
        continue
    fi
    if [ $rc -eq 0 ]; then
        # Every object of the release must now exist on the server.
        if "$HELM" get manifest "$rel" --namespace "$ns" >"$WORK/manifest-$i.yaml" 2>>"$WORK/install-$i.log" &&
            "${K[@]}" -n "$ns" get -f "$WORK/manifest-$i.yaml" -o name >"$WORK/objects-$i.txt" 2>>"$WORK/install-$i.log"; then
            pass "$label -> release $rel in namespace $ns: $(grep -c . "$WORK/objects-$i.txt") objects created ($(since "$t")s)"
            sed 's/^/    /' "$WORK/objects-$i.txt" >&2
        else
            fail "$label -> release $rel installed, but its objects are not all there"; sed 's/^/    /' "$WORK/install-$i.log" >&2
        fi
    else
        fail "$label -> namespace $ns: $(excerpt "$WORK/install-$i.log")"; sed 's/^/    /' "$WORK/install-$i.log" >&2
    fi
done

if [ "$MANIFESTS" != - ]; then
    log "==== cluster: kubectl apply --server-side --dry-run=server -k ===="
    # Namespaces the manifests name must exist for a server-side dry run.
    for ns in $(grep -E '^  namespace: ' "$WORK/kustomize.yaml" 2>/dev/null | awk '{print $2}' | tr -d '"'\' | sort -u); do
        "${K[@]}" get namespace "$ns" >/dev/null 2>&1 || "${K[@]}" create namespace "$ns" >/dev/null
    done
    if "${K[@]}" apply --server-side --dry-run=server -k "$MANIFESTS" >"$WORK/apply.log" 2>&1; then
        pass "kubectl apply --server-side --dry-run=server -k $MANIFESTS ($(grep -c . "$WORK/apply.log") objects)"
        sed 's/^/    /' "$WORK/apply.log" >&2
    else
        fail "kubectl apply --server-side --dry-run=server -k $MANIFESTS: $(grep -m1 -i 'error' "$WORK/apply.log" | cut -c1-300)"; sed 's/^/    /' "$WORK/apply.log" >&2
    fi
fi

log "==== cluster: stop ===="
if "$HERE/cluster.sh" stop "$CLUSTER_DIR"; then pass "cluster stop"; else fail "cluster stop"; fi

summary
[ $NFAIL -eq 0 ]
