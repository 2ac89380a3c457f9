package loadtest

import (
	"fmt"
	"strconv"
	"strings"
)

// Kind names what a phase asks the server to do.
type Kind string

// The phase kinds. Login and register are the password paths: each request
// costs the server one bcrypt computation.
const (
	KindLogin    Kind = "login"
	KindRegister Kind = "register"
	KindMe       Kind = "me"
	KindRefresh  Kind = "refresh"
	KindHealthz  Kind = "healthz"
)

// Kinds lists every phase kind in the order charts and tables use.
var Kinds = []Kind{KindLogin, KindRegister, KindMe, KindRefresh, KindHealthz}

// MaxConcurrency caps the clients of one phase; more would measure the
// load tool rather than the server.
const MaxConcurrency = 4096

// PasswordPath reports whether each request of kind k costs the server one
// bcrypt computation, so that its throughput is bounded by the bcrypt rate.
func (k Kind) PasswordPath() bool { return k == KindLogin || k == KindRegister }

// needsUsers reports whether phases of kind k use the registered users.
func (k Kind) needsUsers() bool { return k == KindLogin || k == KindMe || k == KindRefresh }

func parseKind(s string) (Kind, bool) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, true
		}
	}
	return "", false
}

// Phase is one timed run of a kind of request at a fixed number of
// concurrent clients.
type Phase struct {
	Kind        Kind
	Concurrency int
}

// String returns the phase as "kind@concurrency".
func (p Phase) String() string { return string(p.Kind) + "@" + strconv.Itoa(p.Concurrency) }

// ParsePhases parses a phase list such as "login:1,8,32,64;register:8;me:32":
// groups separated by semicolons, each a kind, a colon and comma-separated
// concurrencies. Phases run in the order written.
func ParsePhases(s string) ([]Phase, error) {
	var phases []Phase
	for group := range strings.SplitSeq(s, ";") {
		group = strings.TrimSpace(group)
		if group == "" {
			continue
		}
		name, list, ok := strings.Cut(group, ":")
		if !ok {
			return nil, fmt.Errorf("phase group %q: want kind:concurrency[,concurrency...]", group)
		}
		kind, ok := parseKind(strings.TrimSpace(name))
		if !ok {
			return nil, fmt.Errorf("phase group %q: unknown kind %q (want one of %v)", group, strings.TrimSpace(name), Kinds)
		}
		for c := range strings.SplitSeq(list, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(c))
			if err != nil || n < 1 || n > MaxConcurrency {
				return nil, fmt.Errorf("phase group %q: concurrency %q must be an integer from 1 to %d", group, strings.TrimSpace(c), MaxConcurrency)
			}
			phases = append(phases, Phase{Kind: kind, Concurrency: n})
		}
	}
	if len(phases) == 0 {
		return nil, fmt.Errorf("no phases in %q", s)
	}
	return phases, nil
}
