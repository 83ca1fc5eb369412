//go:build shim

package preload

import _ "embed"

// libshardinit_preload.so is copied here from shim/build by `make build`.
//
//go:embed libshardinit_preload.so
var library []byte
