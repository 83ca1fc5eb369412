# Sourced by every script that runs helm (deploy/*.sh, test/k8s/*.sh), the
# one place that pins its version: sets $helm to $HELM, else helm on PATH,
# else the helm `go install` puts in GOBIN (default GOPATH/bin), installing
# it there first when it is missing (minutes, cold).
helm=${HELM:-$(command -v helm || true)}
if [ -z "$helm" ]; then
	command -v go >/dev/null || { echo "$(basename "$0"): neither helm nor go on PATH" >&2; exit 1; }
	helm=$(go env GOBIN)
	helm=${helm:-$(go env GOPATH)/bin}/helm
	if [ ! -x "$helm" ]; then
		echo "$(basename "$0"): helm not found: go install helm.sh/helm/v3/cmd/helm@v3.22.0 (minutes, cold)" >&2
		go install helm.sh/helm/v3/cmd/helm@v3.22.0
	fi
fi
