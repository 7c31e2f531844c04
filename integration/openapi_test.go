package integration

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/stretchr/testify/require"

	"github.com/odrflow/odrflow/api"
)

var (
	specOnce   sync.Once
	specRouter routers.Router
	specErr    error
)

// openAPIRouter loads api/openapi.yaml (the document the API serves) once.
func openAPIRouter(t *testing.T) routers.Router {
	specOnce.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(api.OpenAPISpec())
		if err != nil {
			specErr = err
			return
		}
		if specErr = doc.Validate(context.Background()); specErr != nil {
			return
		}
		// Test servers listen on random ports: match any host.
		doc.Servers = nil
		specRouter, specErr = gorillamux.NewRouter(doc)
	})
	require.NoError(t, specErr, "api/openapi.yaml")
	return specRouter
}

// specTransport validates every response the tests receive against the
// OpenAPI document: status code documented, headers and body matching
// their schemas. That keeps the document true.
type specTransport struct{ t *testing.T }

func specCheckingClient(t *testing.T) *http.Client {
	return &http.Client{Transport: specTransport{t}}
}

func (s specTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	router := openAPIRouter(s.t)
	route, params, err := router.FindRoute(req)
	if err != nil {
		s.t.Errorf("openapi: %s %s is not documented: %v", req.Method, req.URL.Path, err)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || route == nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status: resp.StatusCode,
		Header: resp.Header,
		Body:   io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true, // an undocumented status code fails
		},
	}
	if err := openapi3filter.ValidateResponse(req.Context(), input); err != nil {
		s.t.Errorf("openapi: %s %s -> %d does not match the document: %v\n%s", req.Method, req.URL.Path, resp.StatusCode, err, body)
	}
	if resp.Header.Get("API-Version") != api.Version {
		s.t.Errorf("%s %s -> %d: API-Version header %q, want %q", req.Method, req.URL.Path, resp.StatusCode, resp.Header.Get("API-Version"), api.Version)
	}
	return resp, nil
}
