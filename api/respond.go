package api

import (
	"encoding/json"
	"net/http"
)

// Response is the body of every /status answer, in the seed's format, with
// an optional machine-readable code.
type Response struct {
	Success bool   `json:"success"`
	Message string `json:"message"`
	Code    string `json:"code,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
