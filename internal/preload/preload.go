// Package preload holds the LD_PRELOAD shim (shim/, C) inside shardinit's
// binary, so that adopting --preload stays one COPY of one file. The
// library is compiled by `make build` and embedded with the build tag
// `shim`; a build without it has no shim and --preload says so.
package preload

import "errors"

// ErrMissing says that this binary was built without the shim.
var ErrMissing = errors.New("this shardinit was built without the LD_PRELOAD shim: build it with `make build` (it needs a C compiler) or the Dockerfile")

// Library is the shim, nil when this binary was built without it; Checked
// is the shim as the workers may have it.
func Library() []byte { return library }
