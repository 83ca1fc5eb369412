//go:build !shim

package preload

var library []byte
