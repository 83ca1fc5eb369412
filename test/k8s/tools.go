//go:build tools

// Package tools pins the Kubernetes commands that cluster.sh builds
// (go build k8s.io/kubernetes/cmd/kube-apiserver, .../cmd/kubectl) so that
// go mod tidy keeps their dependencies in go.mod/go.sum.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
