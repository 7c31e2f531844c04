package auth

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// SignToken returns the JWT an institution's user sends: RS256-signed with
// priv, kid header keyID, claims email and phone, iat and nbf at now and exp
// at now+ttl. It is the client side of Authenticate, for `odr client` and
// tests.
func SignToken(priv *rsa.PrivateKey, keyID, email, phone string, ttl time.Duration, now time.Time) (string, error) {
	if ttl <= 0 {
		return "", errors.New("sign token: ttl must be positive")
	}
	sec := func(t time.Time) *float64 { f := float64(t.Unix()); return &f }
	c := &claims{Email: email, Phone: phone, Iat: sec(now), Nbf: sec(now), Exp: sec(now.Add(ttl))}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	t.Header["kid"] = keyID
	s, err := t.SignedString(priv)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// FormatHeader returns the Authorization value for a signed token, in the
// seed's exact form:
//
//	Signature keyId="<keyID>|<token>|RS256" algorithm="RS256" type="<endpointType>"
func FormatHeader(keyID, token, endpointType string) string {
	return Params{KeyID: keyID + "|" + token + "|" + algRS256, Algorithm: algRS256, Type: endpointType}.String()
}
