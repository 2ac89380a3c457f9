package loadtest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestProblemCode(t *testing.T) {
	tests := []struct {
		body string
		want string
	}{
		{`{"type":"about:blank","status":503,"code":"overloaded"}`, "overloaded"},
		{`{"code":"rate_limited","detail":"slow down"}`, "rate_limited"},
		{`{"code":"Bad Code"}`, ""},
		{`{"code":"` + string(bytes.Repeat([]byte("a"), 41)) + `"}`, ""},
		{`{"code":""}`, ""},
		{`not json`, ""},
		{``, ""},
		{`{"code":"overloaded<script>"}`, ""},
	}
	for _, tt := range tests {
		if got := problemCode([]byte(tt.body)); got != tt.want {
			t.Errorf("problemCode(%q) = %q, want %q", tt.body, got, tt.want)
		}
	}
}

func TestOutcomeString(t *testing.T) {
	tests := []struct {
		o    outcome
		want string
		ok   bool
	}{
		{outcome{status: 200}, "200", true},
		{outcome{status: 201}, "201", true},
		{outcome{status: 503, code: "overloaded"}, "503 overloaded", false},
		{outcome{status: 404}, "404", false},
		{outcome{code: "timeout"}, "error: timeout", false},
	}
	for _, tt := range tests {
		if got := tt.o.String(); got != tt.want {
			t.Errorf("outcome%+v.String() = %q, want %q", tt.o, got, tt.want)
		}
		if got := tt.o.ok(); got != tt.ok {
			t.Errorf("outcome%+v.ok() = %v, want %v", tt.o, got, tt.ok)
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{context.Canceled, "canceled"},
		{context.DeadlineExceeded, "timeout"},
		{os.ErrDeadlineExceeded, "timeout"},
		{&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, "connection refused"},
		{syscall.ECONNRESET, "connection reset"},
		{io.ErrUnexpectedEOF, "connection reset"},
		{errNotLoopback, "refused non-loopback"},
		{errors.New("tls: bad certificate"), "other"},
	}
	for _, tt := range tests {
		if got := classify(tt.err); got != tt.want {
			t.Errorf("classify(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

// TestTransportDialsLoopbackOnly checks the guard that stands behind
// CheckAddr: the dialer refuses a non-loopback address before connecting
// (192.0.2.1 is TEST-NET-1, which nothing answers anyway).
func TestTransportDialsLoopbackOnly(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	req, err := newGet(ctx, "http://192.0.2.1:9/healthz", "")
	if err != nil {
		t.Fatal(err)
	}
	o, err := send(newTransport(1, time.Second, false), req, new(bytes.Buffer), false)
	if !errors.Is(err, errNotLoopback) || o.String() != "error: refused non-loopback" {
		t.Errorf("send(192.0.2.1) = %v, %v, want errNotLoopback", o, err)
	}
}

// TestSendDrainsAndReuses checks that responses go back to the pool: with
// bodies drained and closed, many sequential requests use one connection.
func TestSendDrainsAndReuses(t *testing.T) {
	srv, conns := newLocalServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"status":503,"code":"overloaded"}`)
			return
		}
		io.WriteString(w, `{"status":"ok","padding":"`+string(bytes.Repeat([]byte("x"), 8000))+`"}`)
	}))
	tr := newTransport(4, 5*time.Second, false)
	defer tr.CloseIdleConnections()
	req, err := newGet(t.Context(), srv+"/ok", "tok")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	for range 20 {
		if o, err := send(tr, req, &buf, false); err != nil || o.status != 200 {
			t.Fatalf("send(/ok) = %v, %v, want 200", o, err)
		}
	}
	fail, err := newGet(t.Context(), srv+"/fail", "")
	if err != nil {
		t.Fatal(err)
	}
	if o, err := send(tr, fail, &buf, false); err != nil || o.String() != "503 overloaded" {
		t.Errorf("send(/fail) = %v, %v, want 503 overloaded", o, err)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("21 sequential requests used %d connections, want 1", n)
	}
}
