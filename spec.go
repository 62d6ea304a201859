// Package spotzee holds what every other package of this module shares: the
// embedded OpenAPI document, the domain types of Spotzee's project API keys
// and the error-code catalogue. It imports nothing but the standard library.
package spotzee

import _ "embed"

// OpenAPISpec is openapi.yaml as committed: the single source of truth for the
// API, embedded so that no copy is read from disk at run time.
//
//go:embed openapi.yaml
var OpenAPISpec []byte
