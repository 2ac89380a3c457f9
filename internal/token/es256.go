package token

import (
	"crypto/elliptic"
	"encoding/base64"
	"math/big"
)

// ES256 signatures are malleable: (r, s) and (r, n-s) both verify. The
// tokens we issue carry the low-s form and Verify accepts only it, so that
// one token has one spelling.

var (
	p256N     = elliptic.P256().Params().N
	p256HalfN = new(big.Int).Rsh(p256N, 1)
)

// isLowS reports whether sig, the base64url signature segment of an ES256
// token, has an s of at most n/2. A segment that does not decode to 64
// bytes is left for the signature check to refuse.
func isLowS(sig string) bool {
	b, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil || len(b) != 64 {
		return true
	}
	return new(big.Int).SetBytes(b[32:]).Cmp(p256HalfN) <= 0
}

// lowS rewrites an ES256 signature (r || s) into its low-s form, in place.
func lowS(sig []byte) {
	if len(sig) != 64 {
		return
	}
	s := new(big.Int).SetBytes(sig[32:])
	if s.Cmp(p256HalfN) > 0 {
		s.Sub(p256N, s).FillBytes(sig[32:])
	}
}
