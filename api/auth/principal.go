package auth

import (
	"context"
	"net/http"
)

// Principal is who an authenticated request acts for.
type Principal struct {
	InstitutionID string
	KeyID         string // the unique_key_id that signed the token
	// Email and Phone are the registered user's, as spelled in the registry
	// (the token's claims matched them after normalisation).
	Email string
	Phone string
}

type principalKey struct{}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the Principal stored by WithPrincipal (or by
// Middleware), if any.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// Middleware authenticates every request for the endpoint type endpointType
// ("status" for /status) and passes it on with its Principal in the context.
// A request that fails authentication is handed to fail with the *Error and
// goes no further; fail writes the response (401, WWW-Authenticate: Signature
// and the body of the API). A nil fail writes a plain-text 401.
func Middleware(v *Verifier, endpointType string, fail func(w http.ResponseWriter, r *http.Request, err error)) func(http.Handler) http.Handler {
	if fail == nil {
		fail = plainUnauthorized
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var authorization string
			switch values := r.Header.Values("Authorization"); len(values) {
			case 0:
			case 1:
				authorization = values[0]
			default:
				// Which one would be checked is arbitrary; refuse rather than
				// let an intermediary and this server disagree.
				fail(w, r, newError(CheckMalformedAuthorization, "%d Authorization headers; send exactly one", len(values)))
				return
			}
			p, err := v.Authenticate(authorization, endpointType)
			if err != nil {
				fail(w, r, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
		})
	}
}

func plainUnauthorized(w http.ResponseWriter, _ *http.Request, err error) {
	w.Header().Set("WWW-Authenticate", Scheme)
	http.Error(w, err.Error(), http.StatusUnauthorized)
}
