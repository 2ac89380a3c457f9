package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"slices"

	"github.com/golang-jwt/jwt/v5"
)

// MinSecretLength is the shortest HS256 secret accepted, in bytes (RFC 7518
// §3.2: a key at least as long as the hash output).
const MinSecretLength = 32

// MinRSABits is the smallest RSA modulus accepted (RFC 7518 §3.3).
const MinRSABits = 2048

// Algorithm names, as they appear in the JWS "alg" header.
const (
	AlgHS256 = "HS256"
	AlgEdDSA = "EdDSA"
	AlgES256 = "ES256"
	AlgRS256 = "RS256"
)

// KeySet holds the key that signs access tokens and every key that verifies
// them: the signing key itself and earlier keys kept for rotation, which
// verify and are published but never sign. A KeySet is immutable and safe for
// concurrent use.
type KeySet struct {
	alg    string
	signer any // []byte for HMAC, otherwise a crypto.Signer
	hmac   bool
	// keys holds the signing key first, then the verify-only keys.
	keys []*verifyKey
	// methods lists the distinct algorithms of keys, for jwt.WithValidMethods.
	methods []string
	jwks    []byte
}

// verifyKey is one verification key with everything Verify needs ready.
type verifyKey struct {
	kid    string
	alg    string
	method jwt.SigningMethod
	// verifier is what method.Verify expects: the secret for HMAC, else the
	// public key.
	verifier any
	// header is the base64url header segment of the tokens this key signs,
	// so that Verify can recognise its own headers without decoding them.
	header string
	jwk    *publicJWK
}

// publicJWK is the published form of a public key (RFC 7517, 7518, 8037).
type publicJWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// NewHMACKeySet returns a KeySet that signs and verifies with HS256 and the
// given secret, which must be at least MinSecretLength bytes. Its JWKS is
// empty: a shared secret is never published.
func NewHMACKeySet(secret []byte) (*KeySet, error) {
	if len(secret) < MinSecretLength {
		return nil, fmt.Errorf("HS256 secret is %d bytes, need at least %d", len(secret), MinSecretLength)
	}
	// A private copy, so that a caller reusing its buffer cannot change the key.
	secret = slices.Clone(secret)
	k := &verifyKey{alg: AlgHS256, method: jwt.SigningMethodHS256, verifier: secret}
	k.header = headerSegment(k.alg, "")
	return &KeySet{
		alg:     AlgHS256,
		signer:  secret,
		hmac:    true,
		keys:    []*verifyKey{k},
		methods: []string{AlgHS256},
		jwks:    []byte(`{"keys":[]}`),
	}, nil
}

// ErrVerifyKey marks an error in one of the verify-only key files, as
// opposed to the signing key file, so that callers can say which setting
// is wrong.
var ErrVerifyKey = errors.New("verification key")

// LoadKeySet reads the PEM private key that signs (Ed25519 → EdDSA, P-256 →
// ES256, RSA of at least 2048 bits → RS256) and the PEM files of earlier keys
// that still verify. A verify file may hold a public or a private key (PKIX,
// PKCS #8, PKCS #1 or SEC 1); only its public half is used. Every key's kid
// is its RFC 7638 JWK thumbprint. A key given twice is kept once.
func LoadKeySet(privateKeyFile string, verifyKeyFiles []string) (*KeySet, error) {
	parsed, err := readKeyFile(privateKeyFile)
	if err != nil {
		return nil, err
	}
	switch parsed.(type) {
	case ed25519.PublicKey, *ecdsa.PublicKey, *rsa.PublicKey:
		return nil, fmt.Errorf("key file %s: holds a public key; signing needs a private key", privateKeyFile)
	}
	signer, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("key file %s: unsupported key type %T: use Ed25519, P-256 or RSA of at least %d bits", privateKeyFile, parsed, MinRSABits)
	}
	signing, err := newVerifyKey(signer.Public())
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", privateKeyFile, err)
	}
	ks := &KeySet{alg: signing.alg, signer: signer, keys: []*verifyKey{signing}}
	for _, path := range verifyKeyFiles {
		parsed, err := readKeyFile(path)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrVerifyKey, err)
		}
		pub := parsed
		if s, ok := parsed.(crypto.Signer); ok {
			pub = s.Public()
		}
		k, err := newVerifyKey(pub)
		if err != nil {
			return nil, fmt.Errorf("%w: key file %s: %w", ErrVerifyKey, path, err)
		}
		if !slices.ContainsFunc(ks.keys, func(have *verifyKey) bool { return have.kid == k.kid }) {
			ks.keys = append(ks.keys, k)
		}
	}
	jwks := struct {
		Keys []*publicJWK `json:"keys"`
	}{Keys: make([]*publicJWK, 0, len(ks.keys))}
	for _, k := range ks.keys {
		if !slices.Contains(ks.methods, k.alg) {
			ks.methods = append(ks.methods, k.alg)
		}
		jwks.Keys = append(jwks.Keys, k.jwk)
	}
	if ks.jwks, err = json.Marshal(jwks); err != nil {
		return nil, fmt.Errorf("encode JWKS: %w", err)
	}
	return ks, nil
}

// Algorithm returns the JWS algorithm new tokens are signed with.
func (k *KeySet) Algorithm() string { return k.alg }

// KeyID returns the kid of the signing key, or "" for an HMAC key set.
func (k *KeySet) KeyID() string { return k.keys[0].kid }

// JWKS returns the JSON Web Key Set of the public keys, signing key first,
// as served at /.well-known/jwks.json: {"keys":[]} for an HMAC key set. The
// caller must not modify the returned slice.
func (k *KeySet) JWKS() []byte { return k.jwks }

// verificationKey is the jwt.Keyfunc of a KeySet: it picks the key named by
// the token's kid and hands it out only for that key's own algorithm, so
// that no key is ever used with an algorithm chosen by the token.
func (k *KeySet) verificationKey(t *jwt.Token) (any, error) {
	var key *verifyKey
	if k.hmac {
		key = k.keys[0]
	} else {
		kid, _ := t.Header["kid"].(string)
		key = k.byKID(kid)
		if key == nil {
			return nil, errors.New("no key with this kid")
		}
	}
	if t.Method == nil || t.Method.Alg() != key.alg {
		return nil, errors.New("algorithm does not match the key")
	}
	return key.verifier, nil
}

func (k *KeySet) byKID(kid string) *verifyKey {
	if kid == "" {
		return nil
	}
	for _, key := range k.keys {
		if key.kid == kid {
			return key
		}
	}
	return nil
}

// knownHeader returns the algorithm of the key whose tokens carry, byte for
// byte, the header segment seg, or "" when no key's do.
func (k *KeySet) knownHeader(seg string) string {
	for _, key := range k.keys {
		if key.header == seg {
			return key.alg
		}
	}
	return ""
}

// headerSegment encodes the JOSE header of the tokens signed with alg and
// kid; members in lexical order, as json.Marshal writes a map.
func headerSegment(alg, kid string) string {
	h := struct {
		Alg string `json:"alg"`
		Kid string `json:"kid,omitempty"`
		Typ string `json:"typ"`
	}{alg, kid, typeAccess}
	b, err := json.Marshal(h)
	if err != nil {
		panic(err) // three strings always encode
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// newVerifyKey describes a public key: its algorithm, JWK and thumbprint.
func newVerifyKey(pub any) (*verifyKey, error) {
	b64 := base64.RawURLEncoding.EncodeToString
	k := &verifyKey{verifier: pub}
	var thumbInput string
	switch pub := pub.(type) {
	case ed25519.PublicKey:
		if len(pub) != ed25519.PublicKeySize {
			return nil, errors.New("malformed Ed25519 public key")
		}
		k.alg, k.method = AlgEdDSA, jwt.SigningMethodEdDSA
		k.jwk = &publicJWK{Kty: "OKP", Crv: "Ed25519", X: b64(pub)}
		// RFC 8037 §2: the required members are crv, kty and x.
		thumbInput = `{"crv":"Ed25519","kty":"OKP","x":"` + k.jwk.X + `"}`
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() {
			return nil, fmt.Errorf("ECDSA curve %s is not supported: use P-256 (ES256), Ed25519 or RSA of at least %d bits", curveName(pub.Curve), MinRSABits)
		}
		point, err := pub.Bytes()
		if err != nil {
			return nil, fmt.Errorf("malformed P-256 public key: %w", err)
		}
		// Uncompressed point: 0x04, then X and Y as 32 bytes each.
		k.alg, k.method = AlgES256, jwt.SigningMethodES256
		k.jwk = &publicJWK{Kty: "EC", Crv: "P-256", X: b64(point[1:33]), Y: b64(point[33:65])}
		thumbInput = `{"crv":"P-256","kty":"EC","x":"` + k.jwk.X + `","y":"` + k.jwk.Y + `"}`
	case *rsa.PublicKey:
		if bits := pub.N.BitLen(); bits < MinRSABits {
			return nil, fmt.Errorf("RSA key of %d bits is too small: need at least %d", bits, MinRSABits)
		}
		k.alg, k.method = AlgRS256, jwt.SigningMethodRS256
		k.jwk = &publicJWK{Kty: "RSA", N: b64(pub.N.Bytes()), E: b64(big.NewInt(int64(pub.E)).Bytes())}
		thumbInput = `{"e":"` + k.jwk.E + `","kty":"RSA","n":"` + k.jwk.N + `"}`
	default:
		return nil, fmt.Errorf("unsupported key type %T: use Ed25519, P-256 or RSA of at least %d bits", pub, MinRSABits)
	}
	sum := sha256.Sum256([]byte(thumbInput))
	k.kid = b64(sum[:])
	k.jwk.Kid, k.jwk.Alg, k.jwk.Use = k.kid, k.alg, "sig"
	k.header = headerSegment(k.alg, k.kid)
	return k, nil
}

func curveName(c elliptic.Curve) string {
	if c == nil || c.Params() == nil {
		return "(unknown)"
	}
	return c.Params().Name
}

// readKeyFile parses the one key in a PEM file: a private key (PKCS #8,
// PKCS #1, SEC 1) or a public key (PKIX, PKCS #1).
func readKeyFile(path string) (any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	key, err := parseKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return key, nil
}

func parseKeyPEM(data []byte) (any, error) {
	var key any
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type == "EC PARAMETERS" {
			// openssl ecparam -genkey writes the curve before the key.
			continue
		}
		if key != nil {
			return nil, errors.New("more than one key in the file: put each key in its own file")
		}
		if _, ok := block.Headers["Proc-Type"]; ok || block.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, errors.New("encrypted keys are not supported: store it decrypted with mode 0600 (openssl pkey -in KEY -out PLAIN)")
		}
		var err error
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		case "PUBLIC KEY":
			key, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			key, err = x509.ParsePKCS1PublicKey(block.Bytes)
		default:
			return nil, fmt.Errorf("unsupported PEM block %q: want PRIVATE KEY, EC PRIVATE KEY, RSA PRIVATE KEY, PUBLIC KEY or RSA PUBLIC KEY", block.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", block.Type, err)
		}
	}
	if key == nil {
		return nil, errors.New("no PEM key found")
	}
	return key, nil
}

// Key kinds accepted by GenerateKeyPEM, as in `authserve keys generate --type`.
const (
	KindEd25519 = "ed25519"
	KindP256    = "p256"
	KindRSA     = "rsa"
)

// GeneratedRSABits is the size of the RSA keys GenerateKeyPEM makes: above
// the 2048-bit minimum, for keys meant to last (NIST SP 800-57 beyond 2030).
const GeneratedRSABits = 3072

// GenerateKeyPEM returns a new private key of the given kind ("ed25519",
// "p256" or "rsa") as a PKCS #8 "PRIVATE KEY" PEM block.
func GenerateKeyPEM(kind string) ([]byte, error) {
	var key crypto.Signer
	var err error
	switch kind {
	case KindEd25519:
		_, key, err = ed25519.GenerateKey(rand.Reader)
	case KindP256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case KindRSA:
		key, err = rsa.GenerateKey(rand.Reader, GeneratedRSABits)
	default:
		return nil, fmt.Errorf("unknown key type %q: want %s, %s or %s", kind, KindEd25519, KindP256, KindRSA)
	}
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", kind, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode %s key: %w", kind, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}
