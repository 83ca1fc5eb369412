package listen

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseSpecAccepts(t *testing.T) {
	tests := []struct {
		value string
		want  Spec
	}{
		{":8080", Spec{"", "tcp", ":8080"}},
		{":0", Spec{"", "tcp", ":0"}},
		{":65535", Spec{"", "tcp", ":65535"}},
		{"127.0.0.1:8080", Spec{"", "tcp", "127.0.0.1:8080"}},
		{"[::]:8080", Spec{"", "tcp", "[::]:8080"}},
		{"[0:0::1]:80", Spec{"", "tcp", "[::1]:80"}},
		{"localhost:80", Spec{"", "tcp", "127.0.0.1:80"}},
		{"tcp://:80", Spec{"", "tcp", ":80"}},
		{"tcp://10.0.0.1:80", Spec{"", "tcp", "10.0.0.1:80"}},
		{"tcp4://:443", Spec{"", "tcp4", ":443"}},
		{"tcp4://0.0.0.0:443", Spec{"", "tcp4", "0.0.0.0:443"}},
		{"tcp4://localhost:443", Spec{"", "tcp4", "127.0.0.1:443"}},
		{"tcp6://:443", Spec{"", "tcp6", ":443"}},
		{"tcp6://[::]:443", Spec{"", "tcp6", "[::]:443"}},
		{"tcp6://localhost:443", Spec{"", "tcp6", "[::1]:443"}},
		{"web=:8080", Spec{"web", "tcp", ":8080"}},
		{"a-b_c.1=tcp6://[::1]:80", Spec{"a-b_c.1", "tcp6", "[::1]:80"}},
		{"unix:///run/app.sock", Spec{"", "unix", "/run/app.sock"}},
		{"unix://@app", Spec{"", "unix", "@app"}},
		{"sock=unix:///run/app.sock", Spec{"sock", "unix", "/run/app.sock"}},
		{"unix:///tmp/a=b.sock", Spec{"", "unix", "/tmp/a=b.sock"}},
		{"api=unix:///tmp/a=b.sock", Spec{"api", "unix", "/tmp/a=b.sock"}},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			got, err := ParseSpec(tt.value)
			if err != nil {
				t.Fatalf("ParseSpec(%q): %v", tt.value, err)
			}
			if got != tt.want {
				t.Fatalf("ParseSpec(%q) = %+v, want %+v", tt.value, got, tt.want)
			}
			// What String prints parses back to the same Spec.
			again, err := ParseSpec(got.String())
			if err != nil || again != got {
				t.Errorf("ParseSpec(%q) = %+v, %v; want %+v", got.String(), again, err, got)
			}
		})
	}
}

func TestParseSpecRejects(t *testing.T) {
	tests := []struct {
		value   string
		wantErr string
	}{
		{"", "missing port"},
		{"127.0.0.1", "missing port"},
		{":65536", `port "65536" is not a number`},
		{":http", `port "http" is not a number`},
		{":-1", `port "-1" is not a number`},
		{"example.com:80", `host "example.com" is not an IP address`},
		{"[fe80::1%eth0]:80", `host "fe80::1%eth0" is not an IP address`},
		{"::1:80", "IPv6 host must be in brackets"},
		{"[::1:80", "unbalanced brackets"},
		{"::1]:80", "unbalanced brackets"},
		{"[]:80", "empty brackets"},
		{"tcp4://[::1]:80", "host ::1 is not an IPv4 address"},
		{"tcp6://127.0.0.1:80", "host 127.0.0.1 is not an IPv6 address"},
		{"udp://:53", `unknown scheme "udp"`},
		{"unix://run/app.sock", "must be absolute"},
		{"unix://", "missing socket path"},
		{"unix://@", "missing socket path"},
		{"unix:///" + strings.Repeat("x", 107), "longer than 107 bytes"},
		{"a b=:80", `listener name "a b" may hold only`},
		{"caf\u00e9=:80", "may hold only"},
		{strings.Repeat("n", 256) + "=:80", "longer than 255 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			got, err := ParseSpec(tt.value)
			if err == nil {
				t.Fatalf("ParseSpec(%q) = %+v, want an error", tt.value, got)
			}
			if !errors.Is(err, ErrBadAddress) {
				t.Errorf("got error %v, want one wrapping ErrBadAddress", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got error %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestSpecString(t *testing.T) {
	tests := []struct {
		spec Spec
		want string
	}{
		{Spec{"web", "tcp", ":80"}, "web=:80"},
		{Spec{"web", "tcp4", "0.0.0.0:80"}, "web=tcp4://0.0.0.0:80"},
		{Spec{"web", "tcp6", "[::1]:80"}, "web=tcp6://[::1]:80"},
		{Spec{"sock", "unix", "/run/a.sock"}, "sock=unix:///run/a.sock"},
		{Spec{"sock", "unix", "@a"}, "sock=unix://@a"},
	}
	for _, tt := range tests {
		if got := tt.spec.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.spec, got, tt.want)
		}
	}
}

func TestSpecsNamesListeners(t *testing.T) {
	got, err := Specs([]string{"web=:80", ":81", "unix:///run/a.sock"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Spec{
		{"web", "tcp", ":80"},
		{"listen1", "tcp", ":81"},
		{"listen2", "unix", "/run/a.sock"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestSpecsRejects(t *testing.T) {
	tests := []struct {
		name    string
		values  []string
		wantErr string
	}{
		{"same name twice", []string{"web=:80", "web=:81"}, `listener name "web" is used twice`},
		{"name taken by a default", []string{"listen1=:80", ":81"}, `listener name "listen1" is used twice`},
		{"bad address", []string{":80", "udp://:53"}, `unknown scheme "udp"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Specs(tt.values)
			if err == nil {
				t.Fatalf("Specs(%q) = %+v, want an error", tt.values, got)
			}
			if !errors.Is(err, ErrBadAddress) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got error %q, want ErrBadAddress containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseMode(t *testing.T) {
	for _, s := range []string{"per-worker", "shared"} {
		if got, err := ParseMode(s); err != nil || string(got) != s {
			t.Errorf("ParseMode(%q) = %q, %v; want %q", s, got, err, s)
		}
	}
	if got, err := ParseMode("perworker"); err == nil {
		t.Errorf("ParseMode(%q) = %q, want an error", "perworker", got)
	}
}
