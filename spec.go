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

// ReferenceProfile is reference-profile.yaml: an OpenAPI Overlay over
// OpenAPISpec holding this project's own stricter decisions (value formats,
// lengths, closed response objects, the body cap). validate applies it on
// request; the reference server always validates against it.
//
//go:embed reference-profile.yaml
var ReferenceProfile []byte

// CurrentVersion is Spotzee's current (and only) API release, the
// Spotzee-Version served when a request names none.
const CurrentVersion = "2026-04-28"
