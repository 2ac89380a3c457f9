package token

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
)

// checkHeader returns the algorithm of a header segment. It refuses, before any other parsing, the JOSE headers that must
// never be processed (RFC 8725 §2.1, §3.1; RFC 9068 §4): alg none or
// foreign, keys or key URLs carried in the token, crit, a typ other than
// at+jwt, and any member we do not issue. The headers of our own keys are
// recognised without decoding.
func (m *Manager) checkHeader(seg string) (string, error) {
	if alg := m.keys.knownHeader(seg); alg != "" {
		return alg, nil
	}
	if len(seg) > maxHeaderSegment {
		return "", invalid("header longer than %d bytes", maxHeaderSegment)
	}
	data, err := base64.RawURLEncoding.Strict().DecodeString(seg)
	if err != nil {
		return "", invalid("header is not base64url")
	}
	var h map[string]json.RawMessage
	if err := json.Unmarshal(data, &h); err != nil || h == nil {
		return "", invalid("header is not a JSON object")
	}
	for _, name := range [...]string{"jwk", "jku", "x5u", "x5c"} {
		if _, ok := h[name]; ok {
			// Trusting a key named by the token would let anyone sign.
			return "", invalid("header carries a key (%s)", name)
		}
	}
	if _, ok := h["crit"]; ok {
		// No extension is understood, so every critical one must fail.
		return "", invalid("header has crit")
	}
	for name := range h {
		switch name {
		case "alg", "typ", "kid":
		default:
			// Matching keys exactly also catches case variants such as
			// "ALG", which encoding/json would otherwise fold together.
			return "", invalid("header has a member authserve does not issue")
		}
	}
	var alg, typ, kid string
	if json.Unmarshal(h["alg"], &alg) != nil || alg == "" {
		return "", invalid("header has no alg")
	}
	if strings.EqualFold(alg, "none") {
		return "", invalid("alg none")
	}
	if !slices.Contains(m.keys.methods, alg) {
		return "", invalid("algorithm not accepted")
	}
	if json.Unmarshal(h["typ"], &typ) != nil || !(strings.EqualFold(typ, typeAccess) || strings.EqualFold(typ, typeAccessMedia)) {
		return "", invalid("typ is not at+jwt")
	}
	if raw, ok := h["kid"]; ok && json.Unmarshal(raw, &kid) != nil {
		return "", invalid("kid is not a string")
	}
	return alg, nil
}
