package listen

import "testing"

func TestClash(t *testing.T) {
	tests := []struct {
		a, b string
		want string // "" for no clash
	}{
		{"a=127.0.0.1:80", "b=127.0.0.1:80", "both on port 80"},
		{"a=[::]:80", "b=0.0.0.0:80", "both on port 80"},
		{"a=:80", "b=[::1]:80", "both on port 80"},
		{"a=:80", "b=10.0.0.1:80", "both on port 80"},
		{"a=0.0.0.0:80", "b=127.0.0.1:80", "both on port 80"},
		{"a=tcp4://:80", "b=127.0.0.1:80", "both on port 80"},
		{"a=tcp6://:80", "b=[::1]:80", "both on port 80"},
		{"a=[::ffff:127.0.0.1]:80", "b=127.0.0.1:80", "both on port 80"},
		{"a=unix:///run/a.sock", "b=unix:///run/a.sock", "both on socket /run/a.sock"},
		{"a=unix://@x", "b=unix://@x", "both on socket @x"},
		{"a=127.0.0.1:80", "b=127.0.0.1:81", ""},
		{"a=127.0.0.1:80", "b=127.0.0.2:80", ""},
		{"a=127.0.0.1:80", "b=[::1]:80", ""},
		{"a=tcp6://[::]:80", "b=0.0.0.0:80", ""},
		{"a=tcp6://:80", "b=127.0.0.1:80", ""},
		{"a=tcp4://:80", "b=[::1]:80", ""},
		{"a=127.0.0.1:0", "b=127.0.0.1:0", ""},
		{"a=:0", "b=:0", ""},
		{"a=unix:///run/a.sock", "b=unix:///run/b.sock", ""},
		{"a=unix:///run/a.sock", "b=:80", ""},
	}
	for _, tt := range tests {
		a, errA := ParseSpec(tt.a)
		b, errB := ParseSpec(tt.b)
		if errA != nil || errB != nil {
			t.Fatalf("ParseSpec: %v, %v", errA, errB)
		}
		for _, pair := range [][2]Spec{{a, b}, {b, a}} {
			got := ""
			if err := Clash(pair[0], pair[1]); err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Clash(%s, %s) = %q, want %q", pair[0], pair[1], got, tt.want)
			}
		}
	}
}

func TestParseTCP(t *testing.T) {
	for in, want := range map[string]string{":8081": ":8081", "127.0.0.1:8081": "127.0.0.1:8081",
		"localhost:8081": "127.0.0.1:8081", "[::1]:0": "[::1]:0"} {
		if s, err := ParseTCP(in); err != nil || s != (Spec{Network: "tcp", Address: want}) {
			t.Errorf("ParseTCP(%q) = %+v, %v; want address %s", in, s, err, want)
		}
	}
	for _, in := range []string{"bogus", "127.0.0.1:99999", "example.com:80", "unix:///x", ""} {
		if _, err := ParseTCP(in); err == nil {
			t.Errorf("ParseTCP(%q): got no error", in)
		}
	}
}
