package spawn

import (
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
)

// ErrCommandNotFound and ErrCommandNotExecutable are what Resolve's errors
// are (errors.Is): a command that is not there, or cannot be run. A shell
// exits 127 and 126 for them, and so does shardinit.
var (
	ErrCommandNotFound      = errors.New("command not found")
	ErrCommandNotExecutable = errors.New("command not executable")
)

// commandError is one of them, worded for its command.
type commandError struct {
	is  error
	msg string
}

func (e commandError) Error() string        { return e.msg }
func (e commandError) Is(target error) bool { return target == e.is }

// Resolve finds a command in PATH, so that a missing or unusable command
// ends shardinit before anything starts, with a clear line instead of a
// crash loop.
func Resolve(name string) (string, error) {
	path, err := exec.LookPath(name)
	switch {
	case err == nil:
		return path, nil
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, fs.ErrNotExist):
		return "", commandError{ErrCommandNotFound, "command not found: " + name}
	case errors.Is(err, exec.ErrDot):
		return "", commandError{ErrCommandNotFound, fmt.Sprintf("command %s: found only in the current directory through PATH; name it ./%s", name, name)}
	}
	return "", commandError{ErrCommandNotExecutable, fmt.Sprintf("command %s is not executable: %v", name, unwrapExecError(err))}
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
