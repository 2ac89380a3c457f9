package token_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	jwxjwk "github.com/lestrrat-go/jwx/v3/jwk"
	jwxjwt "github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/authserve/authserve/internal/token"
)

// startAuthserve stands in for a running authserve configured with
// AUTH_JWT_PRIVATE_KEY_FILE and AUTH_JWT_AUDIENCE: it serves the JWKS and
// returns a fresh access token for user 42.
func startAuthserve() (jwksURL, accessToken string, stop func()) {
	dir, err := os.MkdirTemp("", "authserve-example")
	if err != nil {
		panic(err)
	}
	pemKey, err := token.GenerateKeyPEM(token.KindEd25519)
	if err != nil {
		panic(err)
	}
	keyFile := filepath.Join(dir, "signing.pem")
	if err := os.WriteFile(keyFile, pemKey, 0o600); err != nil {
		panic(err)
	}
	keys, err := token.LoadKeySet(keyFile, nil)
	if err != nil {
		panic(err)
	}
	issuer, err := token.NewManager(token.Config{Audience: "https://api.example.com"}, keys)
	if err != nil {
		panic(err)
	}
	accessToken, _, err = issuer.Issue(42, token.NewSessionID(), time.Now())
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(keys.JWKS())
	}))
	return srv.URL + "/.well-known/jwks.json", accessToken, func() { srv.Close(); os.RemoveAll(dir) }
}

// A downstream Go service that accepts authserve access tokens needs only the
// published JWKS. This is the golang-jwt version with a small JWKS decoder
// from the standard library.
func Example_verifyWithGolangJWT() {
	jwksURL, accessToken, stop := startAuthserve()
	defer stop()

	// At start-up, and again whenever a token names an unknown kid
	// (authserve has rotated its key), fetch the key set.
	keys, err := fetchJWKS(context.Background(), jwksURL)
	if err != nil {
		fmt.Println("fetch JWKS:", err)
		return
	}

	// On every request, verify the Bearer token.
	claims, err := verifyAccessToken(accessToken, keys)
	if err != nil {
		fmt.Println("refused:", err)
		return
	}
	fmt.Println("user", claims.Subject, "session", claims.SessionID != "")

	// A token tampered with is refused: change one character of its
	// signature.
	i := len(accessToken) - 10
	flipped := "A"
	if accessToken[i] == 'A' {
		flipped = "B"
	}
	_, err = verifyAccessToken(accessToken[:i]+flipped+accessToken[i+1:], keys)
	fmt.Println("tampered token refused:", errors.Is(err, jwt.ErrTokenSignatureInvalid))

	// Output:
	// user 42 session true
	// tampered token refused: true
}

// accessClaims are the claims of an authserve access token.
type accessClaims struct {
	jwt.RegisteredClaims
	// SessionID is the login session (sid). Note that a downstream service
	// cannot see a session being logged out: the token stays valid until
	// exp, which is why access tokens are short-lived.
	SessionID string `json:"sid"`
}

// verifyAccessToken checks an authserve access token against the key set,
// as RFC 8725 and RFC 9068 ask: pinned algorithms, a key chosen by kid and
// used only with its own algorithm, typ at+jwt, issuer, audience and expiry.
func verifyAccessToken(raw string, keys map[string]publicKey) (*accessClaims, error) {
	var claims accessClaims
	_, err := jwt.ParseWithClaims(raw, &claims,
		func(t *jwt.Token) (any, error) {
			if typ, _ := t.Header["typ"].(string); !strings.EqualFold(typ, "at+jwt") {
				return nil, errors.New("not an access token")
			}
			kid, _ := t.Header["kid"].(string)
			key, ok := keys[kid]
			if !ok {
				return nil, errors.New("unknown kid: refresh the JWKS")
			}
			if t.Method.Alg() != key.alg {
				return nil, errors.New("algorithm does not match the key")
			}
			return key.key, nil
		},
		jwt.WithValidMethods([]string{"EdDSA", "ES256", "RS256"}),
		jwt.WithIssuer("authserve"),                 // AUTH_JWT_ISSUER
		jwt.WithAudience("https://api.example.com"), // AUTH_JWT_AUDIENCE
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(time.Second),
	)
	if err != nil {
		return nil, err
	}
	return &claims, nil
}

// publicKey is one key of the JWKS with the algorithm it may be used with.
type publicKey struct {
	alg string
	key crypto.PublicKey
}

// fetchJWKS downloads authserve's /.well-known/jwks.json and decodes its
// keys by kid.
func fetchJWKS(ctx context.Context, url string) (map[string]publicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	var set struct {
		Keys []struct {
			Kty, Crv, X, Y, N, E, Kid, Alg, Use string
		} `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		return nil, err
	}
	b64 := base64.RawURLEncoding.DecodeString
	keys := make(map[string]publicKey, len(set.Keys))
	for _, k := range set.Keys {
		if k.Use != "sig" || k.Kid == "" {
			continue
		}
		var key crypto.PublicKey
		switch {
		case k.Kty == "OKP" && k.Crv == "Ed25519" && k.Alg == "EdDSA":
			x, err := b64(k.X)
			if err != nil || len(x) != ed25519.PublicKeySize {
				return nil, fmt.Errorf("key %s: bad x", k.Kid)
			}
			key = ed25519.PublicKey(x)
		case k.Kty == "EC" && k.Crv == "P-256" && k.Alg == "ES256":
			x, errX := b64(k.X)
			y, errY := b64(k.Y)
			if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
				return nil, fmt.Errorf("key %s: bad x or y", k.Kid)
			}
			pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
			if err != nil {
				return nil, fmt.Errorf("key %s: %w", k.Kid, err)
			}
			key = pub
		case k.Kty == "RSA" && k.Alg == "RS256":
			n, errN := b64(k.N)
			e, errE := b64(k.E)
			if errN != nil || errE != nil || len(e) > 4 {
				return nil, fmt.Errorf("key %s: bad n or e", k.Kid)
			}
			key = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		default:
			continue // a key type this service does not use
		}
		keys[k.Kid] = publicKey{alg: k.Alg, key: key}
	}
	return keys, nil
}

// The same with lestrrat-go/jwx, which fetches and decodes the JWKS itself
// and selects keys by kid and their alg.
func Example_verifyWithJWX() {
	jwksURL, accessToken, stop := startAuthserve()
	defer stop()

	// In a long-running service use jwk.NewCache to refresh the set.
	set, err := jwxjwk.Fetch(context.Background(), jwksURL)
	if err != nil {
		fmt.Println("fetch JWKS:", err)
		return
	}
	tok, err := jwxjwt.Parse([]byte(accessToken),
		jwxjwt.WithKeySet(set),
		jwxjwt.WithIssuer("authserve"),
		jwxjwt.WithAudience("https://api.example.com"),
		jwxjwt.WithAcceptableSkew(time.Second),
		jwxjwt.WithRequiredClaim("exp"),
	)
	if err != nil {
		fmt.Println("refused:", err)
		return
	}
	sub, _ := tok.Subject()
	var sid string
	_ = tok.Get("sid", &sid)
	fmt.Println("user", sub, "session", sid != "")

	// Output:
	// user 42 session true
}
