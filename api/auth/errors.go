package auth

import "fmt"

// Checks, the machine-readable reasons an authentication fails. Each one
// becomes a 401 (SPEC §3); metrics and logs group failures by them.
const (
	CheckMissingAuthorization   = "missing_authorization"   // no or empty Authorization header
	CheckMalformedAuthorization = "malformed_authorization" // not a well-formed Signature credential
	CheckBadAlgorithm           = "bad_algorithm"           // algorithm parameter is not RS256
	CheckBadType                = "bad_type"                // type parameter is not the endpoint's
	CheckMalformedKeyID         = "malformed_key_id"        // keyId is not <unique_key_id>|<jwt>|RS256
	CheckUnknownKey             = "unknown_key"             // unique_key_id not in the registry
	CheckRevokedKey             = "revoked_key"             // key is marked revoked
	CheckMalformedToken         = "malformed_token"         // the JWT cannot be decoded
	CheckBadTokenAlgorithm      = "bad_token_algorithm"     // JWT alg header is not RS256
	CheckKeyMismatch            = "kid_mismatch"            // JWT kid header names another key
	CheckBadSignature           = "bad_signature"           // signature does not verify with the key
	CheckExpired                = "expired"                 // exp has passed
	CheckNotYetValid            = "not_yet_valid"           // nbf is in the future
	CheckIssuedInFuture         = "issued_in_future"        // iat is in the future
	CheckMissingExp             = "missing_exp"             // exp required (--require-exp) but absent
	CheckMissingIat             = "missing_iat"             // iat required (--max-token-age) but absent
	CheckTokenTooOld            = "token_too_old"           // issued longer ago than --max-token-age
	CheckTokenLifetime          = "token_lifetime_too_long" // exp - iat exceeds --max-token-age
	CheckMissingClaims          = "missing_claims"          // email or phone claim absent
	CheckUnknownUser            = "unknown_user"            // email+phone not a user of the institution
)

// Error is an authentication failure: Check says which check failed, Message
// explains it to the caller. Every *Error is answered with 401 and
// WWW-Authenticate: Signature.
type Error struct {
	Check   string
	Message string
}

// Error returns the check and the explanation, e.g.
// "expired: token expired at 2025-01-02T03:04:05Z".
func (e *Error) Error() string {
	return e.Check + ": " + e.Message
}

func newError(check, format string, args ...any) *Error {
	return &Error{Check: check, Message: fmt.Sprintf(format, args...)}
}
