// Package mailpit gives tests a real SMTP server to deliver to and read
// back from: Mailpit (github.com/axllent/mailpit), either the shared one
// named by AUTH_TEST_SMTP_URL (with its HTTP API at AUTH_TEST_MAILPIT_API,
// by default the SMTP host on port 8025), or a private one a test starts,
// stops and restarts itself (Start), for fault tests.
package mailpit

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Shared returns the SMTP URL and API base of the shared Mailpit, or skips
// the test, loudly, when AUTH_TEST_SMTP_URL is not set.
func Shared(t testing.TB) (smtpURL, api string) {
	t.Helper()
	smtpURL = os.Getenv("AUTH_TEST_SMTP_URL")
	if smtpURL == "" {
		t.Skip("SKIPPED: AUTH_TEST_SMTP_URL is not set (e.g. smtp+plain://127.0.0.1:1025 with Mailpit running); no delivery over real SMTP tested")
	}
	api = os.Getenv("AUTH_TEST_MAILPIT_API")
	if api == "" {
		u, err := url.Parse(smtpURL)
		if err != nil {
			t.Fatalf("AUTH_TEST_SMTP_URL: %v", err)
		}
		api = "http://" + net.JoinHostPort(u.Hostname(), "8025")
	}
	return smtpURL, api
}

// Binary finds the mailpit binary: on PATH, or in $GOPATH/bin (go install's
// destination), or skips the test loudly.
func Binary(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("mailpit"); err == nil {
		return p
	}
	var dirs []string
	if gp := os.Getenv("GOPATH"); gp != "" {
		dirs = append(dirs, filepath.Join(gp, "bin"))
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		dirs = append(dirs, filepath.Join(string(trimNL(out)), "bin"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go", "bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "mailpit")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skip("SKIPPED: no mailpit binary (go install github.com/axllent/mailpit@v1.33.1); SMTP fault test not run")
	return ""
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// Server is a private Mailpit on random loopback ports.
type Server struct {
	t        testing.TB
	bin      string
	SMTPAddr string
	API      string
	cmd      *exec.Cmd
	db       string
}

// freePort returns a loopback port nobody listens on right now.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// New reserves ports for a private Mailpit without starting it, so that a
// test can point authserve at an SMTP server that is down.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, bin: Binary(t), db: filepath.Join(t.TempDir(), "mailpit.db")}
	s.SMTPAddr = "127.0.0.1:" + strconv.Itoa(freePort(t))
	s.API = "http://127.0.0.1:" + strconv.Itoa(freePort(t))
	t.Cleanup(s.Stop)
	return s
}

// SMTPURL is the server's URL for AUTH_SMTP_URL.
func (s *Server) SMTPURL() string { return "smtp+plain://" + s.SMTPAddr }

// Start runs the server (again) and waits until both ports answer. Its
// database persists across restarts.
func (s *Server) Start() {
	s.t.Helper()
	apiHost := s.API[len("http://"):]
	s.cmd = exec.Command(s.bin, "--smtp", s.SMTPAddr, "--listen", apiHost, "--database", s.db,
		"--smtp-auth-accept-any", "--smtp-auth-allow-insecure", "--disable-version-check", "--quiet")
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start mailpit: %v", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		c1, err1 := net.DialTimeout("tcp", s.SMTPAddr, time.Second)
		resp, err2 := http.Get(s.API + "/api/v1/info")
		if err1 == nil {
			c1.Close()
		}
		if err2 == nil {
			resp.Body.Close()
		}
		if err1 == nil && err2 == nil && resp.StatusCode == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			s.Stop()
			s.t.Fatalf("mailpit did not come up on %s / %s: %v %v", s.SMTPAddr, s.API, err1, err2)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop kills the server, if it runs, and waits for it to exit.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Summary is one message in Mailpit's list.
type Summary struct {
	ID      string `json:"ID"`
	Subject string `json:"Subject"`
	To      []struct {
		Address string `json:"Address"`
	} `json:"To"`
}

// Message is one message in full.
type Message struct {
	ID      string `json:"ID"`
	Subject string `json:"Subject"`
	Text    string `json:"Text"`
	HTML    string `json:"HTML"`
	From    struct {
		Address string `json:"Address"`
		Name    string `json:"Name"`
	} `json:"From"`
}

// To lists the messages Mailpit at api holds for the recipient address.
func To(t testing.TB, api, address string) []Summary {
	t.Helper()
	var out struct {
		Messages []Summary `json:"messages"`
	}
	get(t, api+"/api/v1/search?limit=1000&query="+url.QueryEscape(`to:"`+address+`"`), &out)
	// The search is by substring: keep exact recipients only.
	var exact []Summary
	for _, m := range out.Messages {
		for _, to := range m.To {
			if to.Address == address {
				exact = append(exact, m)
				break
			}
		}
	}
	return exact
}

// All lists every message Mailpit at api holds (up to 5000).
func All(t testing.TB, api string) []Summary {
	t.Helper()
	var out struct {
		Messages []Summary `json:"messages"`
	}
	get(t, api+"/api/v1/messages?limit=5000", &out)
	return out.Messages
}

// Get returns a message in full.
func Get(t testing.TB, api, id string) Message {
	t.Helper()
	var m Message
	get(t, api+"/api/v1/message/"+url.PathEscape(id), &m)
	return m
}

// WaitTo waits until Mailpit at api holds n messages for address and
// returns them in full, oldest first; it fails the test after timeout.
func WaitTo(t testing.TB, api, address string, n int, timeout time.Duration) []Message {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		list := To(t, api, address)
		if len(list) >= n {
			out := make([]Message, 0, len(list))
			for i := len(list) - 1; i >= 0; i-- {
				out = append(out, Get(t, api, list[i].ID))
			}
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v Mailpit holds %d messages for %s, want %d", timeout, len(list), address, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func get(t testing.TB, u string, v any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("Mailpit API %s: %v", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("Mailpit API %s: %s", u, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("Mailpit API %s: %v", u, err)
	}
}

// Unique returns an address no other test uses.
func Unique(t testing.TB, tag string) string {
	return fmt.Sprintf("%s-%d@example.com", tag, time.Now().UnixNano())
}
