# Sourced by the deploy scripts: sets $helm to $HELM, helm on PATH, or the
# one `go install helm.sh/helm/v3/cmd/helm@v3.22.0` put in GOPATH/bin.
helm=${HELM:-}
if [ -z "$helm" ]; then
	if command -v helm >/dev/null; then
		helm=helm
	elif command -v go >/dev/null && [ -x "$(go env GOPATH)/bin/helm" ]; then
		helm="$(go env GOPATH)/bin/helm"
	else
		echo "$(basename "$0"): helm not found (go install helm.sh/helm/v3/cmd/helm@v3.22.0)" >&2
		exit 1
	fi
fi
