// Package dbtest is the provisioning that pgtest and mysqltest share: skip
// when the server's variable is unset, create a uniquely named schema or
// database, drop it when the test ends, and fail (not skip) when a server
// that was named cannot be reached.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"
)

// Timeout bounds each create and drop.
const Timeout = 30 * time.Second

// Server is one engine's way of provisioning a test database.
type Server struct {
	// Tool names the package in messages, e.g. "pgtest".
	Tool string
	// EnvURL is the variable that names the server.
	EnvURL string
	// Engine names the engine in the skip message, e.g. "PostgreSQL".
	Engine string
	// Name returns a fresh name for the test's schema or database.
	Name func(testName string) string
	// Create creates the schema or database name on the server at base.
	Create func(ctx context.Context, base, name string) error
	// Drop drops it with everything in it.
	Drop func(ctx context.Context, base, name string) error
	// DSN is what the test opens: base pointed at name.
	DSN func(base, name string) (string, error)
}

// SkipIfUnset skips the test when the server's variable is unset: call it
// at the top of a group of subtests to skip them once, not one by one.
func (s Server) SkipIfUnset(t testing.TB) {
	t.Helper()
	if os.Getenv(s.EnvURL) == "" {
		t.Skip(s.EnvURL + " not set: skipping " + s.Engine + " tests")
	}
}

// Provision skips the test when the variable is unset; otherwise it
// creates a fresh schema or database, arranges for it to be dropped when
// the test ends, and returns the DSN that opens it. Errors never quote the
// server URL, which may hold a password.
func (s Server) Provision(t testing.TB) string {
	t.Helper()
	s.SkipIfUnset(t)
	base := os.Getenv(s.EnvURL)
	name := s.Name(t.Name())
	dsn, err := s.DSN(base, name)
	if err != nil {
		t.Fatalf("%s: %s: %v", s.Tool, s.EnvURL, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	if err := s.Create(ctx, base, name); err != nil {
		t.Fatalf("%s: create %s: %v", s.Tool, name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), Timeout)
		defer cancel()
		if err := s.Drop(ctx, base, name); err != nil {
			t.Errorf("%s: drop %s: %v", s.Tool, name, err)
		}
	})
	return dsn
}

// RandomHex returns 16 random hex digits, for names no parallel test
// shares.
func RandomHex() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}
