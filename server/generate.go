// Package server holds the server interfaces and models oapi-codegen
// generates from openapi.yaml: a net/http handler (HandlerWithOptions), the
// strict interface (StrictServerInterface) whose methods take and return
// typed request and response objects, and the models. Never edit
// server.gen.go by hand: change openapi.yaml and run go generate.
package server

//go:generate go tool oapi-codegen --config server.cfg.yaml ../openapi.yaml
