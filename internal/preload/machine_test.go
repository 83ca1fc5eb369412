package preload

import (
	"debug/elf"
	"encoding/binary"
	"runtime"
	"strings"
	"testing"
)

// elfHeader is the 64-byte header of a little-endian ELF64 file of type
// typ for machine, with no sections: all that CheckMachine reads.
func elfHeader(typ elf.Type, machine elf.Machine) []byte {
	h := make([]byte, 64)
	copy(h, elf.ELFMAG)
	h[elf.EI_CLASS], h[elf.EI_DATA], h[elf.EI_VERSION] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	binary.LittleEndian.PutUint16(h[16:], uint16(typ))
	binary.LittleEndian.PutUint16(h[18:], uint16(machine))
	binary.LittleEndian.PutUint32(h[20:], uint32(elf.EV_CURRENT))
	binary.LittleEndian.PutUint16(h[52:], 64) // e_ehsize
	return h
}

func TestCheckMachine(t *testing.T) {
	cases := []struct {
		lib    []byte
		goarch string
		want   string // "" for no error
	}{
		{elfHeader(elf.ET_DYN, elf.EM_X86_64), "amd64", ""},
		{elfHeader(elf.ET_DYN, elf.EM_AARCH64), "arm64", ""},
		{elfHeader(elf.ET_DYN, elf.EM_AARCH64), "amd64", "built for EM_AARCH64, this shardinit for amd64"},
		{elfHeader(elf.ET_DYN, elf.EM_X86_64), "arm64", "built for EM_X86_64, this shardinit for arm64"},
		{elfHeader(elf.ET_EXEC, elf.EM_X86_64), "amd64", "not a shared object"},
		{elfHeader(elf.ET_DYN, elf.EM_X86_64), "riscv64", "cannot be checked for riscv64"},
		{[]byte("#!/bin/sh\n"), "amd64", "not an ELF file"},
	}
	for _, c := range cases {
		err := CheckMachine(c.lib, c.goarch)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v, want no error", c.goarch, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want an error with %q", c.goarch, err, c.want)
		}
	}
}

// The shim this binary embeds, if any, is for this binary's architecture.
func TestEmbeddedShim(t *testing.T) {
	if library == nil {
		t.Skip("built without the shim (build tag shim)")
	}
	if _, err := Checked(); err != nil {
		t.Errorf("embedded shim on %s: %v", runtime.GOARCH, err)
	}
}
