package main

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"
)

// parseUser reads --user as UID|NAME[:GID|GROUP] into the credentials
// workers run with, supplementary groups dropped. Without a group it is
// the user's primary group, or the UID's number when the user has no
// passwd entry (never root's group by accident).
func parseUser(s string) (*syscall.Credential, error) {
	if s == "" {
		return nil, nil
	}
	name, group, hasGroup := strings.Cut(s, ":")
	uid, primary, err := lookupUser(name)
	if err != nil {
		return nil, err
	}
	gid := primary
	if hasGroup {
		if gid, err = lookupGroup(group); err != nil {
			return nil, err
		}
	}
	if euid := os.Geteuid(); euid != 0 && uint32(euid) != uid {
		return nil, fmt.Errorf("user %q: shardinit runs as uid %d and cannot start workers as uid %d (run it as root, or leave --user out)", s, euid, uid)
	}
	return &syscall.Credential{Uid: uid, Gid: gid, Groups: []uint32{}}, nil
}

func lookupUser(name string) (uid, gid uint32, err error) {
	if n, err := strconv.ParseUint(name, 10, 32); err == nil {
		uid, gid = uint32(n), uint32(n)
		if u, err := user.LookupId(name); err == nil {
			if g, err := strconv.ParseUint(u.Gid, 10, 32); err == nil {
				gid = uint32(g)
			}
		}
		return uid, gid, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return 0, 0, lookupError("user", name, err)
	}
	n, _ := strconv.ParseUint(u.Uid, 10, 32)
	g, _ := strconv.ParseUint(u.Gid, 10, 32)
	return uint32(n), uint32(g), nil
}

func lookupGroup(name string) (uint32, error) {
	if n, err := strconv.ParseUint(name, 10, 32); err == nil {
		return uint32(n), nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, lookupError("group", name, err)
	}
	n, _ := strconv.ParseUint(g.Gid, 10, 32)
	return uint32(n), nil
}

// lookupError says that a user or group is unknown, with its name quoted:
// os/user's own errors repeat the name as it is, newlines and all.
func lookupError(what, name string, err error) error {
	var noUser user.UnknownUserError
	var noGroup user.UnknownGroupError
	if errors.As(err, &noUser) || errors.As(err, &noGroup) {
		return fmt.Errorf("%s %q: no such %s", what, name, what)
	}
	return fmt.Errorf("%s %q: %s", what, name, strings.Join(strings.Fields(err.Error()), " "))
}
