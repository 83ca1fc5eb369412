package spawn

import (
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
)

// ExitError is an error that decides shardinit's exit code.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// Resolve finds a command in PATH, so that a missing or unusable command
// ends shardinit before anything starts, with the shell's exit code (127,
// 126) in an *ExitError and a clear line, instead of a crash loop.
func Resolve(name string) (string, error) {
	path, err := exec.LookPath(name)
	switch {
	case err == nil:
		return path, nil
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, fs.ErrNotExist):
		return "", &ExitError{Code: 127, Err: fmt.Errorf("command not found: %s", name)}
	case errors.Is(err, exec.ErrDot):
		return "", &ExitError{Code: 127, Err: fmt.Errorf("command %s: found only in the current directory through PATH; name it ./%s", name, name)}
	}
	return "", &ExitError{Code: 126, Err: fmt.Errorf("command %s is not executable: %w", name, unwrapExecError(err))}
}

// unwrapExecError drops exec.Error's own "exec: NAME:" prefix, which the
// message above already says.
func unwrapExecError(err error) error {
	var e *exec.Error
	if errors.As(err, &e) {
		return e.Err
	}
	return err
}
