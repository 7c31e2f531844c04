// Package auth authenticates ODR institutions on the public API (SPEC §3).
//
// A request carries
//
//	Authorization: Signature keyId="<unique_key_id>|<jwt>|RS256" algorithm="RS256" type="status"
//
// and is accepted only if the JWT is RS256-signed by the registered,
// unrevoked key unique_key_id, is within its validity window, and names in
// its email and phone claims a registered user of the key's institution. The
// outcome is a Principal, or an *Error naming the check that failed.
package auth

import (
	"errors"
	"slices"
	"strings"
)

// Scheme is the authentication scheme of the seed API, also the challenge
// to send in WWW-Authenticate with a 401.
const Scheme = "Signature"

// maxParams bounds the parameters of one header, so that a large header of
// unknown parameters cannot make the parser build a large map.
const maxParams = 32

// Params are the auth-params of a Signature credential.
type Params struct {
	KeyID     string // keyId: "<unique_key_id>|<jwt>|RS256"
	Algorithm string // algorithm
	Type      string // type: the endpoint, "status" for /status
	// Extra holds parameters this package does not know, by lower-cased
	// name; nil when there are none. They are accepted and ignored.
	Extra map[string]string
}

// ParseSignatureHeader parses an Authorization value of scheme Signature.
//
// It follows RFC 7235 auth-params (name=token or name="quoted string" with
// backslash escapes; names case-insensitive; a parameter given twice is an
// error) and, as the seed's own example does, accepts spaces as well as
// commas between parameters. keyId, algorithm and type are required;
// unknown parameters are kept in Extra. Errors are *Error with Check
// CheckMissingAuthorization or CheckMalformedAuthorization.
func ParseSignatureHeader(h string) (Params, error) {
	h = strings.Trim(h, " \t")
	if h == "" {
		return Params{}, newError(CheckMissingAuthorization, "no Authorization header; expected %s keyId=..., algorithm=..., type=...", Scheme)
	}
	end := 0
	for end < len(h) && isTchar(h[end]) {
		end++
	}
	if scheme := h[:end]; !strings.EqualFold(scheme, Scheme) {
		return Params{}, newError(CheckMalformedAuthorization, "authorization scheme %q is not %s", truncate(scheme), Scheme)
	}
	if end == len(h) || (h[end] != ' ' && h[end] != '\t') {
		return Params{}, newError(CheckMalformedAuthorization, "expected parameters after %s", Scheme)
	}

	var (
		p                        Params
		haveKey, haveAlg, haveTy bool
		n                        int
	)
	s := h[end:]
	for {
		s = strings.TrimLeft(s, " \t,")
		if s == "" {
			break
		}
		if n++; n > maxParams {
			return Params{}, newError(CheckMalformedAuthorization, "more than %d parameters", maxParams)
		}
		name, value, rest, err := nextParam(s)
		if err != nil {
			return Params{}, err
		}
		s = rest

		var dst *string
		var seen *bool
		switch {
		case strings.EqualFold(name, "keyId"):
			dst, seen = &p.KeyID, &haveKey
		case strings.EqualFold(name, "algorithm"):
			dst, seen = &p.Algorithm, &haveAlg
		case strings.EqualFold(name, "type"):
			dst, seen = &p.Type, &haveTy
		default:
			lower := strings.ToLower(name)
			if _, dup := p.Extra[lower]; dup {
				return Params{}, newError(CheckMalformedAuthorization, "parameter %q given twice", truncate(name))
			}
			if p.Extra == nil {
				p.Extra = make(map[string]string)
			}
			p.Extra[lower] = value
			continue
		}
		if *seen {
			return Params{}, newError(CheckMalformedAuthorization, "parameter %q given twice", name)
		}
		*dst, *seen = value, true
	}
	switch {
	case !haveKey:
		return Params{}, newError(CheckMalformedAuthorization, "parameter keyId is missing")
	case !haveAlg:
		return Params{}, newError(CheckMalformedAuthorization, "parameter algorithm is missing")
	case !haveTy:
		return Params{}, newError(CheckMalformedAuthorization, "parameter type is missing")
	}
	return p, nil
}

// nextParam parses one auth-param at the start of s:
//
//	auth-param = token BWS "=" BWS ( token / quoted-string )
//
// and checks that it ends at a separator or at the end of s.
func nextParam(s string) (name, value, rest string, err error) {
	i := 0
	for i < len(s) && isTchar(s[i]) {
		i++
	}
	if i == 0 {
		return "", "", "", newError(CheckMalformedAuthorization, "unexpected %q where a parameter name should start", s[0])
	}
	name = s[:i]
	s = strings.TrimLeft(s[i:], " \t")
	if s == "" || s[0] != '=' {
		return "", "", "", newError(CheckMalformedAuthorization, "parameter %q has no value", truncate(name))
	}
	s = strings.TrimLeft(s[1:], " \t")
	if s != "" && s[0] == '"' {
		value, s, err = quotedString(s)
		if err != nil {
			return "", "", "", newError(CheckMalformedAuthorization, "parameter %q: %v", truncate(name), err)
		}
	} else {
		i = 0
		for i < len(s) && isTchar(s[i]) {
			i++
		}
		if i == 0 {
			return "", "", "", newError(CheckMalformedAuthorization, "parameter %q has no value", truncate(name))
		}
		value, s = s[:i], s[i:]
	}
	if s != "" && s[0] != ' ' && s[0] != '\t' && s[0] != ',' {
		return "", "", "", newError(CheckMalformedAuthorization, "unexpected %q after parameter %q", s[0], truncate(name))
	}
	return name, value, s, nil
}

// quotedString parses an RFC 9110 quoted-string at the start of s and
// returns its unescaped content and the rest of s. Content without escapes,
// the usual case, is returned as a substring without allocating.
func quotedString(s string) (value, rest string, err error) {
	i := 1
	for i < len(s) && qdtext[s[i]] {
		i++
	}
	if i < len(s) && s[i] == '"' {
		return s[1:i], s[i+1:], nil
	}
	b := append(make([]byte, 0, len(s)), s[1:i]...)
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return string(b), s[i+1:], nil
		case c == '\\':
			if i+1 == len(s) || !isQuotable(s[i+1]) {
				return "", "", errBadEscape
			}
			i++
			b = append(b, s[i])
		case qdtext[c]:
			b = append(b, c)
		default:
			return "", "", errControlChar
		}
	}
	return "", "", errUnterminated
}

var (
	errBadEscape    = errors.New("invalid escape in quoted string")
	errControlChar  = errors.New("control character in quoted string")
	errUnterminated = errors.New("unterminated quoted string")
)

// String returns the canonical form of p: the scheme, keyId, algorithm and
// type, then any extra parameters sorted by name, each as a quoted string.
// ParseSignatureHeader(p.String()) returns p again.
func (p Params) String() string {
	var b strings.Builder
	b.Grow(len(Scheme) + len(p.KeyID) + len(p.Algorithm) + len(p.Type) + 32)
	b.WriteString(Scheme)
	writeParam(&b, "keyId", p.KeyID)
	writeParam(&b, "algorithm", p.Algorithm)
	writeParam(&b, "type", p.Type)
	names := make([]string, 0, len(p.Extra))
	for name := range p.Extra {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		writeParam(&b, name, p.Extra[name])
	}
	return b.String()
}

func writeParam(b *strings.Builder, name, value string) {
	b.WriteByte(' ')
	b.WriteString(name)
	b.WriteString(`="`)
	for i := 0; i < len(value); i++ {
		if c := value[i]; c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(value[i])
	}
	b.WriteByte('"')
}

// isTchar reports whether c may appear in an RFC 9110 token.
func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// qdtext marks the bytes that may appear unescaped in a quoted-string:
// HTAB, SP, VCHAR except '"' and '\\', and obs-text.
var qdtext = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c == '\t' || c == ' ' || c == 0x21 || 0x23 <= c && c <= 0x5B || 0x5D <= c && c <= 0x7E || c >= 0x80
	}
	return t
}()

// isQuotable reports whether c may follow a backslash (quoted-pair).
func isQuotable(c byte) bool {
	return c == '\t' || 0x20 <= c && c <= 0x7E || c >= 0x80
}

// truncate shortens attacker-controlled text quoted back in error messages.
func truncate(s string) string {
	const max = 40
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
