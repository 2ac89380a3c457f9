package auth

import (
	_ "embed" // the common-password list
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxPasswordBytes is bcrypt's input limit. Longer passwords are refused,
// never truncated: bcrypt would silently ignore the excess.
const MaxPasswordBytes = 72

// passphraseLength is the length from which composition rules no longer
// apply (NIST SP 800-63B favours length over composition).
const passphraseLength = 16

// PasswordPolicy is the rule set for new passwords.
type PasswordPolicy struct {
	MinLength  int // characters, after NFKC normalisation
	MinClasses int // of lower, upper, digit, symbol; 0 disables
}

// commonPasswords is the zxcvbn password frequency list (30,000 entries,
// lower case; github.com/trustelem/zxcvbn v1.0.1, MIT, licence in
// commonpasswords.LICENSE), sorted and one a line, embedded: looked up by
// binary search in place, it costs no heap at all. (Importing the zxcvbn
// package built all its frequency lists at start-up, 1.25 MB of heap for
// the life of the process, and sorting a copy of ours cost tens of
// milliseconds more.) TestCommonPasswordsFile keeps it sorted.
//
//go:embed commonpasswords.txt
var commonPasswords string

// isCommon reports whether p, compared case-insensitively, is on the list.
func isCommon(p string) bool { return sortedLinesContain(commonPasswords, strings.ToLower(p)) }

// sortedLinesContain reports whether s, lines sorted bytewise and each
// ended by '\n', has the line p. It bisects byte positions, moving each
// probe to the start of its line, so it needs no index.
func sortedLinesContain(s, p string) bool {
	if strings.Contains(p, "\n") {
		return false
	}
	lo, hi := 0, len(s) // both always at the start of a line (or the end)
	for lo < hi {
		mid := lo + (hi-lo)/2
		start := strings.LastIndexByte(s[:mid], '\n') + 1
		end := start + strings.IndexByte(s[start:], '\n')
		switch c := strings.Compare(s[start:end], p); {
		case c == 0:
			return true
		case c < 0:
			lo = end + 1
		default:
			hi = start
		}
	}
	return false
}

// CommonPasswordCount reports the size of the embedded common-password list.
func CommonPasswordCount() int { return strings.Count(commonPasswords, "\n") }

// NormalizePassword applies Unicode NFKC so that visually identical
// passwords typed on different keyboards hash alike. It never trims.
func NormalizePassword(p string) string { return norm.NFKC.String(p) }

// Check returns every rule the already normalised password p breaks.
func (pp PasswordPolicy) Check(p string) []string {
	var broken []string
	n := utf8.RuneCountInString(p)
	if !utf8.ValidString(p) {
		return []string{"must be valid UTF-8"}
	}
	if n < pp.MinLength {
		broken = append(broken, fmt.Sprintf("must be at least %d characters", pp.MinLength))
	}
	if len(p) > MaxPasswordBytes {
		broken = append(broken, "must be at most 72 bytes (UTF-8)")
	}
	if p != "" && strings.TrimSpace(p) == "" {
		broken = append(broken, "must not be whitespace only")
	}
	if isCommon(p) {
		broken = append(broken, "is too common")
	}
	if n < passphraseLength && pp.MinClasses > 0 {
		if c := classes(p); c < pp.MinClasses {
			broken = append(broken, fmt.Sprintf("must contain at least %d of: lower case, upper case, digit, symbol (or be 16 characters or longer)", pp.MinClasses))
		}
	}
	return broken
}

func classes(p string) int {
	var lower, upper, digit, symbol bool
	for _, r := range p {
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		case !unicode.IsSpace(r) && !unicode.IsControl(r):
			symbol = true
		}
	}
	n := 0
	for _, b := range []bool{lower, upper, digit, symbol} {
		if b {
			n++
		}
	}
	return n
}
