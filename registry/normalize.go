package registry

import (
	"errors"
	"fmt"
	"strings"
)

// NormalizeEmail returns the form in which emails are compared: trimmed and
// lower-cased, since SPEC §5 compares emails case-insensitively.
func NormalizeEmail(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}

// NormalizePhone returns the form in which phone numbers are compared: their
// digits only, with the Indian country code 91 dropped from a 12-digit
// number so that "+91 98000 00001" and "9800000001" are the same number
// (SPEC §5). It returns "" for anything that is not written like a phone
// number (digits with optional +, spaces, dashes, dots and parentheses), so
// that letters can never be smuggled past the comparison.
func NormalizePhone(s string) string {
	var buf [32]byte
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if n == len(buf) {
				return ""
			}
			buf[n] = c
			n++
		case c == '+' || c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return ""
		}
	}
	digits := buf[:n]
	if len(digits) == 12 && digits[0] == '9' && digits[1] == '1' {
		digits = digits[2:]
	}
	return string(digits)
}

// ValidateEmail checks that s looks like a bare address (local@domain).
func ValidateEmail(s string) error {
	if s == "" {
		return errors.New("email is required")
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") ||
		strings.ContainsAny(s, " \t\r\n<>,;\"") {
		return fmt.Errorf("email %q is not an address of the form name@domain", s)
	}
	return nil
}

// ValidatePhone checks that s is a phone number with 10 to 15 digits.
func ValidatePhone(s string) error {
	if s == "" {
		return errors.New("phone is required")
	}
	n := NormalizePhone(s)
	if n == "" && strings.TrimSpace(s) != "" {
		return fmt.Errorf("phone %q may contain only digits, '+', spaces, '-', '.', '(' and ')'", s)
	}
	if len(n) < 10 || len(n) > 15 {
		return fmt.Errorf("phone %q must have 10 to 15 digits", s)
	}
	return nil
}

// ValidateInstitutionID checks an institution id: 1 to 64 characters out of
// letters, digits, '-', '_' and '.', because ids travel in workflow search
// attributes and URLs.
func ValidateInstitutionID(id string) error {
	if id == "" {
		return errors.New("institution id is required")
	}
	if !isIdent(id, 64) {
		return fmt.Errorf("institution id %q must be 1-64 characters of A-Z a-z 0-9 - _ .", id)
	}
	return nil
}

// ValidateKeyID checks a unique_key_id: 1 to 128 characters out of letters,
// digits, '-', '_' and '.'. In particular it can hold neither '|', which
// separates it from the token in the Authorization header, nor anything that
// would need quoting there.
func ValidateKeyID(id string) error {
	if id == "" {
		return errors.New("key id is required")
	}
	if !isIdent(id, 128) {
		return fmt.Errorf("key id %q must be 1-128 characters of A-Z a-z 0-9 - _ .", id)
	}
	return nil
}

func isIdent(s string, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
