package deploy

// The deployment checks: without Docker, the files of deploy/, the
// Dockerfile, .dockerignore and docs/deployment.md agree with each other
// and with the code. Every AUTH_* variable they name exists, ports and
// paths match (8080, /healthz, /data), the proxy's upstreams are the
// replicas, the trusted-proxy CIDR is the proxy network's subnet, the
// migrations run once before the replicas, pools fit PostgreSQL, and no
// secret can reach an image. When deploy/authserve.env and deploy/secrets/
// exist (on a deployment host) they are checked too, and no secret is
// printed.
//
//	go test ./deploy

import (
	"maps"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/authserve/authserve/internal/config"
)

const root = ".."

func read(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatalf("read %s: %v", rel, err)
	}
	return string(b)
}

func load(t *testing.T) *Compose {
	t.Helper()
	c, err := LoadCompose("compose.yaml")
	if err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	return c
}

// stack is compose.yaml's cast: which service plays which part.
type stack struct {
	*Compose
	replicas                        []string
	migrate, postgres, redis, proxy string
}

func cast(t *testing.T) stack {
	t.Helper()
	s := stack{Compose: load(t)}
	names := slices.Sorted(maps.Keys(s.Services))
	for _, name := range names {
		svc := s.Services[name]
		switch {
		case strings.HasPrefix(svc.Image, "authserve:"):
			switch strings.Join(svc.Command, " ") {
			case "serve":
				s.replicas = append(s.replicas, name)
			case "migrate up":
				s.migrate = name
			default:
				t.Errorf("service %s runs the authserve image with an unexpected command %q", name, svc.Command)
			}
		case strings.HasPrefix(svc.Image, "postgres:") && s.postgres == "":
			s.postgres = name
		case strings.HasPrefix(svc.Image, "redis:") && s.redis == "":
			s.redis = name
		case strings.HasPrefix(svc.Image, "caddy:") && s.proxy == "":
			s.proxy = name
		}
	}
	if len(s.replicas) < 2 {
		t.Fatalf("want at least two authserve replicas, found %v", s.replicas)
	}
	for part, name := range map[string]string{"migrate job": s.migrate, "PostgreSQL": s.postgres, "Redis": s.redis, "Caddy proxy": s.proxy} {
		if name == "" {
			t.Fatalf("compose.yaml has no %s service", part)
		}
	}
	return s
}

// dockerfile is the Dockerfile's instructions, continuation lines joined,
// comments dropped.
func dockerfile(t *testing.T) []string {
	var out []string
	cur := ""
	for _, l := range strings.Split(read(t, "Dockerfile"), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		if s, ok := strings.CutSuffix(l, "\\"); ok {
			cur += s
			continue
		}
		if line := strings.TrimSpace(cur + l); line != "" {
			out = append(out, line)
		}
		cur = ""
	}
	return out
}

func instr(lines []string, word string) []string {
	var out []string
	for _, l := range lines {
		if strings.HasPrefix(l, word+" ") {
			out = append(out, strings.TrimSpace(strings.TrimPrefix(l, word)))
		}
	}
	return out
}

// envFile parses NAME=VALUE lines (the last assignment wins).
func envFile(text string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(text, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(strings.TrimSpace(l), "#") {
			m[strings.TrimSpace(k)] = v
		}
	}
	return m
}

func TestYAMLParses(t *testing.T) {
	c := load(t)
	for name := range c.Services {
		if _, err := c.Env(name); err != nil {
			t.Error(err)
		}
	}
	var alerts any
	if err := yaml.Unmarshal([]byte(read(t, "deploy/prometheus/alerts.yml")), &alerts); err != nil {
		t.Errorf("deploy/prometheus/alerts.yml: %v", err)
	}
}

var authVar = regexp.MustCompile(`\bAUTH_[A-Z0-9]+(_[A-Z0-9]+)*`)

func TestVariablesExist(t *testing.T) {
	known := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#? *(AUTH_[A-Z0-9_]+)=`).FindAllStringSubmatch(read(t, ".env.example"), -1) {
		known[m[1]] = true
	}
	configured := config.Variables()
	sources := []string{"Dockerfile", "deploy/compose.yaml", "deploy/authserve.env.example", "deploy/Caddyfile",
		"deploy/prometheus/alerts.yml", "docs/deployment.md", "deploy/local-replicas.sh"}
	if _, err := os.Stat("authserve.env"); err == nil {
		sources = append(sources, "deploy/authserve.env")
	}
	named := map[string]bool{}
	for _, f := range sources {
		for _, v := range authVar.FindAllString(read(t, f), -1) {
			named[v] = true
		}
	}
	for v := range named {
		if !known[v] {
			t.Errorf("%s is named in the deployment files but not in .env.example", v)
		}
		if !slices.Contains(configured, v) {
			t.Errorf("%s is named in the deployment files but not read by internal/config", v)
		}
	}
	if len(named) < 10 {
		t.Errorf("only %d AUTH_* variables found in the deployment files: is the pattern right?", len(named))
	}
}

func TestDockerfile(t *testing.T) {
	df := dockerfile(t)
	froms := instr(df, "FROM")
	if len(froms) < 2 {
		t.Errorf("want a multi-stage build, got %d FROM", len(froms))
	}
	final := strings.Fields(froms[len(froms)-1])[0]
	if !regexp.MustCompile(`^gcr\.io/distroless/static(-debian[0-9]+)?:nonroot$|^scratch$`).MatchString(final) {
		t.Errorf("final image %s: want gcr.io/distroless/static-debian12:nonroot or scratch", final)
	}
	build := strings.Join(instr(df, "RUN"), "\n")
	for _, flag := range []string{"CGO_ENABLED=0", "-trimpath", "-s -w", "-X main.version=", "-X main.commit="} {
		if !strings.Contains(build, flag) {
			t.Errorf("go build lacks %s", flag)
		}
	}
	if !regexp.MustCompile(`(?m)^(var )?\s*version\s+=`).MatchString(read(t, "cmd/authserve/run.go")) {
		t.Errorf("cmd/authserve has no variable main.version for -X to set")
	}
	gomod := read(t, "go.mod")
	goLine := regexp.MustCompile(`(?m)^go (\S+)`).FindStringSubmatch(gomod)
	toolchain := regexp.MustCompile(`(?m)^toolchain go(\S+)`).FindStringSubmatch(gomod)
	args := map[string]string{}
	for _, a := range instr(df, "ARG") {
		if k, v, ok := strings.Cut(a, "="); ok {
			args[k] = v
		}
	}
	if toolchain == nil || args["GO_VERSION"] != toolchain[1] {
		t.Errorf("builder Go %q, want go.mod's toolchain %v (the golang images set GOTOOLCHAIN=local)", args["GO_VERSION"], toolchain)
	}
	if goLine == nil || versionLess(args["GO_VERSION"], goLine[1]) {
		t.Errorf("builder Go %q is older than go.mod's go %v", args["GO_VERSION"], goLine)
	}
	users := instr(df, "USER")
	user := ""
	if len(users) > 0 {
		user = users[len(users)-1]
	}
	if uid, _, _ := strings.Cut(user, ":"); uid == "" || uid == "0" || uid == "root" {
		t.Errorf("USER %q is root or missing", user)
	}
	if got := instr(df, "EXPOSE"); !slices.Equal(got, []string{"8080"}) {
		t.Errorf("EXPOSE %v, want 8080", got)
	}
	env := strings.Join(instr(df, "ENV"), " ")
	if !strings.Contains(env, "AUTH_ADDR=:8080") {
		t.Errorf("image ENV %q: want AUTH_ADDR=:8080, the EXPOSE port", env)
	}
	if !strings.Contains(env, "AUTH_DATABASE_URL=sqlite:/data/authserve.db") {
		t.Errorf("image ENV %q: want AUTH_DATABASE_URL=sqlite:/data/authserve.db", env)
	}
	if !slices.ContainsFunc(instr(df, "VOLUME"), func(v string) bool { return strings.Contains(v, `"/data"`) }) {
		t.Errorf("no VOLUME /data")
	}
	if !slices.ContainsFunc(instr(df, "COPY"), func(c string) bool {
		return strings.Contains(c, "--chown="+user+" ") && strings.HasSuffix(c, " /data")
	}) {
		t.Errorf("/data is not copied --chown=%s", user)
	}
	entry := instr(df, "ENTRYPOINT")
	bin := ""
	if len(entry) == 1 {
		bin = strings.Trim(strings.Trim(entry[0], "[]"), `"`)
	}
	if !slices.ContainsFunc(instr(df, "COPY"), func(c string) bool { return strings.HasPrefix(c, "--from=") && strings.HasSuffix(c, " "+bin) }) {
		t.Errorf("ENTRYPOINT %q is not where the binary is copied", bin)
	}
	hc := strings.Join(instr(df, "HEALTHCHECK"), "")
	if !regexp.MustCompile(`CMD \["` + regexp.QuoteMeta(bin) + `",\s*"healthcheck"\]`).MatchString(hc) {
		t.Errorf("HEALTHCHECK %q: want CMD [%q, \"healthcheck\"] in exec form (no shell in the image)", hc, bin)
	}
	if !strings.Contains(read(t, "Dockerfile"), "BuildKit") {
		t.Errorf("the Dockerfile does not say that it needs BuildKit")
	}
}

func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(as), len(bs)) {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

func TestDockerignore(t *testing.T) {
	var patterns []string
	for _, l := range strings.Split(read(t, ".dockerignore"), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			patterns = append(patterns, l)
		}
	}
	if len(patterns) == 0 || patterns[0] != "*" {
		t.Fatalf("the first pattern of .dockerignore must exclude everything (*)")
	}
	var allowed []string
	for _, p := range patterns {
		if a, ok := strings.CutPrefix(p, "!"); ok {
			allowed = append(allowed, strings.TrimSuffix(a, "/"))
		}
	}
	covered := func(p string) bool {
		return slices.ContainsFunc(allowed, func(a string) bool { return p == a || strings.HasPrefix(p, a+"/") })
	}
	for _, p := range []string{".git", ".env", "deploy/authserve.env", "deploy/secrets/jwt_signing_key.pem", "authserve.db",
		"authserve.db.key", "authserve.key", "bin/authserve"} {
		if covered(p) {
			t.Errorf("the build context would include %s", p)
		}
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		goCmd = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	out, err := exec.Command(goCmd, "list", "-deps", "-f", "{{if .Module}}{{if .Module.Main}}{{.Dir}}{{end}}{{end}}", "../cmd/authserve").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	abs, _ := filepath.Abs(root)
	needed := []string{"go.mod", "go.sum"}
	for _, d := range strings.Fields(string(out)) {
		rel, _ := filepath.Rel(abs, d)
		needed = append(needed, rel)
	}
	for _, p := range needed {
		if !covered(p) {
			t.Errorf("the build context lacks %s, an input of ./cmd/authserve", p)
		}
	}
}

func TestComposeServices(t *testing.T) {
	s := cast(t)
	m := s.Services[s.migrate]
	if m.Restart != "no" {
		t.Errorf("%s restart %q, want no", s.migrate, m.Restart)
	}
	if got := m.DependsOn[s.postgres].Condition; got != "service_healthy" {
		t.Errorf("%s waits for %s: %q, want service_healthy", s.migrate, s.postgres, got)
	}
	// One image build for the three services: only the migrate job
	// builds, the replicas run what it built.
	if m.Build == nil {
		t.Errorf("%s does not build the image", s.migrate)
	}
	shutdown := envFile(read(t, "deploy/authserve.env.example"))["AUTH_SHUTDOWN_TIMEOUT"]
	if shutdown == "" {
		shutdown = "15s"
	}
	for _, r := range s.replicas {
		svc := s.Services[r]
		if svc.Image != m.Image {
			t.Errorf("%s image %q, want the migrate job's %q", r, svc.Image, m.Image)
		}
		if svc.Build != nil {
			t.Errorf("%s builds the image too: one build (the migrate job's) serves all three", r)
		}
		if got := s.EnvValue(r, "AUTH_AUTO_MIGRATE"); got != "false" {
			t.Errorf("%s AUTH_AUTO_MIGRATE=%q, want false", r, got)
		}
		for dep, cond := range map[string]string{s.migrate: "service_completed_successfully", s.postgres: "service_healthy", s.redis: "service_healthy"} {
			if got := svc.DependsOn[dep].Condition; got != cond {
				t.Errorf("%s waits for %s: %q, want %s", r, dep, got, cond)
			}
		}
		if addr := s.EnvValue(r, "AUTH_ADDR"); addr != "" && addr != ":8080" {
			t.Errorf("%s AUTH_ADDR %q, want :8080 (the image's EXPOSE)", r, addr)
		}
		if got := strings.Join(svc.Healthcheck.Test, " "); got != "CMD /usr/local/bin/authserve healthcheck" {
			t.Errorf("%s health check %q, want CMD /usr/local/bin/authserve healthcheck", r, got)
		}
		if len(svc.Ports) > 0 {
			t.Errorf("%s publishes ports %v: only the proxy may be reachable from outside", r, svc.Ports)
		}
		if !slices.Contains(svc.EnvFile, "authserve.env") {
			t.Errorf("%s does not read authserve.env", r)
		}
		wait := s.EnvValue(r, "AUTH_SHUTDOWN_TIMEOUT")
		if wait == "" {
			wait = shutdown
		}
		grace, err1 := time.ParseDuration(svc.StopGracePeriod)
		drain, err2 := time.ParseDuration(wait)
		if err1 != nil || err2 != nil || grace <= drain {
			t.Errorf("%s stop_grace_period %q must exceed AUTH_SHUTDOWN_TIMEOUT %s, or Docker kills requests mid-drain", r, svc.StopGracePeriod, wait)
		}
		key := s.EnvValue(r, "AUTH_JWT_PRIVATE_KEY_FILE")
		name, ok := strings.CutPrefix(key, "/run/secrets/")
		if !ok || !slices.Contains(svc.Secrets, name) || s.Compose.Secrets[name].File == "" {
			t.Errorf("%s AUTH_JWT_PRIVATE_KEY_FILE %q is not a compose secret mounted in the service", r, key)
		}
	}
	// The health check must reach the server over TCP: through the Unix
	// socket it would pass against the init-time server, which listens on
	// no TCP port, and migrate would start too early.
	pg := strings.Join(s.Services[s.postgres].Healthcheck.Test, " ")
	if !strings.Contains(pg, "pg_isready") || !regexp.MustCompile(`-h (127\.0\.0\.1|localhost)\b`).MatchString(pg) {
		t.Errorf("%s health check %q: want pg_isready -h 127.0.0.1 (TCP)", s.postgres, pg)
	}
}

func TestComposeNetworks(t *testing.T) {
	s := cast(t)
	proxyNets := s.Services[s.proxy].Networks
	trusted := map[string]bool{}
	for _, r := range s.replicas {
		var shared []string
		for _, n := range s.Services[r].Networks {
			if slices.Contains(proxyNets, n) {
				shared = append(shared, n)
			}
		}
		if len(shared) == 0 {
			t.Errorf("%s shares no network with %s", r, s.proxy)
			continue
		}
		var want []string
		for _, n := range shared {
			trusted[n] = true
			for _, c := range s.Networks[n].IPAM.Config {
				if c.Subnet != "" {
					want = append(want, c.Subnet)
				}
			}
		}
		if len(want) == 0 {
			t.Errorf("network(s) %v of %s and %s have no fixed subnet: AUTH_TRUSTED_PROXIES cannot be exact", shared, s.proxy, r)
			continue
		}
		if got := cidrs(t, s.EnvValue(r, "AUTH_TRUSTED_PROXIES")); !slices.Equal(got, cidrs(t, strings.Join(want, ","))) {
			t.Errorf("%s AUTH_TRUSTED_PROXIES %v, want the subnet of %v: %v", r, got, shared, want)
		}
	}
	for n := range trusted {
		for name, svc := range s.Services {
			if name != s.proxy && !slices.Contains(s.replicas, name) && slices.Contains(svc.Networks, n) {
				t.Errorf("%s joins the trusted network %s and could forge X-Forwarded-For", name, n)
			}
		}
	}
	for _, name := range []string{s.postgres, s.redis} {
		for _, n := range s.Services[name].Networks {
			if !s.Networks[n].Internal {
				t.Errorf("%s is on network %s, which has a way out", name, n)
			}
		}
	}
	proxy := s.Services[s.proxy]
	if !slices.ContainsFunc(proxy.Ports, func(p string) bool { return regexp.MustCompile(`(^|:)443(/tcp)?$`).MatchString(p) }) {
		t.Errorf("%s does not publish 443", s.proxy)
	}
	if !slices.Contains(proxy.Volumes, "./Caddyfile:/etc/caddy/Caddyfile:ro") {
		t.Errorf("%s does not mount ./Caddyfile at /etc/caddy/Caddyfile read-only", s.proxy)
	}
}

func cidrs(t *testing.T, list string) []string {
	var out []string
	for _, x := range strings.Split(list, ",") {
		if x = strings.TrimSpace(x); x == "" {
			continue
		}
		p, err := netip.ParsePrefix(x)
		if err != nil {
			t.Errorf("%q is not a CIDR", x)
			continue
		}
		out = append(out, p.Masked().String())
	}
	slices.Sort(out)
	return out
}

// TestConnectionBudget: during a rolling upgrade one more replica runs;
// the migrate job and an admin session take one each; PostgreSQL keeps 3
// for superusers. compose.yaml's comment and the guide give the same sum.
func TestConnectionBudget(t *testing.T) {
	s := cast(t)
	maxConn := 100
	for _, a := range s.Services[s.postgres].Command {
		if v, ok := strings.CutPrefix(a, "max_connections="); ok {
			maxConn, _ = strconv.Atoi(v)
		}
	}
	open, _ := strconv.Atoi(s.EnvValue(s.replicas[0], "AUTH_DB_MAX_OPEN_CONNS"))
	if open == 0 {
		open = 10 // the store's default for PostgreSQL
	}
	n := len(s.replicas)
	need := (n+1)*open + 2 + 3
	if need > maxConn {
		t.Errorf("(%d replicas + 1) x %d connections + 2 + 3 reserved = %d > max_connections %d", n, open, need, maxConn)
	}
	sum := strconv.Itoa(n) + " + 1) x " + strconv.Itoa(open) + " + 2 + 3 = " + strconv.Itoa(need)
	if !strings.Contains(read(t, "deploy/compose.yaml"), sum) {
		t.Errorf("compose.yaml's comment does not give the budget as (%s", sum)
	}
	if !strings.Contains(strings.ReplaceAll(read(t, "docs/deployment.md"), "×", "x"), sum) {
		t.Errorf("docs/deployment.md does not give the budget as (%s", sum)
	}
}

func TestEnvFiles(t *testing.T) {
	s := cast(t)
	check := func(label, text string) {
		env := envFile(text)
		for v := range s.Services[s.replicas[0]].Environment {
			if _, set := env[v]; set {
				t.Errorf("%s sets %s, which compose.yaml overrides", label, v)
			}
		}
		if env["AUTH_ENV"] != "production" {
			t.Errorf("%s AUTH_ENV %q, want production", label, env["AUTH_ENV"])
		}
		if env["AUTH_JWT_SECRET"] != "" {
			t.Errorf("%s sets AUTH_JWT_SECRET as well as the key file", label)
		}
		if c := env["AUTH_BCRYPT_COST"]; c != "" {
			if n, err := strconv.Atoi(c); err != nil || n < 10 {
				t.Errorf("%s AUTH_BCRYPT_COST %q is under 10", label, c)
			}
		}
		db, err := url.Parse(env["AUTH_DATABASE_URL"])
		if err != nil {
			t.Errorf("%s AUTH_DATABASE_URL is not a URL", label)
			return
		}
		if db.Scheme != "postgres" || db.Hostname() != s.postgres || db.Port() != "5432" ||
			db.User.Username() != s.EnvValue(s.postgres, "POSTGRES_USER") || db.Path != "/"+s.EnvValue(s.postgres, "POSTGRES_DB") {
			t.Errorf("%s AUTH_DATABASE_URL %s does not point at %s:5432 as its user and database", label, db.Redacted(), s.postgres)
		}
		rd, err := url.Parse(env["AUTH_REDIS_URL"])
		if err != nil || rd.Hostname() != s.redis || rd.Port() != "6379" {
			t.Errorf("%s AUTH_REDIS_URL does not point at %s:6379", label, s.redis)
		}
	}
	check("authserve.env.example", read(t, "deploy/authserve.env.example"))

	text, err := os.ReadFile("authserve.env")
	if err != nil {
		t.Log("deploy/authserve.env does not exist (normal outside a deployment): only the example is checked")
	} else {
		check("authserve.env", string(text))
		if regexp.MustCompile(`(?m)^[^#].*CHANGE-ME`).Match(text) {
			t.Errorf("authserve.env still has CHANGE-ME placeholders")
		}
		env := envFile(string(text))
		for v, secret := range map[string]string{"AUTH_DATABASE_URL": "postgres_password", "AUTH_REDIS_URL": "redis_password"} {
			file := s.Compose.Secrets[secret].File
			pw, err := os.ReadFile(file)
			if err != nil {
				t.Logf("%s does not exist yet", file)
				continue
			}
			u, err := url.Parse(env[v])
			got, _ := u.User.Password()
			if err != nil || got != strings.TrimRight(string(pw), "\n") {
				t.Errorf("the password in %s differs from %s", v, file) // neither is printed
			}
		}
		if err := exec.Command("git", "-C", root, "check-ignore", "-q", "deploy/authserve.env").Run(); err != nil {
			t.Errorf("deploy/authserve.env is not ignored by git")
		}
	}
	for name, sec := range s.Compose.Secrets {
		fi, err := os.Stat(sec.File)
		if err != nil {
			continue
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("secret %s (%s) mode %v: group or others can read it (chmod 0400)", name, sec.File, fi.Mode().Perm())
		}
	}
}

func TestCaddyfile(t *testing.T) {
	s := cast(t)
	var lines []string
	for _, l := range strings.Split(read(t, "deploy/Caddyfile"), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	caddy := strings.Join(lines, "\n")
	var upstreams []string
	if m := regexp.MustCompile(`(?m)^reverse_proxy\s+([^{]+)`).FindStringSubmatch(caddy); m != nil {
		upstreams = strings.Fields(m[1])
	}
	slices.Sort(upstreams)
	var want []string
	for _, r := range s.replicas {
		want = append(want, r+":8080")
	}
	if !slices.Equal(upstreams, want) {
		t.Errorf("reverse_proxy upstreams %v, want the replicas %v", upstreams, want)
	}
	for what, re := range map[string]string{
		"X-Forwarded-For set to the connecting address": `(?m)^header_up\s+X-Forwarded-For\s+\{remote_host\}`,
		"an HSTS header":                     `Strict-Transport-Security\s+"max-age=[1-9][0-9]*`,
		"a health check of /healthz":         `(?m)^health_uri\s+/healthz$`,
		"/metrics blocked (404) at the edge": `(?m)^@metrics\s+path\s+/metrics(.|\n)*^respond\s+@metrics\s+404`,
	} {
		if !regexp.MustCompile(re).MatchString(caddy) {
			t.Errorf("the Caddyfile lacks %s", what)
		}
	}
}

func TestGuideAndAlerts(t *testing.T) {
	s := cast(t)
	guide := read(t, "docs/deployment.md")
	for _, want := range []string{"/healthz", "/readyz", "/metrics", "/data", "8080", "authserve healthcheck",
		"authserve migrate up", "authserve keys generate", s.EnvValue(s.replicas[0], "AUTH_TRUSTED_PROXIES"),
		"BuildKit", "DOCKER_BUILDKIT=1", "Compose v2", "go test ./deploy"} {
		if !strings.Contains(guide, want) {
			t.Errorf("the guide never mentions %s", want)
		}
	}
	var alerts struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal([]byte(read(t, "deploy/prometheus/alerts.yml")), &alerts); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range alerts.Groups {
		for _, r := range g.Rules {
			n++
			if !strings.Contains(guide, r.Expr) {
				t.Errorf("alert %s: its expr is not in the guide verbatim: %s", r.Alert, r.Expr)
			}
		}
	}
	if n == 0 {
		t.Errorf("no alerting rules in deploy/prometheus/alerts.yml")
	}
	var code strings.Builder
	files, _ := filepath.Glob(filepath.Join(root, "internal/metrics/*.go"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		code.Write(b)
	}
	names := map[string]bool{}
	for _, src := range []string{guide, read(t, "deploy/prometheus/alerts.yml"), read(t, "deploy/Caddyfile")} {
		for _, m := range regexp.MustCompile(`\bauthserve_[a-z_]+`).FindAllString(src, -1) {
			names[regexp.MustCompile(`_(bucket|sum|count)$`).ReplaceAllString(m, "")] = true
		}
	}
	for m := range names {
		if !strings.Contains(code.String(), `"`+m+`"`) {
			t.Errorf("metric %s is named in the guide or alerts but not defined in internal/metrics", m)
		}
	}
	for _, m := range regexp.MustCompile(`\]\((\.\./[^)#]+)`).FindAllStringSubmatch(guide, -1) {
		if _, err := os.Stat(filepath.Join(root, "docs", m[1])); err != nil {
			t.Errorf("the guide links to %s, which does not exist", m[1])
		}
	}
	prose := regexp.MustCompile("(?ms)^```.*?^```").ReplaceAllString(guide, "")
	slugs := map[string]bool{}
	for _, h := range regexp.MustCompile(`(?m)^#+ (.*)$`).FindAllStringSubmatch(prose, -1) {
		slug := strings.ReplaceAll(regexp.MustCompile(`[^\w\- ]`).ReplaceAllString(strings.ToLower(strings.TrimSpace(h[1])), ""), " ", "-")
		slugs[slug] = true
	}
	for _, m := range regexp.MustCompile(`\]\(#([^)]+)\)`).FindAllStringSubmatch(prose, -1) {
		if !slugs[m[1]] {
			t.Errorf("the guide links to #%s, which is no section of it", m[1])
		}
	}
}

func TestScripts(t *testing.T) {
	for _, f := range []string{"local-replicas.sh"} {
		if out, err := exec.Command("bash", "-n", f).CombinedOutput(); err != nil {
			t.Errorf("bash -n %s: %v\n%s", f, err, out)
		}
		if sc, err := exec.LookPath("shellcheck"); err == nil {
			if out, err := exec.Command(sc, f).CombinedOutput(); err != nil {
				t.Errorf("shellcheck %s: %v\n%s", f, err, out)
			}
		}
	}
}
