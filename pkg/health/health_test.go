package health

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func probe(t *testing.T, mux *http.ServeMux, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

func TestProbes(t *testing.T) {
	var log bytes.Buffer
	h := New(slog.New(slog.NewTextHandler(&log, nil)))
	mux := http.NewServeMux()
	h.Register(mux)

	if code, _ := probe(t, mux, "/livez"); code != http.StatusOK {
		t.Errorf("/livez = %d, want 200", code)
	}
	if code, body := probe(t, mux, "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "starting") {
		t.Errorf("/readyz before any update = %d %q, want 503 starting", code, body)
	}
	h.Update(true, "")
	if code, _ := probe(t, mux, "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz when ready = %d, want 200", code)
	}
	h.Update(false, "no worker in slot 2")
	h.Update(false, "no worker in slot 2")
	if code, body := probe(t, mux, "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "slot 2") {
		t.Errorf("/readyz = %d %q, want 503 naming slot 2", code, body)
	}
	if n := strings.Count(log.String(), "readiness changed"); n != 2 {
		t.Errorf("logged %d changes, want 2 (a repeated state is not logged):\n%s", n, log.String())
	}
}
