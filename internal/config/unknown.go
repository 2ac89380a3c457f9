package config

import (
	"slices"
	"strings"
)

// Unknown is an AUTH_ variable of the environment that no setting reads:
// most likely a misspelling, which would otherwise leave the default in
// force without a word.
type Unknown struct {
	// Var is the variable as set, e.g. "AUTH_BCRYPT_COSTS".
	Var string
	// Suggestion is the known variable closest to it, or "" when none is
	// close.
	Suggestion string
}

// UnknownVariables returns the AUTH_ variables in environ (os.Environ's
// "NAME=value" form) that Config does not know, sorted, with the closest
// known name. AUTH_TEST_ variables belong to the test suite and are left
// alone. (Unknown variables in .env are refused by Load instead.)
func UnknownVariables(environ []string) []Unknown {
	known := Variables()
	var out []Unknown
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "AUTH_") || strings.HasPrefix(name, "AUTH_TEST_") || slices.Contains(known, name) {
			continue
		}
		out = append(out, Unknown{Var: name, Suggestion: closest(name, known)})
	}
	slices.SortFunc(out, func(a, b Unknown) int { return strings.Compare(a.Var, b.Var) })
	return out
}

// closest returns the name in names nearest to s by edit distance, if it
// is within a third of s's length (a typo, not another word).
func closest(s string, names []string) string {
	best, bestD := "", len(s)/3+1
	for _, n := range names {
		if d := editDistance(s, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b (bytes: the
// names are ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
