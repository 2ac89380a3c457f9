package adminapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authserve/authserve/internal/adminapi"
	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/breaker"
	"github.com/authserve/authserve/internal/httpapi"
	"github.com/authserve/authserve/internal/lockout"
	"github.com/authserve/authserve/internal/mail"
	"github.com/authserve/authserve/internal/mysqltest"
	"github.com/authserve/authserve/internal/pgtest"
	"github.com/authserve/authserve/internal/sqlstore"
	"github.com/authserve/authserve/internal/token"
)

const testPassword = "Correct-Horse-42"

// engines are the databases every admin test runs on: SQLite always,
// PostgreSQL and MariaDB when their URLs are set.
var engines = []struct {
	name string
	skip func(testing.TB)
	opts func(testing.TB) sqlstore.Options
}{
	{"SQLite", func(testing.TB) {}, func(t testing.TB) sqlstore.Options {
		return sqlstore.Options{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "auth.db")}
	}},
	{"Postgres", pgtest.SkipIfUnset, func(t testing.TB) sqlstore.Options {
		return sqlstore.Options{Driver: "postgres", DSN: pgtest.DSN(t)}
	}},
	{"MariaDB", mysqltest.SkipIfUnset, func(t testing.TB) sqlstore.Options {
		return sqlstore.Options{Driver: "mysql", DSN: mysqltest.DSN(t)}
	}},
}

// forEngine runs fn on a fresh environment per engine.
func forEngine(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			eng.skip(t)
			fn(t, newEnv(t, eng.opts(t), nil))
		})
	}
}

// env is the public API and the admin API on one database, as
// cmd/authserve wires them: a breaker around the store, the audit log on.
type env struct {
	t      testing.TB
	pub    *httptest.Server
	admin  *httptest.Server
	svc    *auth.Service
	db     *sqlstore.Store
	writer *auth.AuditWriter
	key    string
}

func newEnv(t testing.TB, o sqlstore.Options, rdb *redis.Client) *env {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, o)
	if err != nil {
		t.Fatalf("sqlstore.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	store := breaker.NewStore(db, db, breaker.Options{})
	var lock auth.Lockout = store
	if rdb != nil {
		lock = lockout.NewFallback(lockout.NewRedis(rdb, "adminapi-test:"+strings.ReplaceAll(t.Name(), "/", ":")+":"), store, nil)
	}
	hasher, err := auth.NewHasher(4, 2, time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := token.NewHMACKeySet([]byte("adminapi-test-secret-0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := token.NewManager(token.Config{Issuer: "authserve", TTL: 15 * time.Minute}, keys)
	if err != nil {
		t.Fatal(err)
	}
	composer, err := mail.NewComposer("https://app.example.com", "")
	if err != nil {
		t.Fatal(err)
	}
	writer := auth.NewAuditWriter(store, auth.AuditWriterOptions{Flush: 10 * time.Millisecond})
	t.Cleanup(func() { writer.Close(context.Background()) })
	svc := auth.NewService(auth.Config{
		Password:           auth.PasswordPolicy{MinLength: 8, MinClasses: 3},
		RefreshTokenTTL:    time.Hour,
		SessionMaxLifetime: 24 * time.Hour,
		LockoutThreshold:   3, LockoutAccountThreshold: 5, LockoutDuration: 15 * time.Minute,
		Recovery: auth.RecoveryConfig{VerifyTTL: time.Hour, ResetTTL: time.Hour, Cooldown: time.Minute},
	}, auth.Deps{Store: store, Hasher: hasher, Tokens: tokens, Lockout: lock, Audit: writer, Admin: store, AuditLog: store,
		Recovery: store, Mail: composer})
	pub := httptest.NewServer(httpapi.NewHandler(httpapi.Options{Service: svc, ClientIP: forwardedFor}))
	t.Cleanup(pub.Close)
	adm := httptest.NewServer(adminapi.NewHandler(adminapi.Options{Service: svc, Version: "test"}))
	t.Cleanup(adm.Close)
	key, _, err := svc.CreateAdminKey(auth.WithOrigin(ctx, auth.Origin{Actor: auth.ActorCLI}), "test")
	if err != nil {
		t.Fatalf("CreateAdminKey: %v", err)
	}
	return &env{t: t, pub: pub, admin: adm, svc: svc, db: db, writer: writer, key: key}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

// code is the problem code of an error response.
func (r response) code(t testing.TB) string {
	t.Helper()
	c, _ := r.json(t)["code"].(string)
	return c
}

func send(t testing.TB, srv *httptest.Server, method, path string, body any, headers ...string) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// adm sends an admin request with the environment's key.
func (e *env) adm(method, path string, body any, headers ...string) response {
	e.t.Helper()
	return send(e.t, e.admin, method, path, body, append([]string{"Authorization", "Bearer " + e.key}, headers...)...)
}

// pubReq sends a request to the public API.
func (e *env) pubReq(method, path string, body any, headers ...string) response {
	e.t.Helper()
	return send(e.t, e.pub, method, path, body, headers...)
}

// createUser creates an account through the admin API and returns its id.
func (e *env) createUser(email string) int64 {
	e.t.Helper()
	r := e.adm("POST", "/admin/users", map[string]any{"email": email, "password": testPassword})
	if r.status != http.StatusCreated {
		e.t.Fatalf("create %s: %d %s", email, r.status, r.body)
	}
	return int64(r.json(e.t)["id"].(float64))
}

func (e *env) login(email, password string, headers ...string) response {
	e.t.Helper()
	return e.pubReq("POST", "/api/auth/login", map[string]any{"email": email, "password": password}, headers...)
}

// redisClient connects to AUTH_TEST_REDIS_URL or skips.
func redisClient(t *testing.T) *redis.Client {
	t.Helper()
	url := os.Getenv("AUTH_TEST_REDIS_URL")
	if url == "" {
		t.Skip("AUTH_TEST_REDIS_URL not set: skipping the Redis unlock test")
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

// forwardedFor believes X-Forwarded-For, so that tests can log in from
// several addresses.
func forwardedFor(r *http.Request) string {
	if v := r.Header.Get("X-Forwarded-For"); v != "" {
		return v
	}
	host, _, _ := strings.Cut(r.RemoteAddr, ":")
	return host
}
