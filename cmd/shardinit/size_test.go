package main

import "testing"

func TestParseSize(t *testing.T) {
	for in, want := range map[string]uint64{
		"0": 0, "268435456": 268435456, "256Mi": 256 << 20, "1Gi": 1 << 30, "1.5G": 1_500_000_000, "64k": 64_000,
		"64K": 64_000, "2Ti": 2 << 40, "0.5Ki": 512,
	} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "Mi", "-1", "12X", "1e9", "0x10", "1_000", "NaN", "Inf", "256 Mi", "9Ei", "99999999Ti"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
}
