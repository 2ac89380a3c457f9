package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/loadtest"
	"github.com/google/go-cmp/cmp"
)

func TestParseArgsDefaults(t *testing.T) {
	o, err := parseArgs(nil, new(bytes.Buffer))
	if err != nil {
		t.Fatalf("parseArgs() error = %v", err)
	}
	c := o.cfg
	if got, want := c.Addr.String(), "http://127.0.0.1:8080"; got != want {
		t.Errorf("default addr = %q, want %q", got, want)
	}
	wantPhases := []loadtest.Phase{
		{Kind: loadtest.KindLogin, Concurrency: 1}, {Kind: loadtest.KindLogin, Concurrency: 8},
		{Kind: loadtest.KindLogin, Concurrency: 32}, {Kind: loadtest.KindLogin, Concurrency: 64},
		{Kind: loadtest.KindRegister, Concurrency: 8}, {Kind: loadtest.KindMe, Concurrency: 32},
		{Kind: loadtest.KindRefresh, Concurrency: 8},
	}
	if diff := cmp.Diff(wantPhases, c.Phases); diff != "" {
		t.Errorf("default phases (-want +got):\n%s", diff)
	}
	if c.Users != 64 || c.Duration != 10*time.Second || c.BcryptCost != 10 || c.BoundDuration != 2*time.Second ||
		c.MaxRequests != 1_000_000 || c.AllowRemote || c.ProbeHealthz || c.Password != "Bench-Passw0rd-{n}" || c.RunID == "" {
		t.Errorf("default config = %+v, want users 64, 10s phases, cost 10, 2s bound, 1e6 cap, loopback only, no probe, a run id", c)
	}
}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		check   func(options) string // "" when the options are right
		wantErr string
	}{
		{
			name: "every flag",
			args: []string{"--addr", "http://localhost:9000", "--users", "8", "--phases", "me:16", "--duration", "3s",
				"--max-requests", "500", "--timeout", "4s", "--bcrypt-cost", "12", "--bound-duration", "1s",
				"--probe-healthz", "--password", "Another-Pass-{n}", "--run-id", "r1", "--json", "out.json", "--svg", "out.svg"},
			check: func(o options) string {
				c := o.cfg
				if c.Addr.String() != "http://localhost:9000" || c.Users != 8 || len(c.Phases) != 1 || c.Phases[0].Concurrency != 16 ||
					c.Duration != 3*time.Second || c.MaxRequests != 500 || c.Timeout != 4*time.Second || c.BcryptCost != 12 ||
					c.BoundDuration != time.Second || !c.ProbeHealthz || c.Password != "Another-Pass-{n}" || c.RunID != "r1" ||
					o.jsonOut != "out.json" || o.svgOut != "out.svg" {
					return "flags not all applied"
				}
				return ""
			},
		},
		{
			name: "remote allowed explicitly",
			args: []string{"--addr", "http://192.0.2.10:8080", "--allow-remote"},
			check: func(o options) string {
				if !o.cfg.AllowRemote || o.cfg.Addr.Host != "192.0.2.10:8080" {
					return "remote address not accepted"
				}
				return ""
			},
		},
		{name: "remote refused", args: []string{"--addr", "http://192.0.2.10:8080"}, wantErr: "--allow-remote"},
		{name: "host name refused", args: []string{"--addr", "https://auth.example.com"}, wantErr: "not a loopback"},
		{name: "bad phases", args: []string{"--phases", "login:0"}, wantErr: "from 1 to 4096"},
		{name: "unknown flag", args: []string{"--concurrency", "8"}, wantErr: "flag provided but not defined"},
		{name: "stray argument", args: []string{"login"}, wantErr: "unexpected arguments"},
	}
	for _, tt := range tests {
		o, err := parseArgs(tt.args, new(bytes.Buffer))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseArgs(%s) error = %v, want one containing %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseArgs(%s) error = %v, want none", tt.name, err)
			continue
		}
		if msg := tt.check(o); msg != "" {
			t.Errorf("parseArgs(%s): %s: %+v", tt.name, msg, o)
		}
	}
}

func TestRunHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"-h"}, &stdout, &stderr)
	if !errors.Is(err, flag.ErrHelp) {
		t.Errorf("run(-h) error = %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{"-allow-remote", "-phases", "-probe-healthz", "-bcrypt-cost"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("run(-h) usage lacks %q", want)
		}
	}
}

// TestRunSendsNothingToARemoteAddress checks that a refused address stops
// the run before any output file or request is made.
func TestRunSendsNothingToARemoteAddress(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"--addr", "http://192.0.2.10:8080", "--json", dir + "/out.json"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "--allow-remote") {
		t.Errorf("run(remote) error = %v, want a refusal naming --allow-remote", err)
	}
	if stdout.Len() != 0 {
		t.Errorf("run(remote) printed %q, want nothing", stdout.String())
	}
	if _, err := os.Stat(dir + "/out.json"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("run(remote) left a results file (stat error %v), want none", err)
	}
}

func TestRunMedian(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for i, rps := range []float64{100, 300, 200} {
		r := &loadtest.Report{Tool: "authbench", RunID: "r" + string(rune('a'+i)), Phases: []loadtest.PhaseResult{
			{Kind: loadtest.KindMe, Concurrency: 32, RPS: rps, OKPerSecond: rps, Statuses: map[string]int{"200": 1}},
		}}
		var b bytes.Buffer
		if err := r.WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		f := dir + "/run" + string(rune('a'+i)) + ".json"
		if err := os.WriteFile(f, b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	out, svg := dir+"/m.json", dir+"/m.svg"
	var stdout, stderr bytes.Buffer
	args := append([]string{"median", files[0], "--json", out}, append(files[1:], "--svg", svg)...)
	if err := run(t.Context(), args, &stdout, &stderr); err != nil {
		t.Fatalf("run(median) = %v; stderr %s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "median of 3 runs") || !strings.Contains(stdout.String(), "200.0") {
		t.Errorf("median table lacks the run count or the median 200 req/s:\n%s", stdout.String())
	}
	for _, f := range []string{out, svg} {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}

	bad := dir + "/bad.json"
	if err := os.WriteFile(bad, []byte(`{"tool":"other"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"median"}, {"median", bad}, {"median", dir + "/missing.json"}} {
		if err := run(t.Context(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("run(%q) = nil error, want one", args)
		}
	}
}
