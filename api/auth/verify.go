package auth

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/odrflow/odrflow/registry"
)

// DefaultLeeway is the clock skew allowed on exp, nbf and iat (SPEC §3).
const DefaultLeeway = 60 * time.Second

// algRS256 is the only signature algorithm accepted, in the algorithm
// parameter, in the keyId suffix and in the JWT header alike.
const algRS256 = "RS256"

// Options tighten or tune verification.
type Options struct {
	// RequireExp refuses tokens without an exp claim (--require-exp).
	RequireExp bool
	// MaxTokenAge, if positive, bounds tokens (--max-token-age): they must
	// carry iat, be issued at most MaxTokenAge ago, and expire at most
	// MaxTokenAge after iat, so a leaked token is useful only briefly.
	MaxTokenAge time.Duration
	// Leeway is the clock skew allowed on exp, nbf and iat; 0 means
	// DefaultLeeway, a negative value none at all.
	Leeway time.Duration
	// Now returns the current time; nil means time.Now. For tests.
	Now func() time.Time
}

// KeySource supplies the registry snapshot in force; *registry.Store is
// one, following the registry file as it changes.
type KeySource interface {
	Current() *registry.Registry
}

// Verifier authenticates requests against the registry. It is safe for
// concurrent use.
type Verifier struct {
	src    KeySource
	opts   Options
	parser *jwt.Parser
}

// NewVerifier returns a Verifier reading keys and users from src.
func NewVerifier(src KeySource, opts Options) *Verifier {
	switch {
	case opts.Leeway == 0:
		opts.Leeway = DefaultLeeway
	case opts.Leeway < 0:
		opts.Leeway = 0
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	popts := []jwt.ParserOption{
		// Pinning the algorithm is what defeats alg "none" and HS256
		// tokens "signed" with the public key as HMAC secret.
		jwt.WithValidMethods([]string{algRS256}),
		jwt.WithLeeway(opts.Leeway),
		jwt.WithTimeFunc(opts.Now),
		jwt.WithIssuedAt(),
	}
	if opts.RequireExp {
		popts = append(popts, jwt.WithExpirationRequired())
	}
	return &Verifier{src: src, opts: opts, parser: jwt.NewParser(popts...)}
}

// claims is the payload of an institution's token. It implements
// jwt.Claims itself instead of embedding jwt.RegisteredClaims: plain fields
// decode without a custom unmarshaler per claim, which keeps JSON decoding a
// small fraction of the request's cost next to the RSA verification.
type claims struct {
	Email string `json:"email"`
	// Phone is a JSON string, or a number as some clients send it.
	Phone any      `json:"phone"`
	Exp   *float64 `json:"exp,omitempty"`
	Nbf   *float64 `json:"nbf,omitempty"`
	Iat   *float64 `json:"iat,omitempty"`
}

func (c *claims) GetExpirationTime() (*jwt.NumericDate, error) { return numericDate(c.Exp), nil }
func (c *claims) GetNotBefore() (*jwt.NumericDate, error)      { return numericDate(c.Nbf), nil }
func (c *claims) GetIssuedAt() (*jwt.NumericDate, error)       { return numericDate(c.Iat), nil }
func (c *claims) GetIssuer() (string, error)                   { return "", nil }
func (c *claims) GetSubject() (string, error)                  { return "", nil }
func (c *claims) GetAudience() (jwt.ClaimStrings, error)       { return nil, nil }

// maxNumericDate is the end of year 9999 in seconds since the epoch.
const maxNumericDate = 253402300799

// Validate refuses time claims that time.Time cannot represent: converted,
// they would wrap around, and a far-future nbf would pass as a past one.
// jwt.Validator calls it after the standard checks.
func (c *claims) Validate() error {
	for _, tc := range []struct {
		name string
		v    *float64
	}{{"exp", c.Exp}, {"nbf", c.Nbf}, {"iat", c.Iat}} {
		if tc.v != nil && (*tc.v > maxNumericDate || *tc.v < -maxNumericDate) {
			return newError(CheckMalformedToken, "token claim %s is out of range", tc.name)
		}
	}
	return nil
}

// phone returns the phone claim as text, "" if absent or of another type.
func (c *claims) phone() string {
	switch p := c.Phone.(type) {
	case string:
		return p
	case float64:
		return strconv.FormatFloat(p, 'f', -1, 64)
	}
	return ""
}

// numericDate converts seconds since the epoch (RFC 7519 NumericDate).
func numericDate(sec *float64) *jwt.NumericDate {
	if sec == nil {
		return nil
	}
	whole, frac := math.Modf(*sec)
	return jwt.NewNumericDate(time.Unix(int64(whole), int64(frac*1e9)))
}

// Authenticate checks the Authorization value of a request to the endpoint
// of type endpointType ("status") and returns who sent it. Any failure is
// an *Error whose Check names the failed check.
func (v *Verifier) Authenticate(authorization, endpointType string) (Principal, error) {
	p, err := ParseSignatureHeader(authorization)
	if err != nil {
		return Principal{}, err
	}
	if p.Algorithm != algRS256 {
		return Principal{}, newError(CheckBadAlgorithm, "algorithm %q is not %s", truncate(p.Algorithm), algRS256)
	}
	if p.Type != endpointType {
		return Principal{}, newError(CheckBadType, "type %q is not %q", truncate(p.Type), endpointType)
	}
	keyID, token, err := splitKeyID(p.KeyID)
	if err != nil {
		return Principal{}, err
	}

	reg := v.src.Current()
	key, ok := reg.Key(keyID)
	if !ok {
		return Principal{}, newError(CheckUnknownKey, "no key %q is registered", truncate(keyID))
	}
	if key.Revoked {
		return Principal{}, newError(CheckRevokedKey, "key %q is revoked", keyID)
	}
	inst, ok := reg.Institution(key.InstitutionID)
	if !ok { // a validated registry cannot have a key without institution
		return Principal{}, newError(CheckUnknownKey, "key %q has no institution", keyID)
	}

	var c claims
	tok, err := v.parser.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		// A kid, if the signer set one, must name the key the header
		// claims; otherwise the token was minted for another key.
		if kid, present := t.Header["kid"]; present {
			if s, _ := kid.(string); s != keyID {
				return nil, newError(CheckKeyMismatch, "token kid %q does not match key %q", truncate(jsonText(kid)), keyID)
			}
		}
		return key.Public, nil
	})
	if err != nil {
		return Principal{}, tokenError(err, tok)
	}
	if err := v.checkAge(&c); err != nil {
		return Principal{}, err
	}

	phone := c.phone()
	if c.Email == "" || phone == "" {
		return Principal{}, newError(CheckMissingClaims, "token must carry the claims email and phone")
	}
	user, ok := inst.LookupUser(c.Email, phone)
	if !ok {
		return Principal{}, newError(CheckUnknownUser, "email and phone of the token are not a registered user of institution %q", inst.ID)
	}
	return Principal{InstitutionID: inst.ID, KeyID: keyID, Email: user.Email, Phone: user.Phone}, nil
}

// splitKeyID splits a keyId into unique_key_id and JWT; the third part must
// name the algorithm RS256.
func splitKeyID(keyID string) (id, token string, err error) {
	id, rest, ok1 := strings.Cut(keyID, "|")
	token, alg, ok2 := strings.Cut(rest, "|")
	switch {
	case !ok1 || !ok2 || strings.Contains(alg, "|"):
		return "", "", newError(CheckMalformedKeyID, `keyId must have the form "<unique_key_id>|<token>|RS256"`)
	case id == "" || token == "":
		return "", "", newError(CheckMalformedKeyID, "keyId has an empty unique_key_id or token")
	case alg != algRS256:
		return "", "", newError(CheckBadAlgorithm, "keyId names algorithm %q, not %s", truncate(alg), algRS256)
	}
	return id, token, nil
}

// tokenError turns an error of jwt.Parser into an *Error naming the check.
func tokenError(err error, tok *jwt.Token) *Error {
	var authErr *Error
	switch {
	case errors.As(err, &authErr):
		return authErr
	case errors.Is(err, jwt.ErrTokenMalformed):
		return newError(CheckMalformedToken, "token is not a well-formed JWT")
	case errors.Is(err, jwt.ErrTokenUnverifiable), errors.Is(err, jwt.ErrTokenSignatureInvalid) && tok != nil && tok.Method != nil && tok.Method.Alg() != algRS256:
		// Unverifiable: alg missing or unknown. Signature invalid with
		// another alg: refused by the algorithm pin before any key was used.
		var alg any
		if tok != nil {
			alg = tok.Header["alg"]
		}
		if alg == nil {
			return newError(CheckBadTokenAlgorithm, "token has no alg header; %s required", algRS256)
		}
		return newError(CheckBadTokenAlgorithm, "token alg %q is not %s", truncate(jsonText(alg)), algRS256)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return newError(CheckBadSignature, "token signature does not verify with the registered key")
	case errors.Is(err, jwt.ErrTokenExpired):
		return newError(CheckExpired, "token expired at %s", claimTime(tok, (*claims).GetExpirationTime))
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return newError(CheckNotYetValid, "token is not valid before %s", claimTime(tok, (*claims).GetNotBefore))
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return newError(CheckIssuedInFuture, "token is issued in the future, at %s", claimTime(tok, (*claims).GetIssuedAt))
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return newError(CheckMissingExp, "token must carry an exp claim")
	default:
		return newError(CheckMalformedToken, "token claims are invalid")
	}
}

// checkAge enforces MaxTokenAge on a token whose signature and validity
// window have been verified.
func (v *Verifier) checkAge(c *claims) error {
	max := v.opts.MaxTokenAge
	if max <= 0 {
		return nil
	}
	iat := numericDate(c.Iat)
	if iat == nil {
		return newError(CheckMissingIat, "token must carry an iat claim (tokens may be at most %s old)", max)
	}
	if age := v.opts.Now().Sub(iat.Time); age > max+v.opts.Leeway {
		return newError(CheckTokenTooOld, "token was issued %s ago, more than the allowed %s", age.Truncate(time.Second), max)
	}
	if exp := numericDate(c.Exp); exp != nil {
		if life := exp.Sub(iat.Time); life > max {
			return newError(CheckTokenLifetime, "token is valid for %s after iat, more than the allowed %s", life, max)
		}
	}
	return nil
}

// claimTime formats a time claim of a parsed token for an error message.
func claimTime(tok *jwt.Token, get func(*claims) (*jwt.NumericDate, error)) string {
	if tok == nil {
		return "?"
	}
	c, ok := tok.Claims.(*claims)
	if !ok {
		return "?"
	}
	d, err := get(c)
	if err != nil || d == nil {
		return "?"
	}
	return d.UTC().Format(time.RFC3339)
}

// jsonText renders a decoded JSON header value for a message.
func jsonText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return string(b)
}
